"""Benchmark: synthetic mentions through the embedded pipeline (local log -> enrich -> SQLite).

Workload: N synthetic mentions (default 20,000), half French and half English, 150 to 400
characters, 80% about one of two brands (the rest dropped by enrich), published in batches of
500 to ``mentions.raw``. Two enrichment configurations, each measured twice, in this one run:

- the default (language, brands, lexicon sentiment, entities with spaCy's French NER and the
  brands' entity ruler, near-duplicates, author influence), and the same without entities;
- each stage alone, one after the other: publish, enrich, index (SQLite FTS5 upsert);
- end to end, as ``veille run`` does it: publisher, enrich and index in three threads at once,
  from the first publish to the last mention indexed.

Models are loaded (one warm-up batch) before any timing, as in a running worker. It prints
mentions/s, per-batch latency percentiles of each stage, and the peak RSS.

    .venv/bin/python bench/pipeline.py [--mentions 20000] [--batch 500]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.record import Author, Mention, Source, SourceKind, mention_id
from ingest.store import Filters
from ingest.topics import partition_key
from veille.app import App
from veille.settings import load_settings

FR = (
    "Le service client de {b} est {a}. J'ai appelé trois fois pour ma box, {c} "
    "Franchement, {d} #{b}"
)
EN = "Just tried {b} support again: {a}. The new plan is {c} Honestly {d} @{b}"
ADJ_FR = ["génial", "vraiment nul", "correct", "très décevant", "rapide", "lent"]
ADJ_EN = ["great", "awful", "fine", "really disappointing", "fast", "slow"]
TAIL_FR = ["rien à dire.", "personne ne répond !", "c'est réglé, merci.", "quelle galère."]
TAIL_EN = ["nothing to add.", "nobody answers!", "all fixed, thanks.", "what a mess."]


def synthetic(n: int, seed: int = 1) -> list[Mention]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        french = i % 2 == 0
        brand = rng.choice(["Acme", "Globex"]) if rng.random() < 0.8 else "Initech"
        text = (FR if french else EN).format(
            b=brand,
            a=rng.choice(ADJ_FR if french else ADJ_EN),
            c=rng.choice(TAIL_FR if french else TAIL_EN),
            d=rng.choice(TAIL_FR if french else TAIL_EN),
        )
        text += " " + " ".join(rng.choice(text.split()) for _ in range(rng.randint(0, 30)))
        url = f"https://forum{i % 50}.example/t/{i}"
        out.append(
            Mention(
                id=mention_id(url=url),
                source=Source(kind=SourceKind.FORUM, name=f"forum{i % 50}"),
                url=url,
                site=f"forum{i % 50}.example",
                text=text[:400],
                author=Author(name=f"user{rng.randint(1, 2000)}"),
                published=start + timedelta(seconds=37 * i),
                fetched=start + timedelta(days=20),
            )
        )
    return out


def make_app(root: Path, batch: int, entities: bool) -> App:
    config = root / "veille.yaml"
    config.write_text(
        "brands:\n  - {name: Acme, query: acme}\n  - {name: Globex, query: globex}\n"
        f"runner: {{batch_size: {batch}, poll_timeout: 0.2s}}\n"
        f"enrich: {{entities: {{enabled: {str(entities).lower()}}}}}\n"
    )
    app = App(load_settings(config))
    # Load every model now, as a running worker has them loaded: one warm-up batch.
    app.enrich_stage().process(synthetic(20, seed=99))
    return app


def publish(app: App, mentions: list[Mention], batch: int) -> list[float]:
    latencies = []
    for i in range(0, len(mentions), batch):
        chunk = mentions[i : i + batch]
        t = time.perf_counter()
        app.bus.publish(app.topics.raw, [(partition_key(m), m.to_json()) for m in chunk])
        latencies.append(time.perf_counter() - t)
    return latencies


def run_stage(app: App, name: str) -> tuple[float, list[float]]:
    runner = app.runner(name)
    latencies = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        if runner.run_once() == 0:
            break
        latencies.append(time.perf_counter() - t)
    runner.close()
    return time.perf_counter() - start - 0.2, latencies  # minus the final empty poll


def pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(q) - 1] * 1000
        if len(values) > 1
        else (values[0] * 1000 if values else 0.0)
    )


def line(name: str, count: int, seconds: float, latencies: list[float]) -> str:
    return (
        f"  {name:<10} {count / seconds:>9,.0f} mentions/s   batch p50 {pct(latencies, 50):7.1f}"
        f" ms  p95 {pct(latencies, 95):7.1f} ms  p99 {pct(latencies, 99):7.1f} ms"
    )


def measure(mentions: list[Mention], matching: int, batch: int, entities: bool) -> None:
    title = "default enrichment" if entities else "without entities (no spaCy)"
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), batch, entities)
        print(f"\n[{title}] 1. Stages one after the other")
        t = time.perf_counter()
        latencies = publish(app, mentions, batch)
        print(line("publish", len(mentions), time.perf_counter() - t, latencies))
        seconds, latencies = run_stage(app, "enrich")
        print(line("enrich", len(mentions), seconds, latencies))
        seconds, latencies = run_stage(app, "index")
        print(line("index", matching, seconds, latencies))
        assert app.store.count(Filters()) == matching
        app.close()

    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), batch, entities)
        stop = threading.Event()
        threads = [
            threading.Thread(target=app.runner(name).run, args=(stop,))
            for name in ("enrich", "index")
        ]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        publish(app, mentions, batch)
        while app.store.count(Filters()) < matching:
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        stop.set()
        for thread in threads:
            thread.join()
        app.close()
        print(f"[{title}] 2. End to end, stages in parallel threads (as `veille run`)")
        print(
            f"  {len(mentions) / elapsed:,.0f} mentions/s ({elapsed:.1f} s for "
            f"{len(mentions)} mentions published, {matching} indexed)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    mentions = synthetic(args.mentions)
    matching = sum(1 for m in mentions if "Initech" not in m.text)
    print(
        f"Workload: {args.mentions} synthetic mentions (fr/en, 150-400 chars), "
        f"{matching} about a brand, batches of {args.batch}; embedded backends"
    )

    for entities in (True, False):
        measure(mentions, matching, args.batch, entities)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
