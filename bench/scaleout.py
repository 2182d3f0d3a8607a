"""Benchmark: the scale-out backends against the embedded ones, in one run on this machine.

Workload: N synthetic mentions (`bench.pipeline.synthetic`: French and English forum posts of
150 to 400 characters, about 0.7 KB of JSON each; default 50,000), in batches of 500, as the
stage runner moves them.

1. Bus: publish every batch (each publish returns once the batch is durable: fsynced by the
   local log, acknowledged by all in-sync replicas with Kafka, lz4-compressed), then one group
   member polls batches and commits after each until it has read everything. Local log
   (``local://``) against Kafka (``kafka://``, 4 partitions).
2. Store: upsert the mentions, enriched, into an empty store, then count them to check that
   every one landed. SQLite FTS5 (``sqlite://``) against Elasticsearch (``http://``, one
   shard, refresh every second), with one writer and with two (two index workers).
3. Enrich's work in the store, per batch: near-duplicate clusters
   (`DuplicateDetector.clusters`: MinHash, then `ClusterIndex.assign_clusters`) and author
   influence (`InfluenceTracker.update`: `record_authors`, scores, the percentile) for the first
   ``--enrich-mentions`` (default 10,000; 2,000 authors on 50 sites) into an empty store.
   SQLite against Elasticsearch with one enrich worker and with two (two processes, each its
   own client: assignments queue for the same lock).

Each measurement runs in its own process, so its peak RSS is that client's alone; the servers'
own peak RSS (VmHWM, since they started) is read from /proc when scripts/services runs them.

    scripts/services start && eval "$(scripts/services env)"
    .venv/bin/python -m bench.scaleout [--mentions 50000] [--batch 500]
        [--enrich-mentions 10000] [--parts bus,store,enrich]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.pipeline import line, synthetic
from enrich.influence import author_key
from ingest.record import Enrichment, Mention, Sentiment
from ingest.settings import BusSettings
from ingest.store import Filters, Store
from ingest.topics import partition_key

Result = dict[str, Any]
SERVICES = Path(__file__).resolve().parents[1] / ".cache" / "services" / "run"


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bus_run(url: str, n: int, batch: int) -> Result:
    """Publish then consume ``n`` records on the bus at ``url`` (4 partitions, the default)."""
    from veille.backends import open_bus

    records = [(partition_key(m), m.to_json()) for m in synthetic(n)]
    bus = open_bus(url, BusSettings(partitions=4))
    topic = f"bench.{uuid.uuid4().hex[:8]}"
    bus.ensure_topics([topic])
    published: list[float] = []
    start = time.perf_counter()
    for i in range(0, n, batch):
        t = time.perf_counter()
        bus.publish(topic, records[i : i + batch])
        published.append(time.perf_counter() - t)
    publish_seconds = time.perf_counter() - start

    consumer = bus.consumer(topic, "bench")
    polled: list[float] = []
    read = 0
    start = time.perf_counter()
    while read < n:
        t = time.perf_counter()
        read += len(consumer.poll(max_records=batch, timeout=1.0))
        consumer.commit()
        polled.append(time.perf_counter() - t)
    consume_seconds = time.perf_counter() - start
    consumer.close()
    bus.close()
    return {
        "publish": (publish_seconds, published),
        "consume": (consume_seconds, polled),
        "peak": _peak_mib(),
    }


def enriched(n: int) -> list[Mention]:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    out = []
    for m in synthetic(n):
        brand = "Acme" if "Acme" in m.text else "Globex"
        label = "negative" if "nul" in m.text or "awful" in m.text else "neutral"
        sentiment = Sentiment(label=label, score=-0.5, confidence=0.8, model="bench@1")
        lang = "fr" if "service client" in m.text.lower() else "en"
        out.append(
            m.with_enrichment(
                Enrichment(brands=(brand,), lang=lang, sentiment=sentiment, enriched=now)
            )
        )
    return out


def store_run(url: str | None, n: int, batch: int, writers: int) -> Result:
    """Upsert ``n`` enriched mentions into the store at ``url`` (None: a new SQLite file)."""
    mentions = enriched(n)
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite://{Path(tmp) / 'bench.db'}"
        store = open_store(url, f"bench-{uuid.uuid4().hex[:8]}")
        latencies: list[float] = []

        def write(share: list[Mention]) -> None:
            for i in range(0, len(share), batch):
                t = time.perf_counter()
                assert store.upsert(share[i : i + batch]) == []
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        shares = [mentions[w::writers] for w in range(writers)]
        threads = [threading.Thread(target=write, args=(s,)) for s in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - start
        stored = store.count(Filters())
        store.drop()
        store.close()
    assert stored == n, f"{url}: {stored} of {n} stored"
    return {"upsert": (seconds, latencies), "peak": _peak_mib()}


def open_store(url: str, prefix: str) -> Store:
    """The store at ``url`` (its indices named with ``prefix`` on Elasticsearch)."""
    from index.settings import ElasticSettings, StoreSettings
    from veille import backends

    return backends.open_store(url, StoreSettings(elastic=ElasticSettings(index_prefix=prefix)))


def enrich_worker(url: str, prefix: str, share: list[Mention], batch: int) -> Result:
    """One enrich worker's store work over its share; its own start and end (wall clock)."""
    from enrich.duplicates import DuplicateDetector
    from enrich.influence import InfluenceTracker

    store = open_store(url, prefix)
    duplicates, influence = DuplicateDetector(store), InfluenceTracker(store)
    latencies: list[float] = []
    start = time.time()
    for i in range(0, len(share), batch):
        t = time.perf_counter()
        chunk = share[i : i + batch]
        duplicates.clusters(chunk)
        influence.update([(m, ("Acme",)) for m in chunk])
        latencies.append(time.perf_counter() - t)
    end = time.time()
    store.close()
    return {"span": (start, end), "latencies": latencies, "peak": _peak_mib()}


