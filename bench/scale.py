"""How Veille's costs grow with the store: synthetic stores of 100,000 and 1,000,000 mentions on
SQLite and Elasticsearch, each figure printed beside a raw baseline on the same data.

Workload: a synthetic month of brand monitoring (`corpus`): five brands, French and English,
30 days, about 60% original posts, 15% retweets of a recent post, 10% syndicated copies of a news
article (same text on other sites) and 15% forum and blog posts, 20,000 authors with a long
tail. Each store is loaded the way enrich and index write it, 1,000 mentions at a time: the
near-duplicate signatures (`ClusterIndex.assign_clusters`) and the authors
(`AuthorIndex.record_authors` and scores, through `enrich.influence`), then the mentions
(`MentionStore.upsert`). Then, for each size:

- write rate and bytes per mention; baseline: the same mentions inserted with plain
  ``executemany`` into the same tables (SQLite), or ``helpers.bulk`` of the same documents into
  an index with the same mapping (Elasticsearch);
- the enrich batch time (clusters and authors, per 1,000 mentions) when the store holds 5k, 50k
  and 500k mentions: the median of the ten load batches after each mark;
- search latency p50/p95 over 30 queries each: a word, a phrase, NEAR, and a word with brand,
  sentiment and 7-day filters; baseline: the same match written by hand in FTS5 or the query DSL;
- ``report`` (7 days by day, top sites, top authors) and ``status`` (count, by brand, by
  sentiment) latency; baseline: hand-written GROUP BY queries, or one request with the
  aggregations;
- export rate (``Store.export`` of one brand, as ``veille search --all`` writes it); baseline:
  the stored JSON selected in one statement, or ``helpers.scan``;
- ``veille search`` from the command line, start-up included (p50 of 5).

    .venv/bin/python -m bench.scale [--sizes 100000,1000000] [--stores sqlite,elastic]
        [--elastic http://127.0.0.1:19200] [--keep DIR] [--marks 5000,50000,500000 [--load-only]]

``--load-only`` loads each store only up to the last mark and its ten batches, and prints the
enrich batch times alone: the time at 500k stored without loading a million mentions.

Elasticsearch is measured when ``--elastic`` or ``TEST_ELASTICSEARCH_URL`` names one.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from enrich.duplicates import DuplicateDetector
from enrich.influence import InfluenceTracker
from index.settings import ElasticSettings, StoreSettings
from ingest.query import parse
from ingest.record import (
    Author,
    Engagement,
    Enrichment,
    Mention,
    Sentiment,
    Source,
    SourceKind,
    mention_id,
)
from ingest.store import Filters, Store
from veille.backends import open_store

BATCH = 1_000
END = datetime(2026, 11, 30, tzinfo=UTC)
BRANDS = {"Acme": 0.35, "Globex": 0.25, "Initech": 0.2, "Umbrella": 0.12, "Soylent": 0.08}
WORDS_FR = (
    "service client panne box fibre livraison remboursement commande colis retard attente "
    "réseau coupure facture abonnement appli mise à jour batterie écran garantie magasin "
    "vendeur conseiller téléphone email réponse promesse bravo merci nul génial déçu"
).split()
WORDS_EN = (
    "customer service outage router fiber delivery refund order parcel delay waiting network "
    "bill subscription app update battery screen warranty store seller support phone email "
    "answer promise great thanks awful amazing disappointed"
).split()
SITES = [f"site{i}.example" for i in range(400)]
NEWS = [f"news{i}.example" for i in range(60)]
MARKS = (5_000, 50_000, 500_000)
QUERIES = {
    "word": ["panne", "refund", "livraison", "outage", "garantie", "battery"],
    "phrase": ['"service client"', '"customer service"', '"mise à jour"', '"fiber outage"'],
    "NEAR": ["panne NEAR/5 box", "refund NEAR/3 order", "retard NEAR/4 colis"],
}


def corpus(n: int, seed: int = 7) -> Iterator[list[Mention]]:
    """``n`` enriched mentions (without clusters and influence), ``BATCH`` at a time, oldest
    first; the same for a seed whatever ``n`` (a larger store holds the smaller one's month)."""
    rng = random.Random(seed)
    start = END - timedelta(days=30)
    step = timedelta(days=30) / n
    recent: list[Mention] = []
    news: Mention | None = None
    batch: list[Mention] = []
    brands, weights = list(BRANDS), list(BRANDS.values())
    fetched = END + timedelta(hours=1)
    for i in range(n):
        published = start + step * i
        roll = rng.random()
        french = rng.random() < 0.55
        words = WORDS_FR if french else WORDS_EN
        brand = rng.choices(brands, weights)[0]
        author = min(int(rng.paretovariate(1.2)), 20_000)
        label = rng.choices(["negative", "neutral", "positive"], [0.35, 0.4, 0.25])[0]
        text = f"{brand} " + " ".join(rng.choice(words) for _ in range(rng.randint(8, 40)))
        site, kind, title, handle = rng.choice(SITES), SourceKind.SOCIAL, None, f"user{author}"
        if roll < 0.15 and recent:  # a retweet of a recent post
            original = rng.choice(recent)
            text = f"RT @{original.author.handle if original.author else 'x'}: {original.text}"
            site, brand = (
                "social.example",
                (original.enrichment or Enrichment(enriched=END)).brands[0],
            )
        elif roll < 0.25:  # a syndicated copy of the latest news article, or a new one
            if news is None or rng.random() < 0.2:
                news = None
                title = f"{brand} : " + " ".join(rng.choice(words) for _ in range(6))
            else:
                title, text = news.title, news.text
                brand = (news.enrichment or Enrichment(enriched=END)).brands[0]
            site, kind, handle = rng.choice(NEWS), SourceKind.NEWS, None
        elif roll < 0.40:
            site, kind = rng.choice(SITES[:100]), rng.choice([SourceKind.FORUM, SourceKind.BLOG])
        url = f"https://{site}/p/{i}"
        mention = Mention(
            id=mention_id(url=url),
            source=Source(kind=kind, name=site.split(".")[0]),
            url=url,
            site=site,
            title=title,
            text=text,
            author=Author(
                name=f"Auteur {author}" if kind != SourceKind.SOCIAL else None,
                handle=handle,
                followers=int(10_000 / author) if handle else None,
            ),
            published=published,
            fetched=fetched,
            engagement=Engagement(likes=rng.randint(0, 50)),
            enrichment=Enrichment(
                brands=(brand,),
                lang="fr" if french else "en",
                sentiment=Sentiment(
                    label=label,
                    score={"negative": -0.6, "neutral": 0.0, "positive": 0.6}[label],
                    confidence=0.8,
                    model="bench@1",
                ),
                enriched=fetched,
            ),
        )
        if kind == SourceKind.NEWS and news is None:
            news = mention
        if kind == SourceKind.SOCIAL and not text.startswith("RT "):
            recent = [*recent[-49:], mention]
        batch.append(mention)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def timed(action: Callable[[], Any], runs: int = 1) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        out.append(time.perf_counter() - start)
    return out


def row(name: str, ours: str, baseline: str = "") -> None:
    print(f"  {name:<34}{ours:>24}{baseline:>24}")


def ms(values: list[float]) -> str:
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 95) * 1000:.0f} ms"


