"""Benchmark: synthetic mentions through the embedded pipeline (local log -> enrich -> SQLite).

Workload: N synthetic mentions (default 20,000), half French and half English, 150 to 400
characters, 80% about one of two brands (the rest dropped by enrich), published in batches of
500 to ``mentions.raw``. Two enrichment configurations, each measured three ways, in this one
run:

- the default (language, brands, sentiment with the shipped trained model, entities with spaCy's
  French NER and the brands' entity ruler, near-duplicates, author influence), and the same
  without entities;
- each stage alone, one after the other: publish, enrich, index (SQLite FTS5 upsert), and where
  enrich's time goes, step by step (`EnrichStage.seconds`);
- end to end, as ``veille run`` does it, from the first publish to the last mention indexed: the
  publisher, enrich and index at once, with one enrich worker in a thread (``enrich.workers:
  1``), then with the enrich processes ``veille run`` starts by default (``enrich.workers:
  auto``: one per core, at most one per partition; ``--processes`` to choose).

Models are loaded before any timing, as in a running worker: in this process by a warm-up
batch; for the end-to-end runs, by 500 mentions sent through the pipeline before the clock
starts. It prints mentions/s, per-batch latency percentiles of each stage, the peak RSS, and
the load average before and after (the machine may be shared).

    .venv/bin/python bench/pipeline.py [--mentions 20000] [--batch 500] [--processes N]
        [--entities both|with|without]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from enrich.stage import EnrichStage
from ingest.record import Author, Mention, Source, SourceKind, mention_id
from ingest.runner import StageRunner
from ingest.store import Filters
from ingest.topics import partition_key
from veille.app import App, Loop, enrich_processes
from veille.settings import Settings, load_settings
from veille.workers import enrich_process_count

FR = (
    "Le service client de {b} est {a}. J'ai appelé trois fois pour ma box, {c} "
    "Franchement, {d} #{b}"
)
EN = "Just tried {b} support again: {a}. The new plan is {c} Honestly {d} @{b}"
ADJ_FR = ["génial", "vraiment nul", "correct", "très décevant", "rapide", "lent"]
ADJ_EN = ["great", "awful", "fine", "really disappointing", "fast", "slow"]
TAIL_FR = ["rien à dire.", "personne ne répond !", "c'est réglé, merci.", "quelle galère."]
TAIL_EN = ["nothing to add.", "nobody answers!", "all fixed, thanks.", "what a mess."]


def synthetic(n: int, seed: int = 1, first: int = 0) -> list[Mention]:
    """``n`` mentions; ``first``: the number of the first (mentions with other numbers have
    other ids)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    out = []
    for i in range(first, first + n):
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


def bench_settings(root: Path, batch: int, entities: bool) -> Settings:
    config = root / "veille.yaml"
    config.write_text(
        "brands:\n  - {name: Acme, query: acme}\n  - {name: Globex, query: globex}\n"
        f"runner: {{batch_size: {batch}, poll_timeout: 0.2s}}\n"
        f"enrich: {{entities: {{enabled: {str(entities).lower()}}}}}\n"
    )
    return load_settings(config)


def make_app(root: Path, batch: int, entities: bool) -> App:
    app = App(bench_settings(root, batch, entities))
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


def run_stage(runner: StageRunner) -> tuple[float, list[float]]:
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


def about_a_brand(mentions: list[Mention]) -> int:
    return sum(1 for m in mentions if "Initech" not in m.text)


def children_peak_mib() -> float:
    """The largest peak RSS of this process's enrich processes (spawned interpreters), while
    they run: ``RUSAGE_CHILDREN`` would count this process's own at the fork that starts them."""
    peak = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
            command = (status.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields["PPid"]) == os.getpid() and b"spawn_main" in command:
            peak = max(peak, int(fields.get("VmHWM", "0 kB").split()[0]))
    return peak / 1024