def enrich_run(url: str, n: int, batch: int, workers: int) -> Result:
    mentions = synthetic(n)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    open_store(url, prefix).close()  # set up once, as `veille index setup` does
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        results = list(
            pool.map(
                enrich_worker,
                [url] * workers,
                [prefix] * workers,
                [mentions[w::workers] for w in range(workers)],
                [batch] * workers,
            )
        )
    seconds = max(r["span"][1] for r in results) - min(r["span"][0] for r in results)
    store = open_store(url, prefix)
    authors = len(store.authors(sorted({author_key(m) for m in mentions})))
    store.drop()
    store.close()
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "enrich": (seconds, latencies),
        "peak": max(r["peak"] for r in results),
        "authors": authors,
    }


def server_peaks() -> str:
    found = []
    for name in ("kafka", "elasticsearch"):
        try:
            pid = (SERVICES / f"{name}.pid").read_text().strip()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peak = next(line for line in status.splitlines() if line.startswith("VmHWM"))
        found.append(f"{name} {int(peak.split()[1]) / 1024:.0f} MiB")
    return ", ".join(found) or "not found (servers not run by scripts/services)"


def isolated(function: Callable[..., Result], *args: Any) -> Result:
    """Run a measurement in a fresh process: its peak RSS is its own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, *args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--kafka", default=os.environ.get("TEST_KAFKA_URL"))
    parser.add_argument("--elastic", default=os.environ.get("TEST_ELASTICSEARCH_URL"))
    parser.add_argument("--enrich-mentions", type=int, default=10_000)
    parser.add_argument("--parts", default="bus,store,enrich")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if not (args.kafka and args.elastic):
        parser.error("start the servers: scripts/services start && eval $(scripts/services env)")
    n, batch = args.mentions, args.batch
    size = sum(len(m.to_json()) for m in synthetic(1000)) / 1000
    print(
        f"Workload: {n:,} synthetic mentions (fr/en forum posts, {size:.0f} bytes of JSON on "
        f"average), batches of {batch}; {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )

    if "bus" in parts:
        bus_part(args.kafka, n, batch)
    if "store" in parts:
        store_part(args.elastic, n, batch)
    if "enrich" in parts:
        enrich_part(args.elastic, min(n, args.enrich_mentions), batch)
    print(f"\nServers' peak RSS since they started: {server_peaks()}")


def bus_part(kafka: str, n: int, batch: int) -> None:
    print("\n1. Bus: publish every batch (durable), then consume and commit every batch")
    with tempfile.TemporaryDirectory() as tmp:
        buses = {
            "local log": f"local://{Path(tmp) / 'bus.db'}",
            "Kafka": kafka,
        }
        for name, url in buses.items():
            result = isolated(bus_run, url, n, batch)
            print(f" {name} (client peak RSS {result['peak']:.0f} MiB)")
            for step in ("publish", "consume"):
                seconds, latencies = result[step]
                print(line(step, n, seconds, latencies))


def store_part(elastic: str, n: int, batch: int) -> None:
    print("\n2. Store: bulk upsert of enriched mentions into an empty store")
    for name, url, writers in (
        ("SQLite", None, 1),
        ("Elasticsearch", elastic, 1),
        ("Elasticsearch", elastic, 2),
    ):
        result = isolated(store_run, url, n, batch, writers)
        seconds, latencies = result["upsert"]
        label = f"{writers} writer{'s' if writers > 1 else ''}"
        print(f" {name}, {label} (client peak RSS {result['peak']:.0f} MiB)")
        print(line("upsert", n, seconds, latencies))


def enrich_part(elastic: str, n: int, batch: int) -> None:
    print(f"\n3. Enrich's store work: clusters and authors for {n:,} mentions, per batch")
    with tempfile.TemporaryDirectory() as tmp:
        for name, url, workers in (
            ("SQLite", f"sqlite://{Path(tmp) / 'bench.db'}", 1),
            ("Elasticsearch", elastic, 1),
            ("Elasticsearch", elastic, 2),
        ):
            result = enrich_run(url, n, batch, workers)
            seconds, latencies = result["enrich"]
            label = f"{workers} worker{'s' if workers > 1 else ''}"
            print(
                f" {name}, {label} ({result['authors']:,} authors; worker peak RSS"
                f" {result['peak']:.0f} MiB)"
            )
            print(line("enrich", n, seconds, latencies))


if __name__ == "__main__":
    main()
