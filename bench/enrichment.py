"""Benchmark: enrichment throughput per component and per sentiment backend, on one core.

Workload (``--workload``):

- ``synthetic`` (default): the N synthetic mentions of ``bench/pipeline.py`` (French and
  English, 150 to 400 characters, 80 % about a brand);
- ``tweets``: the UMSAB French and English tweets of ``../shared/data/sentiment`` (train and
  val, 4,326 texts, 16 words on average), each with " @acme" added so that it is about a brand.

Each component runs alone over the whole workload in batches of ``--batch`` (as the stage runs
it), after a warm-up batch (models loaded, caches warm), on one thread (BLAS and torch limited
to one), in this one process run, timed in CPU seconds of this process (mentions/s per core,
robust to other processes sharing the machine) and in wall seconds: language detection, brand
matching, each sentiment backend,
entities (spaCy ``fr_core_news_md`` NER on French texts, the brands' entity ruler alone on
English ones), near-duplicate clusters and author influence (both on a SQLite store in a
temporary directory), then the whole enrich stage (`EnrichStage.process`) with the lexicon
backend, without and with entities, and the share of each step in it (`EnrichStage.seconds`,
warm-up batch included). It prints mentions/s for each and the process's peak RSS after each.

Sentiment is timed with the lexicon and with the trained backend (the shipped model, or
``--trained MODEL``, a file from ``veille sentiment train``); the transformers backend needs a
model: ``--transformers DIR`` (a local model directory), or
``--transformers-random base`` to time a randomly initialised model of the size of
``cardiffnlp/twitter-xlm-roberta-base-sentiment`` (XLM-R base: 12 layers, hidden size 768,
250,002-token vocabulary, 278 M parameters) with a word-piece tokenizer trained on the workload:
the speed of a model does not depend on what its weights learnt.

    .venv/bin/python -m bench.enrichment [--workload synthetic|tweets] [--mentions 5000]
        [--trained MODEL] [--transformers DIR | --transformers-random base]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from threadpoolctl import threadpool_limits

from bench.pipeline import synthetic
from enrich.brands import BrandMatcher
from enrich.duplicates import DuplicateDetector
from enrich.entities import EntityExtractor
from enrich.influence import InfluenceTracker
from enrich.language import LanguageDetectorService
from enrich.sentiment import SentimentBackend
from enrich.sentiment.lexicon import LexiconSentiment
from enrich.stage import EnrichStage, entity_text, sentiment_text
from index.sqlite import SqliteStore
from ingest.record import Mention
from ingest.settings import Brand

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"
BRANDS = [
    Brand(name="Acme", query="acme", products=["Acme Box"], people=["Jeanne Dupont"]),
    Brand(name="Globex", query="globex"),
]


def tweets() -> list[Mention]:
    texts: list[tuple[str, str]] = []
    for lang in ("fr", "en"):
        for split in ("train", "val"):
            path = DATA / f"umsab_{lang}_{split}.jsonl"
            texts += [(json.loads(line)["text"], lang) for line in path.read_text().splitlines()]
    template = synthetic(len(texts))
    return [
        m.model_copy(update={"text": f"{text} @acme", "lang": None})
        for m, (text, _) in zip(template, texts, strict=True)
    ]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(
    name: str, items: Sequence[Any], batch: int, work: Callable[[Sequence[Any]], object]
) -> None:
    """Mentions per CPU-second of this process (one thread: per core), and per wall second
    (lower when other processes share the machine)."""
    if not items:
        print(f"  {name:<40} (nothing to do in this workload)")
        return
    work(items[:batch])  # warm-up: models loaded, caches filled
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, len(items), batch):
        work(items[i : i + batch])
    per_core = len(items) / (time.process_time() - cpu)
    per_wall = len(items) / (time.perf_counter() - wall)
    print(
        f"  {name:<40} {per_core:>9,.0f} /s per core  ({per_wall:>7,.0f} /s wall)"
        f"   peak RSS {peak_mib():,.0f} MiB"
    )


def random_base_model(directory: Path, texts: Sequence[str]) -> Path:
    """A randomly initialised XLM-R-base-sized classifier and a tokenizer trained on ``texts``."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import (
        PreTrainedTokenizerFast,
        XLMRobertaConfig,
        XLMRobertaForSequenceClassification,
    )

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=30_000, special_tokens=special)
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    config = XLMRobertaConfig(
        vocab_size=250_002,
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
    )
    XLMRobertaForSequenceClassification(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=["synthetic", "tweets"], default="synthetic")
    parser.add_argument("--mentions", type=int, default=5000, help="synthetic workload size")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--trained", type=Path, help="a model file from veille sentiment train (default: shipped)"
    )
    parser.add_argument("--transformers", type=Path, help="a local model directory")
    parser.add_argument("--transformers-random", choices=["base"])
    args = parser.parse_args()
    workload = tweets() if args.workload == "tweets" else synthetic(args.mentions)
    chars = sum(len(m.text) for m in workload) / len(workload)
    print(
        f"Workload: {len(workload)} {args.workload} mentions, {chars:.0f} characters on average,"
        f" batches of {args.batch}, one thread"
    )
    with threadpool_limits(1), tempfile.TemporaryDirectory() as tmp:
        languages = LanguageDetectorService(["fr", "en"])
        brands = BrandMatcher(BRANDS)
        print(f"\nStartup peak RSS {peak_mib():,.0f} MiB\n\nComponents")
        timed("language", workload, args.batch, lambda b: [languages.detect(m.text) for m in b])
        langs = {m.id: languages.detect(m.text, m.lang) for m in workload}
        timed("brands", workload, args.batch, lambda b: [brands.match(m, langs[m.id]) for m in b])
        about = [m for m in workload if brands.match(m, langs[m.id])]

        def sentiment(backend: SentimentBackend) -> Callable[[Sequence[Mention]], object]:
            return lambda b: backend.score([sentiment_text(m) for m in b], [langs[m.id] for m in b])

        timed("sentiment: lexicon", about, args.batch, sentiment(LexiconSentiment()))
        from enrich.sentiment.trained import TrainedSentiment

        timed("sentiment: trained", about, args.batch, sentiment(TrainedSentiment(args.trained)))
        model_dir = args.transformers
        if args.transformers_random:
            model_dir = random_base_model(Path(tmp) / "xlmr-base", [m.text for m in workload])
        if model_dir:
            import torch

            from enrich.sentiment.transformer import TransformersSentiment

            torch.set_num_threads(1)

            backend = TransformersSentiment(model_dir, batch_size=32)
            size = sum(p.numel() for p in backend.model.parameters())
            label = f"sentiment: transformers ({size / 1e6:.0f} M params)"
            timed(label, about[:512], 32, sentiment(backend))

        entities = EntityExtractor(BRANDS, {"fr": "fr_core_news_md"}, batch_size=64)
        for lang, what in (("fr", "spaCy md NER + ruler"), ("en", "ruler only")):
            subset = [m for m in about if langs[m.id] == lang]
            timed(
                f"entities {lang}: {what}",
                subset,
                args.batch,
                lambda b, lang=lang: entities.extract([entity_text(m) for m in b], [lang] * len(b)),
            )
        store = SqliteStore(Path(tmp) / "store.db")
        store.setup()
        duplicates = DuplicateDetector(store)
        timed("near-duplicates (MinHash + store)", about, args.batch, duplicates.clusters)
        influence = InfluenceTracker(store)
        timed(
            "influence (authors in the store)",
            about,
            args.batch,
            lambda b: influence.update([(m, ("Acme",)) for m in b]),
        )

        print("\nThe whole enrich stage, lexicon sentiment (mentions read, about a brand or not)")
        for with_entities in (False, True):
            stage_store = SqliteStore(Path(tmp) / f"stage-{with_entities}.db")
            stage_store.setup()
            stage = EnrichStage(
                brands,
                languages,
                LexiconSentiment(),
                entities=entities if with_entities else None,
                duplicates=DuplicateDetector(stage_store),
                influence=InfluenceTracker(stage_store),
            )
            name = "with entities (spaCy)" if with_entities else "without entities"
            timed(name, workload, args.batch, stage.process)
            total = sum(stage.seconds.values())
            print(
                f"  {'':<40} where the time goes: "
                + ", ".join(f"{k} {v / total:.0%}" for k, v in stage.seconds.items() if v)
            )
    print(f"\nPeak RSS: {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