def end_to_end(
    app: App, mentions: list[Mention], batch: int, processes: int
) -> tuple[float, float]:
    """Seconds from the first publish to the last mention indexed, with ``processes`` enrich
    processes (1: the enrich worker in a thread of this process) and index in a thread; and the
    peak RSS of an enrich process (0 with one)."""
    stop = threading.Event()
    enrich: Loop = (
        enrich_processes(app.settings, processes, "WARNING")
        if processes > 1
        else app.runner("enrich")
    )
    threads = [
        threading.Thread(target=loop.run, args=(stop,), name=name)
        for name, loop in (("enrich", enrich), ("index", app.runner("index")))
    ]
    for thread in threads:
        thread.start()

    def until_stored(count: int) -> None:
        deadline = time.monotonic() + 1800
        while app.store.count(Filters()) < count:
            if not all(t.is_alive() for t in threads) or time.monotonic() > deadline:
                stop.set()
                raise RuntimeError("the pipeline stopped before every mention was indexed")
            time.sleep(0.05)

    try:
        warm = synthetic(batch, seed=99, first=len(mentions))
        publish(app, warm, batch)
        until_stored(about_a_brand(warm))
        start = time.perf_counter()
        publish(app, mentions, batch)
        until_stored(about_a_brand(warm) + about_a_brand(mentions))
        return time.perf_counter() - start, children_peak_mib()
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def measure(mentions: list[Mention], batch: int, entities: bool, processes: int, why: str) -> None:
    title = "default enrichment" if entities else "without entities (no spaCy)"
    matching = about_a_brand(mentions)
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), batch, entities)
        print(f"\n[{title}] 1. Stages one after the other")
        t = time.perf_counter()
        latencies = publish(app, mentions, batch)
        print(line("publish", len(mentions), time.perf_counter() - t, latencies))
        runner = app.runner("enrich")
        stage = runner.stage
        assert isinstance(stage, EnrichStage)
        stage.seconds.clear()
        seconds, latencies = run_stage(runner)
        print(line("enrich", len(mentions), seconds, latencies))
        steps = stage.seconds
        total = sum(steps.values())
        print(
            f"  {'':<10} in process(): {total:.1f} s ("
            + ", ".join(f"{k} {v / total:.0%}" for k, v in steps.items())
            + f"); the rest ({max(0.0, seconds - total):.1f} s): read, decode, publish, commit"
        )
        seconds, latencies = run_stage(app.runner("index"))
        print(line("index", matching, seconds, latencies))
        assert app.store.count(Filters()) == matching
        app.close()

    print(f"[{title}] 2. End to end, publisher, enrich and index at once (as `veille run`)")
    figures = []
    for count, how in ((1, "a thread, enrich.workers: 1"), (processes, why)):
        with tempfile.TemporaryDirectory() as tmp:
            app = make_app(Path(tmp), batch, entities)
            elapsed, peak = end_to_end(app, mentions, batch, count)
            app.close()
        figures.append(len(mentions) / elapsed)
        label = f"{count} enrich process{'es' if count > 1 else ''} ({how})"
        print(
            f"  {label:<58} {figures[-1]:>7,.0f} mentions/s ({elapsed:.1f} s for "
            f"{len(mentions)} published, {matching} indexed)"
            + (f", peak RSS of each {peak:,.0f} MiB" if peak else "")
        )
    print(f"  {'speed-up':<58} {figures[1] / figures[0]:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--processes", type=int, help="default: what veille run starts")
    parser.add_argument("--entities", choices=["both", "with", "without"], default="both")
    args = parser.parse_args()
    mentions = synthetic(args.mentions)
    with tempfile.TemporaryDirectory() as tmp:
        settings = bench_settings(Path(tmp), args.batch, entities=False)
    processes, why = (
        (args.processes, "--processes") if args.processes else enrich_process_count(settings)
    )
    print(
        f"Workload: {args.mentions} synthetic mentions (fr/en, 150-400 chars), "
        f"{about_a_brand(mentions)} about a brand, batches of {args.batch}; embedded backends; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}"
    )

    for entities in {"both": (True, False), "with": (True,), "without": (False,)}[args.entities]:
        measure(mentions, args.batch, entities, processes, why)

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nPeak RSS of this process: {peak:.0f} MiB")
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