# -- loading -------------------------------------------------------------------------------------


def load(store: Store, n: int, marks: tuple[int, ...] = MARKS) -> dict[str, Any]:
    """Write ``n`` mentions as enrich and index do; the write time, and the enrich batch time
    after each of ``marks``."""
    duplicates = DuplicateDetector(store)
    influence = InfluenceTracker(store)
    enrich_times: list[tuple[int, float]] = []
    write = 0.0
    stored = 0
    for batch in corpus(n):
        t = time.perf_counter()
        clusters = duplicates.clusters(batch)
        scores = influence.update([(m, m.enrichment.brands if m.enrichment else ()) for m in batch])
        enrich_times.append((stored, time.perf_counter() - t))
        ready = [
            m.with_enrichment(
                m.enrichment.model_copy(
                    update={"cluster": clusters.get(m.id), "influence": scores.get(m.id)}
                )
            )
            for m in batch
            if m.enrichment
        ]
        t = time.perf_counter()
        assert store.upsert(ready) == []
        write += time.perf_counter() - t
        stored += len(ready)
        if stored % 100_000 == 0:
            print(f"    {stored:,} stored", file=sys.stderr)
    times = {}
    for mark in marks:
        after = [s for at, s in enrich_times if at >= mark][:10]
        if after:
            times[mark] = statistics.median(after)
    return {"write": write, "marks": times}


def load_only(name: str, store: Store, n: int, marks: tuple[int, ...]) -> None:
    """Load up to the last mark and its ten batches, and print the enrich batch times alone."""
    loaded = load(store, min(n, max(marks) + 10 * BATCH), marks)
    print(f"\n{name}, loaded up to {max(marks):,} stored of {n:,} (--load-only)")
    for mark, seconds in loaded["marks"].items():
        row(f"enrich batch at {mark:,} stored", f"{seconds * 1000:.0f} ms")


