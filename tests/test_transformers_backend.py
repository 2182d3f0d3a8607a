"""The transformers sentiment backend, with a tiny model that the test builds and saves itself.

Nothing is downloaded: a BERT of two layers with a random initialisation and a word-piece
vocabulary written here go through ``save_pretrained`` into a temporary directory, and the
backend loads that directory like any downloaded model. CI installs the ``transformers`` extra,
so there these tests run; elsewhere they skip when torch or transformers is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enrich.sentiment import LABELS
from ingest.errors import ConfigError
from ingest.store import Filters
from ingest.topics import partition_key
from tests.support.mentions import make_mention
from veille.app import App
from veille.settings import Settings

WORDS = "le la service client est génial nul top panne lumen the support is great awful box".split()


def _need_transformers() -> None:
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI installs the transformers extra (scripts/test); it is missing")
        pytest.skip("the transformers extra is not installed (pip install 'veille[transformers]')")


def build_model(directory: Path, id2label: dict[int, str], bias: list[float] | None = None) -> Path:
    """A tiny random BERT classifier and its tokenizer, saved to ``directory``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
    )
    torch.manual_seed(0)
    model = BertForSequenceClassification(config)
    if bias is not None:
        with torch.no_grad():
            model.classifier.bias.copy_(torch.tensor(bias))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture
def tiny_model(tmp_path: Path) -> Callable[..., Path]:
    _need_transformers()

    def make(
        id2label: dict[int, str] | None = None, bias: list[float] | None = None, name: str = "tiny"
    ) -> Path:
        labels = id2label or {0: "negative", 1: "neutral", 2: "positive"}
        return build_model(tmp_path / name, labels, bias)

    return make


def test_the_backend_runs_in_the_real_pipeline(
    tiny_model: Callable[..., Path], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    model = tiny_model()
    settings = settings_for(
        {
            "data_dir": str(tmp_path / "data"),
            "brands": [{"name": "Lumen", "query": "lumen"}],
            "enrich": {
                "sentiment": {"backend": "transformers", "model": str(model), "batch_size": 2},
                "entities": {"enabled": False},
            },
        }
    )
    texts = [
        "Le service client Lumen est génial",
        "Panne lumen, nul",
        "Lumen support is great",
        "The Lumen box is awful, awful, awful and the support is nul",
        "Rien à voir",  # no brand: dropped
    ]
    mentions = [make_mention(t, url=f"https://forum.example/{i}") for i, t in enumerate(texts)]
    app = App(settings)
    try:
        app.bus.publish(app.topics.raw, [(partition_key(m), m.to_json()) for m in mentions])
        app.drain()
        stored = app.store.search(Filters(), size=10).hits
    finally:
        app.close()
    assert sorted(m.id for m in stored) == sorted(m.id for m in mentions[:4])
    for mention in stored:
        assert mention.enrichment is not None
        verdict = mention.enrichment.sentiment
        assert verdict is not None
        assert verdict.label in LABELS
        assert verdict.model.startswith("transformers:tiny@")
        assert 0.0 <= verdict.confidence <= 1.0


def test_batches_keep_the_order_of_the_texts(tiny_model: Callable[..., Path]) -> None:
    from enrich.sentiment.transformer import TransformersSentiment

    model = tiny_model()
    texts = ["top", "le service client est nul, panne, panne", "great", "la box lumen", "nul nul"]
    batched = TransformersSentiment(model, batch_size=2).score(texts, ["fr"] * len(texts))
    one_by_one = [TransformersSentiment(model, batch_size=1).score([t], ["fr"])[0] for t in texts]
    assert [s.score for s in batched] == pytest.approx([s.score for s in one_by_one], abs=1e-3)


def test_labels_are_mapped_and_several_may_map_to_one(tiny_model: Callable[..., Path]) -> None:
    from enrich.sentiment.transformer import TransformersSentiment

    stars = {0: "1 star", 1: "2 stars", 2: "3 stars", 3: "4 stars", 4: "5 stars"}
    # The model is sure of "1 star" and "2 stars" alike: together, clearly negative.
    model = tiny_model(stars, bias=[2.0, 2.0, -1.0, -1.0, -1.0], name="stars")
    mapping: dict[str, Any] = {
        "1 star": "negative",
        "2 stars": "negative",
        "3 stars": "neutral",
        "4 stars": "positive",
        "5 stars": "positive",
    }
    backend = TransformersSentiment(model, labels=mapping)
    [verdict] = backend.score(["la box"], ["fr"])
    assert verdict.label == "negative"
    assert verdict.confidence > 0.9
    assert verdict.score < -0.8
    unsure = TransformersSentiment(model, labels=mapping, min_confidence=0.97)
    assert unsure.score(["la box"], ["fr"])[0].label == "neutral"


def test_unmapped_labels_and_missing_models_are_clear_errors(
    tiny_model: Callable[..., Path], tmp_path: Path
) -> None:
    from enrich.sentiment.transformer import TransformersSentiment

    model = tiny_model({0: "LABEL_0", 1: "LABEL_1"}, name="opaque")
    with pytest.raises(ConfigError, match="'LABEL_0', 'LABEL_1' do not say"):
        TransformersSentiment(model)
    backend = TransformersSentiment(model, labels={"LABEL_0": "negative", "LABEL_1": "positive"})
    assert backend.score(["top"], ["fr"])[0].label in ("negative", "positive")
    with pytest.raises(ConfigError, match="not a model directory"):
        TransformersSentiment(tmp_path / "nowhere")
