"""How near-duplicate clustering's cost grows with the store: `ClusterIndex.assign_clusters`
per batch as the signatures stored grow, on SQLite and Elasticsearch.

Workloads (``--workload``):

- ``scale``: `bench.scale`'s month of monitoring (15% retweets of a recent post, 10% syndicated
  copies of a news article, the rest original posts);
- ``templates``: `bench.pipeline`'s synthetic mentions, drawn from a few templates, so that a
  few clusters gather most mentions (the case that used to grow quadratically).

The signatures are computed beforehand (MinHash is enrich's work, not the store's), then
assigned in order in batches of ``--batch`` (500, the stage's default), one process. It prints
the median time of the ten batches after each mark (5k, 50k, 500k stored, and the size), beside
the first mark's (a flat cost keeps the ratio at 1.0). The baseline, in the same run, on the
same signatures, up to ``--reference`` stored (55k by default, the 50k mark and its ten
batches: its cost grows with the copies a cluster holds): on SQLite the previous version's
assignment (`Version2Clusters`: every signature's keys, by signature, and a join of them per
signature); on Elasticsearch the store's own with no postings (``posting_from`` unbounded),
which reads as the previous version did, every stored signature sharing a key, by a search.
Then what was found: clusters, the largest, mentions that joined one (the same for both, or it
says so).
With ``--migrate``, it times the one-off migration of a store of that size to postings: on
SQLite from the previous format (every signature's keys in ``dup_keys``); on Elasticsearch,
which needs none, set-up and the next ten batches (copies of the first mentions) of a store
whose postings were deleted, beside the same batches with its postings.

    .venv/bin/python -m bench.clusters [--mentions 100000] [--workload scale|templates]
        [--stores sqlite,elastic] [--elastic URL] [--batch 500] [--reference 55000] [--migrate]

Elasticsearch is measured when ``--elastic`` or ``TEST_ELASTICSEARCH_URL`` names one.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from enrich.duplicates import DuplicateDetector
from index.elastic import ElasticStore
from index.settings import ElasticSettings, StoreSettings
from ingest.store import ClusterIndex, Signature, Store
from veille.backends import open_store

MARKS = (5_000, 50_000, 500_000)

DUP_KEYS = (
    "CREATE TABLE dup_keys (key INTEGER NOT NULL, signature INTEGER NOT NULL,"
    " PRIMARY KEY (key, signature)) WITHOUT ROWID"
)
"""The previous version's table of every signature's keys."""

Clusters = dict[str, str]
"""Every mention's cluster."""


def signatures(
    detector: DuplicateDetector, workload: str, n: int, batch: int
) -> Iterator[list[Signature]]:
    """The workload's signatures, ``batch`` at a time, in order."""
    if workload == "templates":
        from bench.pipeline import synthetic

        mentions = synthetic(n)
        for start in range(0, n, batch):
            yield detector.signatures(mentions[start : start + batch])
        return
    from bench.scale import corpus

    pending: list[Signature] = []
    for chunk in corpus(n):
        pending += detector.signatures(chunk)
        while len(pending) >= batch:
            yield pending[:batch]
            pending = pending[batch:]
    if pending:
        yield pending


