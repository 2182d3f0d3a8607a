"""How deep and how long a query each query path answers, and how long the largest ones take.

Workload: the hostile shapes of `tests.support.hostile_queries` at growing sizes (nested
parentheses, stacked and nested NOTs, AND and OR in turn, NOT and OR in turn, long OR and AND
chains, an AND of many NOTs), each parsed, matched in memory against a few mentions, and searched
in a SQLite store and, with ``--elastic URL`` (default: $TEST_ELASTICSEARCH_URL), in an
Elasticsearch store, in date and relevance order, with a count. For each shape and path it prints
the largest size answered (and the matcher's answer) and the first failure; then the median time
of a 1,000-term and a 10,000-term OR on each path. ``--lifted`` lifts the parser's limits, to
measure what the back ends themselves take: the figures behind `ingest.query.limits`.

    .venv/bin/python -m bench.query_limits [--elastic URL] [--lifted]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ingest.query.parser
from index.elastic import ElasticStore
from index.settings import ElasticSettings, StoreSettings
from index.sqlite import SqliteStore
from ingest.query import Doc, Node, depth, matches, parse, terms
from ingest.store import Filters, Store
from tests.support.hostile_queries import (
    alternating,
    long_or,
    many_nots,
    negated_alternatives,
    nested_nots,
    nested_parentheses,
    stacked_nots,
)
from tests.support.mentions import make_mention

WORDS = ["w1", "w2", "w3", "w4", "w5", "w0"]
SHAPES: dict[str, Callable[[int], str]] = {
    "nested parentheses": lambda n: nested_parentheses(n, "w1"),
    "stacked NOTs": lambda n: stacked_nots(n, "w1"),
    "nested NOTs": lambda n: nested_nots(n, "w1"),
    "AND/OR in turn": lambda n: alternating(WORDS, n),
    "AND/OR of fields in turn": lambda n: alternating(["site:s1.fr", "lang:fr", "site:x.fr"], n),
    "NOT/OR in turn": lambda n: negated_alternatives(WORDS, n),
    "OR chain": lambda n: long_or(WORDS, n),
    "AND chain": lambda n: " AND ".join(f"w{i}" for i in range(n)),
    "AND of NOTs": lambda n: many_nots("w1", WORDS[1:], n),
}
SIZES = [1, 2, 5, 10, 15, 20, 21, 25, 26, 27, 28, 29, 30, 32, 33, 40, 50, 100, 150, 200, 500]
SIZES += [999, 1000, 1001, 2000, 5000, 10_000]
MENTIONS = [
    make_mention(text, url=url, lang=lang)
    for text, url, lang in [
        ("w1 w2 w3", "https://s1.fr/1", "fr"),
        ("w0 w5", "https://x.fr/2", "en"),
        ("x1 w1", "https://s1.fr/3", "en"),
        ("rien", "https://z.fr/4", "fr"),
    ]
]


def answer(store: Store, tree: Node) -> set[str]:
    """The mentions ``store`` selects, the same in both orders and by count, or an error."""
    filters = Filters(query=tree)
    found = [
        {m.id for m in store.search(filters, sort=s, size=10).hits} for s in ("date", "relevance")
    ]
    if found[0] != found[1] or store.count(filters) != len(found[0]):
        raise AssertionError("the orders or the count disagree")
    return found[0]


def reach(stores: dict[str, Store]) -> None:
    print("shape | path | largest size answered (depth, terms, characters) | first failure")
    for name, shape in SHAPES.items():
        best: dict[str, str] = {}
        failed: dict[str, str] = {}
        for n in SIZES:
            query = shape(n)
            paths: dict[str, Callable[[], object]] = {"parse": lambda q=query: parse(q)}
            try:
                tree = parse(query)
            except Exception as exc:
                failed.setdefault("parse", f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}")
                break
            want: object = None
            paths["match"] = lambda t=tree: {m.id for m in MENTIONS if matches(t, Doc.of(m))}
            for label, store in stores.items():
                paths[label] = lambda s=store, t=tree: answer(s, t)
            for label, run in paths.items():
                if label in failed:
                    continue
                try:
                    got = run()
                    if label == "match":
                        want = got
                    elif label != "parse" and want is not None and got != want:
                        raise AssertionError("differs from the matcher")
                    best[label] = f"{n} ({depth(tree)}, {terms(tree)}, {len(query):,})"
                except Exception as exc:
                    failed[label] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
        for label in ["parse", "match", *stores]:
            print(f"{name} | {label} | {best.get(label, '-')} | {failed.get(label, '')}")


def timings(stores: dict[str, Store]) -> None:
    print("\nquery | path | median of 5 (refusal or answer)")
    for count in (1000, 10_000):
        query = long_or(WORDS, count)
        for label, store in {"parse": None, **stores}.items():
            times, outcome = [], "answered"
            for _ in range(5):
                start = time.perf_counter()
                try:
                    tree = parse(query)
                    if store is not None:
                        answer(store, tree)
                except Exception as exc:
                    outcome = f"{type(exc).__name__}: {str(exc).splitlines()[0][:70]}"
                times.append(time.perf_counter() - start)
            median = statistics.median(times) * 1000
            print(
                f"{count:,}-term OR ({len(query):,} chars) | {label} | {median:.2f} ms, {outcome}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elastic", default=os.environ.get("TEST_ELASTICSEARCH_URL"))
    parser.add_argument("--lifted", action="store_true", help="lift the parser's limits")
    args = parser.parse_args()
    if args.lifted:
        for limit in ("MAX_DEPTH", "MAX_TERMS", "MAX_LENGTH"):
            setattr(ingest.query.parser, limit, 10**9)
    with tempfile.TemporaryDirectory() as folder:
        stores: dict[str, Store] = {"sqlite": SqliteStore(Path(folder) / "store.db")}
        if args.elastic:
            prefix = f"bench-query-limits-{os.getpid()}"
            settings = StoreSettings(elastic=ElasticSettings(index_prefix=prefix))
            stores["elastic"] = ElasticStore.from_url(args.elastic, settings)
        for store in stores.values():
            store.setup()
            store.upsert(MENTIONS)
            store.refresh()
        try:
            reach(stores)
            timings(stores)
        finally:
            elastic = stores.get("elastic")
            if isinstance(elastic, ElasticStore):
                elastic.drop()
            for store in stores.values():
                store.close()


if __name__ == "__main__":
    main()