# -- SQLite ----------------------------------------------------------------------------------


def sqlite_baseline_load(path: Path, n: int) -> float:
    """The same mentions into the same tables with plain executemany: the floor for writes."""
    from index.sqlite import schema

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    schema.create(conn)
    conn.commit()
    total = 0.0
    for batch in corpus(n):
        rows = [
            (
                m.id,
                int(m.published.timestamp() * 1000),
                int(m.fetched.timestamp() * 1000),
                m.source.kind.value,
                m.source.name,
                m.source.name,
                m.site,
                m.effective_lang,
                m.enrichment.sentiment.label if m.enrichment and m.enrichment.sentiment else None,
                m.model_dump_json(exclude_none=True),
            )
            for m in batch
        ]
        start = time.perf_counter()
        first = conn.execute("SELECT COALESCE(MAX(rowid), 0) FROM mentions").fetchone()[0] + 1
        conn.executemany(
            "INSERT INTO mentions (id, published, fetched, source_kind, source_key, source_label,"
            " site, lang, sentiment, doc) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        conn.executemany(
            f"INSERT INTO {schema.FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)",
            [(first + i, m.title or "", m.text) for i, m in enumerate(batch)],
        )
        conn.executemany(
            "INSERT INTO mention_brands VALUES (?, ?)",
            [(m.enrichment.brands[0], first + i) for i, m in enumerate(batch) if m.enrichment],
        )
        conn.commit()
        total += time.perf_counter() - start
    conn.close()
    return total


def sqlite_raw_queries(path: Path) -> dict[str, Callable[[str], Any]]:
    """Hand-written SQL over the store's own tables, for the baselines."""
    from index.sqlite import schema

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    week = int((END - timedelta(days=7)).timestamp() * 1000)
    fts = schema.FTS_TABLE

    def match(text: str) -> Any:
        return conn.execute(
            f"SELECT m.doc FROM {fts} f JOIN mentions m ON m.rowid = f.rowid "
            f"WHERE {fts} MATCH ? ORDER BY m.published DESC LIMIT 20",
            [text],
        ).fetchall()

    def filtered(word: str) -> Any:
        return conn.execute(
            f"SELECT m.doc FROM {fts} f JOIN mentions m ON m.rowid = f.rowid "
            "JOIN mention_brands b ON b.mention = m.rowid "
            f"WHERE {fts} MATCH ? AND b.brand = 'Acme' AND m.sentiment = 'negative' "
            "AND m.published >= ? ORDER BY m.published DESC LIMIT 20",
            [word, week],
        ).fetchall()

    def report(_: str) -> Any:
        base = (
            "FROM mentions m JOIN mention_brands b ON b.mention = m.rowid "
            "WHERE b.brand = 'Acme' AND m.published >= ?"
        )
        return (
            conn.execute(
                f"SELECT m.published / 86400000, m.sentiment, COUNT(*) {base} GROUP BY 1, 2",
                [week],
            ).fetchall(),
            conn.execute(
                f"SELECT m.site, COUNT(*) {base} GROUP BY 1 ORDER BY 2 DESC LIMIT 10", [week]
            ).fetchall(),
            conn.execute(
                f"SELECT m.author_display, COUNT(*) {base} GROUP BY 1 ORDER BY 2 DESC LIMIT 10",
                [week],
            ).fetchall(),
        )

    def status(_: str) -> Any:
        return (
            conn.execute("SELECT COUNT(*) FROM mentions").fetchone(),
            conn.execute("SELECT brand, COUNT(*) FROM mention_brands GROUP BY 1").fetchall(),
            conn.execute("SELECT sentiment, COUNT(*) FROM mentions GROUP BY 1").fetchall(),
        )

    def export(_: str) -> int:
        cursor = conn.execute(
            "SELECT m.doc FROM mentions m JOIN mention_brands b ON b.mention = m.rowid "
            "WHERE b.brand = 'Acme' ORDER BY m.published, m.id"
        )
        count = 0
        with open(os.devnull, "w") as out:
            for (doc,) in cursor:
                out.write(doc + "\n")
                count += 1
        return count

    return {
        "match": match,
        "filtered": filtered,
        "report": report,
        "status": status,
        "export": export,
    }


# -- what both stores answer ---------------------------------------------------------------------