class Version2Clusters:
    """The previous version's SQLite assignment, for the baseline: each signature's keys are rows
    of ``dup_keys`` (key, signature), and each new signature joins them to count, per cluster,
    the pairs it shares (one query per signature, whose rows grow with the copies)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE dup_signatures (rowid INTEGER PRIMARY KEY,"
            " mention_id TEXT NOT NULL UNIQUE, cluster TEXT NOT NULL)"
        )
        self.conn.execute(DUP_KEYS)

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        ids = [s.mention_id for s in signatures]
        out: dict[str, str] = dict(
            conn.execute(
                f"SELECT mention_id, cluster FROM dup_signatures WHERE mention_id IN"
                f" ({', '.join('?' * len(ids))})",
                ids,
            ).fetchall()
        )
        for signature in signatures:
            if signature.mention_id in out:
                continue
            keys = list(dict.fromkeys(signature.keys))
            best = None
            if signature.joins and keys:
                best = conn.execute(
                    f"SELECT s.cluster FROM dup_keys k JOIN dup_signatures s"
                    f" ON s.rowid = k.signature WHERE k.key IN ({', '.join('?' * len(keys))})"
                    f" GROUP BY s.cluster ORDER BY COUNT(*) DESC, s.cluster LIMIT 1",
                    keys,
                ).fetchone()
            cluster = best[0] if best else signature.mention_id
            rowid = conn.execute(
                "INSERT INTO dup_signatures (mention_id, cluster) VALUES (?, ?) RETURNING rowid",
                (signature.mention_id, cluster),
            ).fetchone()[0]
            conn.executemany(
                "INSERT OR IGNORE INTO dup_keys VALUES (?, ?)", [(k, rowid) for k in keys]
            )
            out[signature.mention_id] = cluster
        conn.execute("COMMIT")
        return out


def run(
    store: ClusterIndex, workload: str, n: int, batch: int
) -> tuple[dict[int, float], Clusters]:
    """Assign the workload; the median batch time after each mark, and every mention's cluster."""
    times: list[tuple[int, float]] = []
    clusters: Clusters = {}
    stored = 0
    for chunk in signatures(DuplicateDetector(store), workload, n, batch):
        start = time.perf_counter()
        clusters.update(store.assign_clusters(chunk))
        times.append((stored, time.perf_counter() - start))
        stored += len(chunk)
        if stored % 100_000 == 0:
            print(f"    {stored:,} stored", file=sys.stderr)
    marks = {}
    last = n - 10 * batch
    for mark in sorted({*[m for m in MARKS if m <= last], last}):
        after = [t for at, t in times if at >= mark][:10]
        if after:
            marks[mark] = statistics.median(after)
    return marks, clusters


def report(
    name: str,
    marks: dict[int, float],
    clusters: Clusters,
    reference: tuple[dict[int, float], Clusters] | None = None,
) -> None:
    first = next(iter(marks.values()))
    version2 = f"{'baseline':>14}" if reference else ""
    print(f"\n{name}\n{'':<28}{'per batch':>12}{'vs first mark':>16}{version2}", flush=True)
    for mark, seconds in marks.items():
        line = f"  at {mark:>9,} stored{'':<8}{seconds * 1000:>9.1f} ms{seconds / first:>15.2f}x"
        if reference and mark in reference[0]:
            line += f"{reference[0][mark] * 1000:>11.1f} ms"
        print(line)
    sizes = Counter(clusters.values())
    joined = sum(size - 1 for size in sizes.values())
    print(
        f"  {len(sizes):,} clusters, the largest of {max(sizes.values()):,}; {joined:,} mentions"
        f" joined one"
    )
    if reference:
        same = all(clusters[m] == c for m, c in reference[1].items())
        print(
            f"  the first {len(reference[1]):,} mentions' clusters are "
            + ("the same as the baseline's" if same else "NOT the same as the baseline's")
        )