def reads(store: Store) -> dict[str, Callable[[str], Any]]:
    week = Filters(brand="Acme", since=END - timedelta(days=7))

    def search(text: str) -> Any:
        return store.search(Filters(query=parse(text)), size=20)

    def filtered(word: str) -> Any:
        filters = Filters(
            query=parse(word), brand="Acme", sentiment="negative", since=END - timedelta(days=7)
        )
        return store.search(filters, size=20)

    def report(_: str) -> Any:  # what ``veille report`` reads
        return store.figures(week, interval=timedelta(days=1), facets=("site", "author"))

    def status(_: str) -> Any:  # what ``veille status`` reads
        return store.figures(Filters(), facets=("brand", "sentiment"), limit=50)

    def export(_: str) -> int:  # what ``veille search --all`` writes
        count = 0
        with open(os.devnull, "w") as out:
            for lines in store.export(Filters(brand="Acme")):
                out.write("\n".join(lines) + "\n")
                count += len(lines)
        return count

    return {
        "match": search,
        "filtered": filtered,
        "report": report,
        "status": status,
        "export": export,
    }


def measure(
    name: str,
    n: int,
    loaded: dict[str, Any],
    baseline_write: float,
    size_bytes: tuple[int, int],
    ours: dict[str, Callable[[str], Any]],
    raw: dict[str, Callable[[str], Any]],
    raw_text: Callable[[str], str],
    cli: Callable[[], float] | None,
) -> None:
    print(f"\n{name}, {n:,} mentions{'':>12}{'Veille':>24}{'baseline':>24}")
    row("write rate", f"{n / loaded['write']:,.0f}/s", f"{n / baseline_write:,.0f}/s")
    row("bytes per mention", f"{size_bytes[0] / n:,.0f}", f"{size_bytes[1] / n:,.0f}")
    for mark, seconds in loaded["marks"].items():
        row(f"enrich batch at {mark:,} stored", f"{seconds * 1000:.0f} ms")
    for kind, queries in QUERIES.items():
        mine = [t for q in queries * 5 for t in timed(lambda q=q: ours["match"](q))]
        base = [t for q in queries * 5 for t in timed(lambda q=q: raw["match"](raw_text(q)))]
        row(f"search {kind} p50/p95", ms(mine), ms(base))
    words = QUERIES["word"] * 5
    row(
        "search filtered p50/p95",
        ms([t for w in words for t in timed(lambda w=w: ours["filtered"](w))]),
        ms([t for w in words for t in timed(lambda w=w: raw["filtered"](raw_text(w)))]),
    )
    for what in ("report", "status"):
        row(
            f"{what} p50/p95",
            ms(timed(lambda what=what: ours[what](""), 10)),
            ms(timed(lambda what=what: raw[what](""), 10)),
        )
    rates = []
    for fn in (ours["export"], raw["export"]):
        start = time.perf_counter()
        count = fn("")
        rates.append(f"{count / (time.perf_counter() - start):,.0f}/s")
    row("export one brand", *rates)
    if cli is not None:
        row(
            "veille search (CLI, p50 of 5)",
            f"{statistics.median(cli() for _ in range(5)) * 1000:.0f} ms",
        )


def cli_search(config: Path) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "veille.cli", "--config", str(config), "search", "panne"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return time.perf_counter() - start

    return run


def fts5(query: str) -> str:
    """A bench query as FTS5 writes it by hand, on the store's folded words."""
    from ingest.text import fold

    if " NEAR/" in query:
        left, _, rest = query.partition(" NEAR/")
        distance, _, right = rest.partition(" ")
        return f"NEAR({fold(left)} {fold(right)}, {distance})"
    return fold(query)


def sqlite_part(n: int, root: Path, marks: tuple[int, ...], only_load: bool) -> None:
    path = root / f"veille-{n}.db"
    with open_store(f"sqlite://{path}") as store:
        if only_load:
            load_only("SQLite", store, n, marks)
            return
        loaded = load(store, n, marks)
        base_path = root / f"raw-{n}.db"
        baseline = sqlite_baseline_load(base_path, n)
        config = root / f"veille-{n}.yaml"
        config.write_text(
            f"brands: [{{name: Acme, query: acme}}]\nstore: {{url: 'sqlite://{path}'}}\n"
        )
        sizes = (
            sum(p.stat().st_size for p in root.glob(f"veille-{n}.db*")),
            sum(p.stat().st_size for p in root.glob(f"raw-{n}.db*")),
        )
        measure(
            "SQLite",
            n,
            loaded,
            baseline,
            sizes,
            reads(store),
            sqlite_raw_queries(path),
            raw_text=fts5,
            cli=cli_search(config),
        )