def sqlite_migration(store: Store, workload: str, n: int, batch: int) -> None:
    """Turn the store back into the previous format (every signature's keys, by signature, in
    ``dup_keys``; no postings), then time the migration to postings."""
    from index.sqlite import SqliteStore, schema

    assert isinstance(store, SqliteStore)
    with store.db.write() as conn:
        conn.execute(DUP_KEYS)
        rowids = dict(conn.execute("SELECT mention_id, rowid FROM dup_signatures"))
        for chunk in signatures(DuplicateDetector(store), workload, n, batch):
            conn.executemany(
                "INSERT OR IGNORE INTO dup_keys VALUES (?, ?)",
                [(k, rowids[s.mention_id]) for s in chunk for k in s.keys],
            )
        conn.execute("DELETE FROM dup_postings")
        keys = conn.execute("SELECT COUNT(*) FROM dup_keys").fetchone()[0]
    start = time.perf_counter()
    with store.db.write() as conn:
        schema.create(conn)
    seconds = time.perf_counter() - start
    print(f"  migration: {keys:,} signature keys to postings in {seconds:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--workload", choices=["scale", "templates"], default="scale")
    parser.add_argument("--stores", default="sqlite,elastic")
    parser.add_argument("--elastic", default=os.environ.get("TEST_ELASTICSEARCH_URL"))
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--reference", type=int, default=55_000)
    parser.add_argument("--migrate", action="store_true")
    args = parser.parse_args()
    stores = args.stores.split(",")
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    what = f"{args.workload} workload, {args.mentions:,} mentions, batches of {args.batch}"
    if "sqlite" in stores:
        with tempfile.TemporaryDirectory() as tmp:
            reference = None
            if args.reference:
                version2 = Version2Clusters(Path(tmp) / "version2.db")
                up_to = min(args.reference, args.mentions)
                reference = run(version2, args.workload, up_to, args.batch)
                version2.conn.close()
            path = Path(tmp) / "store.db"
            store = open_store(f"sqlite://{path}")
            marks, clusters = run(store, args.workload, args.mentions, args.batch)
            report(f"SQLite, {what}", marks, clusters, reference)
            if args.migrate:
                sqlite_migration(store, args.workload, args.mentions, args.batch)
            store.close()
    if "elastic" in stores and args.elastic:
        store = elastic_store(args.elastic)
        searched = None
        try:
            reference = None
            if args.reference:
                searched = elastic_store(args.elastic)
                searched.cluster_index.posting_from = sys.maxsize
                up_to = min(args.reference, args.mentions)
                reference = run(searched.cluster_index, args.workload, up_to, args.batch)
            marks, clusters = run(store, args.workload, args.mentions, args.batch)
            report(f"Elasticsearch, {what}", marks, clusters, reference)
            if args.migrate:
                elastic_migration(store, args.workload, args.batch)
        finally:
            for opened in (store, searched):
                if opened is not None:
                    opened.drop()
                    opened.close()
    elif "elastic" in stores:
        print("\nElasticsearch: not measured (no --elastic nor TEST_ELASTICSEARCH_URL)")


def elastic_store(url: str) -> ElasticStore:
    """A store of its own (indices under a new prefix), dropped when done."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    store = open_store(url, StoreSettings(elastic=ElasticSettings(index_prefix=prefix)))
    assert isinstance(store, ElasticStore)
    return store


def elastic_migration(store: ElasticStore, workload: str, batch: int) -> None:
    """Time ten batches of copies of the workload's first mentions on the store, then the same
    batches again (as other copies) once its postings are deleted, as a store of the previous
    version has none: there each key's signatures are counted by a search, once."""
    clusters = store.cluster_index
    first = list(signatures(DuplicateDetector(store), workload, 10 * batch, batch))

    def copies(suffix: str) -> list[float]:
        times = []
        for chunk in first:
            late = [Signature(f"{s.mention_id}-{suffix}", s.keys, s.joins) for s in chunk]
            start = time.perf_counter()
            store.assign_clusters(late)
            times.append(time.perf_counter() - start)
        return times

    kept = copies("kept")
    store.indices.delete_indices([clusters.postings_index])
    start = time.perf_counter()
    clusters.setup()
    seconds = time.perf_counter() - start
    lost = copies("lost")
    print(
        f"  migration: set-up {seconds:.2f} s; ten batches of copies"
        f" {' '.join(f'{t * 1000:.0f}' for t in lost)} ms without postings, then"
        f" {' '.join(f'{t * 1000:.0f}' for t in kept)} ms with them",
        flush=True,
    )


if __name__ == "__main__":
    main()