def elastic_part(n: int, url: str, marks: tuple[int, ...], only_load: bool) -> None:
    from elasticsearch import Elasticsearch, helpers

    from index.elastic import ElasticStore
    from index.elastic.mapping import document

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    settings = StoreSettings(elastic=ElasticSettings(index_prefix=prefix))
    client = Elasticsearch(url)
    raw_index = f"{prefix}-raw"
    store = ElasticStore.from_url(url, settings)
    try:
        if only_load:
            load_only("Elasticsearch", store, n, marks)
            return
        loaded = load(store, n, marks)
        store.refresh()
        mapping = client.indices.get_mapping(index=store.alias)
        client.indices.create(index=raw_index, mappings=next(iter(mapping.values()))["mappings"])
        start = time.perf_counter()
        for batch in corpus(n):
            helpers.bulk(
                client, ({"_index": raw_index, "_id": m.id, "_source": document(m)} for m in batch)
            )
        baseline = time.perf_counter() - start
        client.indices.refresh(index=raw_index)
        stats = client.indices.stats(index=[store.alias, raw_index], metric="store")
        sizes = tuple(
            sum(
                v["primaries"]["store"]["size_in_bytes"]
                for k, v in stats["indices"].items()
                if (k == raw_index) == raw
            )
            for raw in (False, True)
        )
        week = (END - timedelta(days=7)).isoformat()
        acme = {"term": {"enrichment.brands": "Acme"}}

        def match(text: str) -> Any:
            return client.search(
                index=raw_index,
                query={"simple_query_string": {"query": text, "fields": ["text", "title"]}},
                size=20,
                sort=[{"published": "desc"}],
            )

        def filtered(word: str) -> Any:
            return client.search(
                index=raw_index,
                size=20,
                sort=[{"published": "desc"}],
                query={
                    "bool": {
                        "must": [{"match": {"text": word}}],
                        "filter": [
                            acme,
                            {"term": {"enrichment.sentiment.label": "negative"}},
                            {"range": {"published": {"gte": week}}},
                        ],
                    }
                },
            )

        def report(_: str) -> Any:
            return client.search(
                index=raw_index,
                size=0,
                query={"bool": {"filter": [acme, {"range": {"published": {"gte": week}}}]}},
                aggs={
                    "days": {
                        "date_histogram": {"field": "published", "calendar_interval": "day"},
                        "aggs": {"s": {"terms": {"field": "enrichment.sentiment.label"}}},
                    },
                    "sites": {"terms": {"field": "site", "size": 10}},
                    "authors": {"terms": {"field": "author.display", "size": 10}},
                },
            )

        def status(_: str) -> Any:
            return client.search(
                index=raw_index,
                size=0,
                track_total_hits=True,
                aggs={
                    "b": {"terms": {"field": "enrichment.brands", "size": 50}},
                    "s": {"terms": {"field": "enrichment.sentiment.label"}},
                },
            )

        def export(_: str) -> int:
            count = 0
            with open(os.devnull, "w") as out:
                for hit in helpers.scan(client, index=raw_index, query={"query": acme}, size=1000):
                    out.write(json.dumps(hit["_source"]) + "\n")
                    count += 1
            return count

        raw = {
            "match": match,
            "filtered": filtered,
            "report": report,
            "status": status,
            "export": export,
        }
        measure(
            "Elasticsearch",
            n,
            loaded,
            baseline,
            (sizes[0], sizes[1]),
            reads(store),
            raw,
            raw_text=lambda q: q.split(" NEAR")[0],
            cli=None,
        )
    finally:
        store.drop()
        store.close()
        client.indices.delete(index=raw_index, ignore_unavailable=True)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--stores", default="sqlite,elastic")
    parser.add_argument("--elastic", default=os.environ.get("TEST_ELASTICSEARCH_URL"))
    parser.add_argument("--keep", type=Path, help="Keep the SQLite stores in this folder.")
    parser.add_argument(
        "--marks",
        default=",".join(str(m) for m in MARKS),
        help="Store sizes at which the enrich batch is timed.",
    )
    parser.add_argument(
        "--load-only",
        action="store_true",
        help="Load only up to the last mark, and print the enrich batch times alone.",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    marks = tuple(int(m) for m in args.marks.split(","))
    stores = args.stores.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            if "sqlite" in stores:
                sqlite_part(n, root, marks, args.load_only)
            if "elastic" in stores and args.elastic:
                elastic_part(n, args.elastic, marks, args.load_only)
            elif "elastic" in stores:
                print("\nElasticsearch: not measured (no --elastic nor TEST_ELASTICSEARCH_URL)")


if __name__ == "__main__":
    main()
