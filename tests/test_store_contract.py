"""The store contract (`MentionStore`, `AuthorIndex`, `ClusterIndex` and `StoreAdmin`, see
`ingest.store`), held against every implementation.

Implementations are listed in `tests.support.backends`: each gives a fresh, empty store.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from index.sqlite.store import SqliteStore
from ingest.query import parse
from ingest.record import Author, Entity, Influence, Mention, Source, SourceKind
from ingest.store import (
    AuthorActivity,
    AuthorScore,
    Distinct,
    Facet,
    Filters,
    Signature,
    Store,
)
from ingest.text import fold
from tests.support.backends import STORES
from tests.support.mentions import T0, make_mention
from veille.output import mention_json


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance = STORES[request.param](tmp_path)
    yield instance
    instance.close()


def q(query: str, **kwargs: object) -> Filters:
    return Filters(query=parse(query), **kwargs)  # type: ignore[arg-type]


def test_writing_a_mention_twice_keeps_one_copy(store: Store) -> None:
    m = make_mention("Acme au top", brands=("Acme",), sentiment="positive")
    assert store.upsert([m]) == []
    assert store.upsert([m, m]) == []
    assert store.count(Filters()) == 1
    assert store.get(m.id) == m


def test_the_later_fetch_wins_and_an_older_one_never_overwrites(store: Store) -> None:
    old = make_mention("première version", brands=("Acme",), sentiment="neutral")
    new = old.model_copy(
        update={"text": "seconde version", "fetched": old.fetched + timedelta(hours=1)}
    )
    store.upsert([new])
    store.upsert([old])  # a replay of the older copy arrives late
    stored = store.get(old.id)
    assert stored is not None
    assert stored.text == "seconde version"
    assert store.count(q("premiere")) == 0
    assert store.count(q("seconde")) == 1


def test_a_mention_without_a_date_stays_unknown_and_sits_where_it_was_first_seen(
    store: Store,
) -> None:
    dated = make_mention("Acme daté", brands=("Acme",), sentiment="neutral", published=T0)
    found = make_mention("Acme sans date", brands=("Acme",), sentiment="negative")
    undated = found.model_copy(update={"published": None})
    store.upsert([dated, undated])
    stored = store.get(undated.id)
    assert stored is not None
    assert stored.published is None
    assert stored.when == undated.fetched
    assert [m.id for m in store.search(Filters(undated=True)).hits] == [undated.id]
    assert store.count(Filters(undated=True, source="test-feed")) == 1
    # It is read by periods at the time it was first seen.
    seen = Filters(since=undated.fetched - timedelta(minutes=1))
    assert [m.id for m in store.search(seen).hits] == [undated.id]
    assert [f.get("published") for batch in store.fields(Filters(undated=True)) for f in batch] == [
        None
    ]
    tops = store.figures(Filters(undated=True), facets=("source",)).tops["source"]
    assert [(t.key, t.count) for t in tops] == [("test-feed", 1)]


def test_a_mention_without_a_date_fetched_again_keeps_its_first_sighting(store: Store) -> None:
    first = make_mention("Acme, vieux fil", brands=("Acme",)).model_copy(update={"published": None})
    again = first.model_copy(update={"fetched": first.fetched + timedelta(days=3)})
    store.upsert([first])
    store.upsert([again])
    stored = store.get(first.id)
    assert stored is not None
    assert stored.published is None
    if isinstance(store, SqliteStore):
        assert stored.when == first.fetched
    else:  # Elasticsearch replaces documents whole: it keeps the latest sighting
        assert stored.when == again.fetched


def test_search_matches_words_accents_and_case_insensitively(store: Store) -> None:
    store.upsert(
        [
            make_mention(
                "La Société Générale ouvre une agence", brands=("SG",), sentiment="neutral"
            ),
            make_mention("Rien à voir", brands=("SG",), sentiment="neutral"),
        ]
    )
    assert store.count(q("societe")) == 1
    assert store.count(q("SOCIÉTÉ generale")) == 1
    assert store.count(q('"societe generale"')) == 1
    assert store.count(q("soci*")) == 1


def test_filters_narrow_every_read(store: Store) -> None:
    store.upsert(
        [
            make_mention(
                "Acme panne",
                brands=("Acme",),
                sentiment="negative",
                lang="fr",
                source="forum-x",
                published=T0,
            ),
            make_mention(
                "Acme great",
                brands=("Acme",),
                sentiment="positive",
                lang="en",
                source="blog-y",
                published=T0 + timedelta(days=2),
            ),
            make_mention(
                "Globex ok",
                brands=("Globex",),
                sentiment="neutral",
                lang="fr",
                source="blog-y",
                published=T0 + timedelta(days=4),
            ),
        ]
    )
    assert store.count(Filters(brand="Acme")) == 2
    assert store.count(Filters(brand="acme")) == 2  # brand names are not case-sensitive
    assert store.count(Filters(sentiment="negative")) == 1
    assert store.count(Filters(source="blog-y")) == 2
    assert store.count(Filters(source="blog")) == 3  # a kind matches too
    assert store.count(Filters(lang="en")) == 1
    assert store.count(Filters(since=T0 + timedelta(days=1))) == 2
    assert store.count(Filters(until=T0 + timedelta(days=1))) == 1
    assert store.count(q("acme", brand="Acme", lang="fr")) == 1


def test_results_are_newest_first_and_paginate_without_gaps(store: Store) -> None:
    mentions = [
        make_mention(
            f"Acme numéro {i}",
            brands=("Acme",),
            sentiment="neutral",
            published=T0 + timedelta(hours=i),
        )
        for i in range(25)
    ]
    store.upsert(mentions)
    pages = [store.search(Filters(brand="Acme"), page=p, size=10) for p in (1, 2, 3)]
    assert [p.total for p in pages] == [25, 25, 25]
    ids = [m.id for page in pages for m in page.hits]
    assert ids == [m.id for m in sorted(mentions, key=lambda m: m.published, reverse=True)]


def test_scan_reads_every_match_once_oldest_first_across_batches(store: Store) -> None:
    # Three mentions share each instant, so batch boundaries fall between equal dates.
    mentions = [
        make_mention(
            f"Acme numéro {i}",
            brands=("Acme",),
            sentiment="neutral",
            published=T0 + timedelta(hours=i // 3),
        )
        for i in range(23)
    ]
    other = make_mention("Globex aussi", brands=("Globex",), published=T0)
    store.upsert([*mentions, other])
    batches = list(store.scan(Filters(brand="Acme"), batch=4))
    assert [len(b) for b in batches] == [4, 4, 4, 4, 4, 3]
    ids = [m.id for b in batches for m in b]
    assert ids == [m.id for m in sorted(mentions, key=lambda m: (m.published, m.id))]
    since = T0 + timedelta(hours=5)
    assert [m.id for b in store.scan(Filters(brand="Acme", since=since)) for m in b] == ids[15:]
    assert list(store.scan(Filters(brand="Nobody"))) == []
    # A query's matches, in the same order, however the store finds them.
    assert [m.id for b in store.scan(q("numero", brand="Acme"), batch=23) for m in b] == ids


def test_export_writes_what_scan_reads_as_json_lines(store: Store) -> None:
    mentions = [
        _enriched(
            make_mention(
                f'Acme à Besançon n° {i}: «génial» 😀 \\ "cité"',
                title="Titre\tà part" if i % 2 else None,
                handle=f"jeanne{i}",
                brands=("Acme",),
                sentiment=("negative", "positive")[i % 2],
                published=T0 + timedelta(hours=i // 2),
                engagement={"likes": i, "views": 10**12 + i},
                thread={"id": f"t{i}", "position": i},
            ),
            entities=(Entity(text="Besançon", label="LOC"),),
            influence=Influence(author_key=f"x/{i}", score=0.1 * i + 1e-7, is_influencer=i > 5),
            cluster=f"c{i // 3}",
        )
        for i in range(11)
    ]
    store.upsert(mentions)
    acme = Filters(brand="Acme")
    lines = list(store.export(acme, batch=4))
    assert lines == [[mention_json(m) for m in b] for b in store.scan(acme, batch=4)]
    written = sorted(mentions, key=lambda m: (m.published, m.id))
    assert [line for b in lines for line in b] == [mention_json(m) for m in written]
    assert list(store.export(Filters(brand="Nobody"))) == []


def test_relevance_ranks_the_better_match_first(store: Store) -> None:
    weak = make_mention(
        "Acme est cité une fois dans un long texte sur tout autre chose, "
        "les vélos, la météo, les vacances et le reste.",
        brands=("Acme",),
        sentiment="neutral",
        published=T0 + timedelta(days=1),
    )
    strong = make_mention(
        "Acme, Acme, Acme : panne Acme",
        title="Acme en panne",
        brands=("Acme",),
        sentiment="negative",
        published=T0,
    )
    store.upsert([weak, strong])
    by_date = store.search(q("acme"), sort="date")
    by_relevance = store.search(q("acme"), sort="relevance")
    assert [m.id for m in by_date.hits] == [weak.id, strong.id]
    assert [m.id for m in by_relevance.hits] == [strong.id, weak.id]


def test_timeline_counts_per_bucket_and_sentiment(store: Store) -> None:
    store.upsert(
        [
            make_mention("a", brands=("Acme",), sentiment="negative", published=T0),
            make_mention(
                "b", brands=("Acme",), sentiment="negative", published=T0 + timedelta(minutes=30)
            ),
            make_mention(
                "c", brands=("Acme",), sentiment="positive", published=T0 + timedelta(minutes=40)
            ),
            make_mention(
                "d", brands=("Acme",), sentiment="neutral", published=T0 + timedelta(hours=3)
            ),
        ]
    )
    buckets = store.timeline(Filters(brand="Acme"), timedelta(hours=1))
    assert [b.start for b in buckets] == [T0 + timedelta(hours=h) for h in range(4)]
    assert [b.counts for b in buckets] == [{"negative": 2, "positive": 1}, {}, {}, {"neutral": 1}]


def test_top_sites_authors_and_brands(store: Store) -> None:
    store.upsert(
        [
            make_mention("x", site="a.fr", author="Jo", brands=("Acme",), sentiment="neutral"),
            make_mention(
                "y", site="a.fr", author="Jo", brands=("Acme", "Globex"), sentiment="neutral"
            ),
            make_mention("z", site="b.fr", author="Al", brands=("Globex",), sentiment="neutral"),
            make_mention("w", site="a.fr", author=None, brands=("Globex",), sentiment="neutral"),
        ]
    )
    everything = Filters()
    assert [(t.key, t.count) for t in store.top(everything, "site")] == [("a.fr", 3), ("b.fr", 1)]
    assert [(t.key, t.count) for t in store.top(everything, "author")] == [("Jo", 2), ("Al", 1)]
    assert [(t.key, t.count) for t in store.top(everything, "brand")] == [
        ("Globex", 3),
        ("Acme", 2),
    ]
    assert [(t.key, t.count) for t in store.top(Filters(brand="Acme"), "site")] == [("a.fr", 2)]


@pytest.mark.parametrize("distinct", [None, "cluster"])
def test_figures_are_the_count_timeline_and_tops_read_together(
    store: Store, distinct: Distinct
) -> None:
    mentions = [
        make_mention(
            f"m{i}",
            site=f"s{i % 3}.fr",
            author=f"a{i % 4}",
            brands=(("Acme",), ("Globex",), ("Acme", "Globex"))[i % 3],
            sentiment=("negative", "neutral", "positive")[i % 3],
            lang=("fr", "en")[i % 2],
            published=T0 + timedelta(hours=5 * i),
        )
        for i in range(20)
    ]
    store.upsert(
        [_enriched(m, cluster=f"c{i // 2}") if i < 8 else m for i, m in enumerate(mentions)]
    )
    facets: tuple[Facet, ...] = ("brand", "sentiment", "site", "author", "lang")
    for filters in (Filters(), Filters(brand="Acme"), Filters(sentiment="negative", lang="fr")):
        figures = store.figures(
            filters, interval=timedelta(days=1), facets=facets, limit=3, distinct=distinct
        )
        assert figures.total == store.count(filters, distinct=distinct)
        assert figures.timeline == store.timeline(filters, timedelta(days=1), distinct=distinct)
        assert figures.tops == {f: store.top(filters, f, 3, distinct=distinct) for f in facets}
    assert store.figures(Filters()).timeline == []


def _selects(m: Mention, f: Filters) -> bool:
    """What ``f`` (without a query or an entity) selects, said in Python."""
    brands = {b.lower() for b in (m.enrichment.brands if m.enrichment else ())}
    label = m.enrichment.sentiment.label if m.enrichment and m.enrichment.sentiment else None
    return (
        (f.brand is None or f.brand.lower() in brands)
        and (f.sentiment is None or label == f.sentiment)
        and (
            f.source is None
            or fold(m.source.name) == fold(f.source)
            or m.source.kind.value == f.source.lower()
        )
        and (f.lang is None or m.effective_lang == f.lang.lower())
        and (f.since is None or m.published >= f.since)
        and (f.until is None or m.published < f.until)
    )


def _values(m: Mention, facet: Facet) -> set[str]:
    enrichment = m.enrichment
    match facet:
        case "brand":
            return {b for b in (enrichment.brands if enrichment else ())}
        case "sentiment":
            sentiment = enrichment.sentiment if enrichment else None
            return {sentiment.label if sentiment else "unknown"}
        case "site":
            return {m.site}
        case "author":
            return {m.author.display} if m.author and m.author.display else set()
        case "source":
            return {m.source.name}
        case "lang":
            return {m.effective_lang}
    raise AssertionError(facet)


def _counted(stored: list[Mention], f: Filters, step: timedelta, facets: tuple[Facet, ...]) -> Any:
    """The figures of ``f`` counted in Python over ``stored``: the total, the timeline and the
    tops (as mappings: the order of equal counts is the stores' own)."""
    chosen = [m for m in stored if _selects(m, f)]
    ms = int(step.total_seconds() * 1000)
    buckets: dict[int, Counter[str]] = {}
    for m in chosen:
        start = int(m.published.timestamp() * 1000) // ms * ms
        buckets.setdefault(start, Counter()).update(_values(m, "sentiment"))
    timeline = (
        [
            (start, dict(buckets.get(start, {})))
            for start in range(min(buckets), max(buckets) + ms, ms)
        ]
        if buckets
        else []
    )
    tops = {facet: Counter(v for m in chosen for v in _values(m, facet)) for facet in facets}
    return len(chosen), timeline, tops


def _read(store: Store, f: Filters, step: timedelta, facets: tuple[Facet, ...]) -> Any:
    figures = store.figures(f, interval=step, facets=facets, limit=100)
    for terms in figures.tops.values():
        assert [t.count for t in terms] == sorted((t.count for t in terms), reverse=True)
    return (
        figures.total,
        [(int(b.start.timestamp() * 1000), b.counts) for b in figures.timeline],
        {facet: Counter({t.key: t.count for t in terms}) for facet, terms in figures.tops.items()},
    )


def test_figures_stay_what_the_stored_mentions_count_through_rewrites_and_drops(
    store: Store,
) -> None:
    """Figures are counts of what is stored, however a store keeps them (SQLite keeps counts
    per hour as it writes): a redelivered mention counts once, a rewritten one moves from its
    old values to its new ones, a stale copy changes nothing, and a drop starts from zero."""
    start = T0 + timedelta(minutes=17)  # periods that start and end inside hours
    mentions = [
        make_mention(
            f"m{i}",
            site=f"s{i % 4}.fr",
            author=(f"a{i % 5}", None)[i % 7 == 0],
            source=("forum-x", "blog-y", "news")[i % 3],
            kind=(SourceKind.FORUM, SourceKind.BLOG, SourceKind.NEWS)[i % 3],
            brands=(("Acme",), ("Globex",), ("Acme", "Globex"), ())[i % 4],
            sentiment=("negative", "neutral", "positive", None)[i % 4],
            lang=("fr", "en")[i % 2],
            published=start + timedelta(minutes=37 * i),
        )
        for i in range(60)
    ]
    facets: tuple[Facet, ...] = ("brand", "sentiment", "site", "author", "source", "lang")
    week = (start + timedelta(hours=5, minutes=3), start + timedelta(hours=29, minutes=41))
    selections = [
        Filters(),
        Filters(brand="acme"),
        Filters(brand="Acme", since=week[0], until=week[1]),
        Filters(since=week[0]),
        Filters(until=week[1]),
        Filters(since=T0 + timedelta(hours=3), until=T0 + timedelta(hours=9)),
        Filters(sentiment="negative", lang="fr"),
        Filters(source="forum"),
        Filters(source="blog-y", brand="Globex"),
        Filters(since=week[0], until=week[0] + timedelta(minutes=20)),
    ]

    def check() -> None:
        stored = [m for batch in store.scan(Filters()) for m in batch]
        for f in selections:
            for step in (timedelta(hours=1), timedelta(days=1), timedelta(minutes=90)):
                assert _read(store, f, step, facets) == _counted(stored, f, step, facets), (f, step)

    store.upsert(mentions[:40])
    store.upsert(mentions[30:])  # ten of them again, as they were
    check()
    later = timedelta(days=2)
    changed = [
        m.model_copy(
            update={
                "site": "moved.fr",
                "published": m.published + timedelta(hours=7),
                "fetched": m.fetched + later,
                "source": Source(kind=SourceKind.NEWS, name="wire"),
                "author": Author(name="Zoé"),
            }
        )
        for m in mentions[::5]
    ]
    relabelled = [
        _enriched(m, brands=("Initech",), sentiment=None, lang="en").model_copy(
            update={"fetched": m.fetched + later}
        )
        for m in mentions[1::5]
        if m.enrichment
    ]
    stale = [m.model_copy(update={"site": "old.fr"}) for m in mentions[2::5]]
    store.upsert([*changed, *relabelled, *changed[:3]])  # a batch that repeats mentions
    store.upsert([*stale, *mentions[4::5]])
    store.upsert(changed)  # a redelivery, changed already
    check()
    store.drop()
    store.setup()
    check()
    store.upsert(mentions[10:25])
    check()


# -- what enrich adds: entities, near-duplicate clusters, authors -----------------------------


def _enriched(mention: Mention, **update: object) -> Mention:
    assert mention.enrichment is not None
    return mention.with_enrichment(mention.enrichment.model_copy(update=update))


def test_counts_can_count_a_cluster_once(store: Store) -> None:
    copies = [
        _enriched(
            make_mention(f"copie {i}", site=site, brands=("Acme",), sentiment="positive"),
            cluster="press-release",
        )
        for i, site in enumerate(["a.fr", "b.fr", "c.fr"])
    ]
    alone = make_mention("seul", site="a.fr", brands=("Acme",), sentiment="negative")
    store.upsert([*copies, alone])
    everything = Filters()
    assert store.count(everything) == 4
    assert store.count(everything, distinct="cluster") == 2
    assert [(t.key, t.count) for t in store.top(everything, "site", distinct="cluster")] == [
        ("a.fr", 2),
        ("b.fr", 1),
        ("c.fr", 1),
    ]
    assert [(t.key, t.count) for t in store.top(everything, "brand", distinct="cluster")] == [
        ("Acme", 2)
    ]
    buckets = store.timeline(everything, timedelta(days=1), distinct="cluster")
    assert sum(b.total for b in buckets) == 2
    assert sum(b.counts.get("positive", 0) for b in buckets) == 1


def test_a_deleted_mention_leaves_every_read_and_a_later_copy_stays_deleted(
    store: Store,
) -> None:
    """A post deleted on its platform (`MentionStore.delete`) is gone from search, counts and
    what SQLite keeps of them per hour, exports, clusters counted once and its author's
    figures; deleting is idempotent; a copy written after the deletion (a redelivery, a late
    enrich) is not stored, even when the deletion came before the mention itself."""
    start = T0 + timedelta(minutes=17)
    gone = _enriched(
        make_mention(
            "Acme rappelle ses trottinettes",
            site="a.fr",
            author="Zoé",
            published=start,
            brands=("Acme",),
            sentiment="negative",
        ),
        cluster="c-gone",
    )
    copy = _enriched(
        make_mention(
            "Acme rappelle des trottinettes", site="b.fr", published=start, brands=("Acme",)
        ),
        cluster="c-copy",
    )
    kept = make_mention(
        "Acme ouvre une boutique",
        site="a.fr",
        author="Zoé",
        brands=("Acme",),
        sentiment="positive",
        published=start + timedelta(hours=3),
    )
    early = make_mention("Acme supprimé avant d'arriver", brands=("Acme",), sentiment="neutral")
    store.upsert([gone, copy, kept])
    store.record_authors(
        [_activity(gone.id, "zoe", engagement=5), _activity(kept.id, "zoe", engagement=1)]
    )
    assert store.count(Filters(), distinct="cluster") == 3

    assert store.delete([gone.id, early.id], T0 + timedelta(days=1)) == 1
    assert store.delete([gone.id], T0 + timedelta(days=2)) == 0  # a replay: nothing more

    def check() -> None:
        assert store.get(gone.id) is None
        assert [m.id for m in store.search(q("trottinettes")).hits] == [copy.id]
        assert {m.id for batch in store.scan(Filters()) for m in batch} == {copy.id, kept.id}
        exported = [json.loads(line)["id"] for lines in store.export(Filters()) for line in lines]
        assert sorted(exported) == sorted([copy.id, kept.id])
        assert store.count(Filters(), distinct="cluster") == 2
        facets: tuple[Facet, ...] = ("brand", "sentiment", "site", "author", "lang")
        for f in (
            Filters(),
            Filters(brand="Acme"),
            Filters(since=T0, until=T0 + timedelta(days=1)),
        ):
            for step in (timedelta(hours=1), timedelta(days=1)):
                expected = _counted([copy, kept], f, step, facets)
                assert _read(store, f, step, facets) == expected, (f, step)
        [zoe] = store.authors(["forum.fr/zoe"])
        assert (zoe.mentions, zoe.engagement) == (1, 1)

    check()
    # What comes after the deletion: a redelivery, a late enrich, the mention it overtook.
    assert store.upsert([gone, early]) == []
    store.record_authors([_activity(gone.id, "zoe", engagement=5)])
    store.record_authors([_activity(early.id, "zoe", engagement=7)])
    check()
    assert store.get(early.id) is None


def test_local_days_hold_across_a_dst_change(store: Store) -> None:
    """A reader in Paris sees days from midnight to midnight in Paris, also the day clocks go
    back (2026-10-25, 25 hours long), and weeks from Monday; copies of one story on that
    day count once, though they fall on two days in UTC."""
    paris = ZoneInfo("Europe/Paris")

    def at(utc: str, cluster: str | None = None, sentiment: str = "negative") -> Mention:
        published = datetime.fromisoformat(utc).replace(tzinfo=UTC)
        mention = make_mention(utc, published=published, brands=("Acme",), sentiment=sentiment)
        return _enriched(mention, cluster=cluster) if cluster else mention

    store.upsert(
        [
            at("2026-10-23T21:59"),  # Friday 23:59 in Paris (UTC+2)
            at("2026-10-23T22:00", sentiment="positive"),  # Saturday 00:00
            at("2026-10-24T22:30", cluster="story"),  # Sunday 00:30 (UTC+2)
            at("2026-10-25T12:00"),  # Sunday 13:00 (UTC+1 from 03:00)
            at("2026-10-25T22:30", cluster="story"),  # Sunday 23:30
            at("2026-10-25T23:30", cluster="story"),  # Monday 00:30
        ]
    )
    everything = Filters()

    def days(interval: timedelta, distinct: Distinct = None) -> list[tuple[str, int]]:
        buckets = store.timeline(everything, interval, distinct=distinct, zone=paris)
        return [(b.start.astimezone(paris).isoformat(), b.total) for b in buckets]

    day, week = timedelta(days=1), timedelta(days=7)
    assert days(day) == [
        ("2026-10-23T00:00:00+02:00", 1),
        ("2026-10-24T00:00:00+02:00", 1),
        ("2026-10-25T00:00:00+02:00", 3),
        ("2026-10-26T00:00:00+01:00", 1),
    ]
    assert days(day, "cluster") == [
        ("2026-10-23T00:00:00+02:00", 1),
        ("2026-10-24T00:00:00+02:00", 1),
        ("2026-10-25T00:00:00+02:00", 2),
        ("2026-10-26T00:00:00+01:00", 1),
    ]
    assert days(week) == [("2026-10-19T00:00:00+02:00", 5), ("2026-10-26T00:00:00+01:00", 1)]
    assert days(week, "cluster") == [
        ("2026-10-19T00:00:00+02:00", 4),
        ("2026-10-26T00:00:00+01:00", 1),
    ]
    [saturday] = [
        b
        for b in store.timeline(everything, day, zone=paris)
        if b.start == datetime(2026, 10, 24, tzinfo=paris)
    ]
    assert saturday.counts == {"positive": 1}
    figures = store.figures(everything, interval=day, distinct="cluster", zone=paris)
    assert figures.timeline == store.timeline(everything, day, distinct="cluster", zone=paris)
    # Without a zone, days are UTC's.
    assert [b.total for b in store.timeline(everything, day)] == [2, 1, 3]


def test_entities_are_searchable_and_aggregated_by_canonical_name(store: Store) -> None:
    city = Entity(text="velora city", label="PRODUCT", kb_id="Velora City")
    store.upsert(
        [
            _enriched(make_mention("a", brands=("Velora",), sentiment="neutral"), entities=(city,)),
            _enriched(
                make_mention("b", brands=("Velora",), sentiment="neutral"),
                entities=(
                    Entity(text="Velora City", label="PRODUCT", kb_id="Velora City"),
                    Entity(text="Angers", label="LOC"),
                ),
            ),
            make_mention("c", brands=("Velora",), sentiment="neutral"),
        ]
    )
    assert [(t.key, t.count) for t in store.top(Filters(), "entity")] == [
        ("Velora City", 2),
        ("Angers", 1),
    ]
    assert store.count(Filters(entity="velora city")) == 2
    assert store.count(Filters(entity="ANGERS")) == 1
    stored = store.get(store.search(Filters(entity="angers")).hits[0].id)
    assert stored is not None
    assert stored.enrichment is not None
    assert stored.enrichment.entities[1].label == "LOC"


def test_a_mention_counts_once_for_an_entity_found_under_two_labels(store: Store) -> None:
    twice = (Entity(text="Velora", label="ORG"), Entity(text="velora", label="BRAND"))
    store.upsert([_enriched(make_mention("a", brands=("Velora",)), entities=twice)])
    assert [(t.key, t.count) for t in store.top(Filters(), "entity")] == [("Velora", 1)]


def _activity(mention_id: str, author: str, **kwargs: Any) -> AuthorActivity:
    defaults: dict[str, Any] = {"site": "forum.fr", "published": T0}
    return AuthorActivity(mention_id, f"forum.fr/{author}", **{**defaults, **kwargs})


def test_author_activity_is_counted_once_per_mention(store: Store) -> None:
    first = _activity("m1", "jo", name="Jo", reach=100, engagement=3)
    stats = store.record_authors([first, _activity("m2", "jo", reach=250, engagement=2)])
    assert [(a.key, a.mentions, a.reach, a.engagement) for a in stats] == [
        ("forum.fr/jo", 2, 250, 5)
    ]
    again = store.record_authors([first])  # redelivered: replaces, never adds
    assert (again[0].mentions, again[0].engagement, again[0].name) == (2, 5, "Jo")
    moved = store.record_authors([_activity("m2", "al", site="blog.fr")])  # m2 changed author
    assert {a.key: a.mentions for a in moved} == {"forum.fr/al": 1, "forum.fr/jo": 1}
    assert [a.sites for a in store.authors(["forum.fr/al"])] == [("blog.fr",)]
    assert store.authors(["nobody"]) == []


def test_an_author_record_adds_up_over_batches(store: Store) -> None:
    """What enrich reads back of an author who writes batch after batch: counts and sums of
    every mention, the latest name and profile URL any mention gave (not an older one, nor
    none because the newest lacks it), and their sites, most used first."""
    hour = timedelta(hours=1)
    store.record_authors(
        [_activity("m1", "jo", name="Jo", url="https://forum.fr/u/jo", reach=10, engagement=1)]
    )
    store.record_authors([_activity("m2", "jo", site="www.fr", reach=5, published=T0 + hour)])
    store.record_authors(
        [
            _activity("m3", "jo", site="www.fr", name="Josette", published=T0 - 24 * hour),
            _activity("m4", "jo", published=T0 + 2 * hour, engagement=4),
            _activity("m5", "jo", site="www.fr", published=T0 + 3 * hour, engagement=2),
        ]
    )
    [jo] = store.authors(["forum.fr/jo"])
    assert (jo.name, jo.url, jo.mentions, jo.reach, jo.engagement) == (
        "Jo",
        "https://forum.fr/u/jo",
        5,
        10,
        7,
    )
    assert jo.sites == ("www.fr", "forum.fr")
    assert (jo.first_seen, jo.last_seen) == (T0 - 24 * hour, T0 + 3 * hour)
    store.record_authors([_activity("m5", "al")])  # m5 moves to another author: recounted
    [jo] = store.authors(["forum.fr/jo"])
    assert (jo.mentions, jo.engagement, jo.last_seen) == (4, 5, T0 + 2 * hour)
    assert jo.sites == ("forum.fr", "www.fr")  # two each: by name


def test_author_scores_percentiles_and_edges(store: Store) -> None:
    store.record_authors(
        [
            _activity("m1", "op", thread="forum.fr/t1", position=1),
            _activity("m2", "jo", thread="forum.fr/t1", position=2),
            _activity("m3", "al", thread="forum.fr/t1", position=3, mentioned=("forum.fr/jo",)),
            _activity("m4", "al", parent="m2"),
            _activity("m5", "al", mentioned=("forum.fr/unknown", "forum.fr/al")),
        ]
    )
    edges = {(e.source, e.target): e.weight for e in store.author_edges()}
    assert edges == {
        ("forum.fr/jo", "forum.fr/op"): 1,
        ("forum.fr/al", "forum.fr/op"): 1,
        ("forum.fr/al", "forum.fr/jo"): 2,  # a reply and an @-mention
    }
    store.save_author_scores(
        [
            AuthorScore("forum.fr/op", 0.5, 3.0),
            AuthorScore("forum.fr/jo", 0.3, 2.0),
            AuthorScore("forum.fr/al", 0.2, 1.0),
        ]
    )
    assert store.author_score_at(100) == 3.0
    assert store.author_score_at(50) == 2.0
    assert store.author_score_at(0) == 1.0
    assert [a.pagerank for a in store.authors(["forum.fr/op"])] == [0.5]


def test_top_authors_rank_by_score_among_matching_mentions(store: Store) -> None:
    def by(author: str, brand: str) -> Mention:
        m = make_mention(f"{author} {brand}", site="forum.fr", brands=(brand,), sentiment="neutral")
        return _enriched(m, influence=Influence(author_key=f"forum.fr/{author}", score=0.0))

    mentions = [by("jo", "Acme"), by("jo", "Acme"), by("al", "Acme"), by("al", "Globex")]
    store.upsert(mentions)
    authors = ["jo", "jo", "al", "al"]
    store.record_authors([_activity(m.id, a) for m, a in zip(mentions, authors, strict=True)])
    store.save_author_scores(
        [AuthorScore("forum.fr/jo", 0, 1.0), AuthorScore("forum.fr/al", 0, 2.0)]
    )
    top = store.top_authors(Filters(brand="Acme"))
    assert [(r.author.key, r.mentions, r.author.mentions) for r in top] == [
        ("forum.fr/al", 1, 2),
        ("forum.fr/jo", 2, 2),
    ]
    assert [r.author.key for r in store.top_authors(Filters(brand="Globex"))] == ["forum.fr/al"]


def test_clusters_are_assigned_once_and_joined_by_shared_keys(store: Store) -> None:
    first = store.assign_clusters([Signature("m1", (1, 2, 3)), Signature("m2", (9, 8))])
    assert first == {"m1": "m1", "m2": "m2"}
    joined = store.assign_clusters(
        [
            Signature("m3", (3, 4)),  # shares a key with m1
            Signature("m4", (4, 5)),  # shares a key with m3, so with m1's cluster
            Signature("m5", (1, 2, 9), joins=False),  # a short post: its own cluster
            Signature("m6", (2, 3, 8)),  # two keys with m1's cluster, one with m2's
        ]
    )
    assert joined == {"m3": "m1", "m4": "m1", "m5": "m5", "m6": "m1"}
    # Redelivered, even with other keys: the cluster it was given.
    assert store.assign_clusters([Signature("m2", (1, 2, 3))]) == {"m2": "m2"}
    assert store.assign_clusters([Signature("m7", ())]) == {"m7": "m7"}


def test_a_signature_joins_the_cluster_whose_signatures_share_the_most_keys(store: Store) -> None:
    # "z" gathers three signatures with key 1, "b" one with keys 2 and 3.
    store.assign_clusters([Signature("z", (1, 10)), Signature("z2", (1, 11))])
    store.assign_clusters([Signature("z3", (1, 12)), Signature("b", (2, 3))])
    # A tie (key 12 with z3, key 3 with b) goes to the smallest cluster id, not the oldest.
    assert store.assign_clusters([Signature("y", (12, 3, 30))]) == {"y": "b"}
    # Key 1 with three of z's signatures; keys 2 and 30 with one of b's each: 3 pairs to 2.
    assert store.assign_clusters([Signature("x", (1, 2, 30))]) == {"x": "z"}
    # Redelivered, a signature counts once: "r" has key 5 however often it comes back.
    store.assign_clusters([Signature("r", (5,)), Signature("s", (6,)), Signature("s2", (6, 7))])
    for _ in range(3):
        assert store.assign_clusters([Signature("r", (5,))]) == {"r": "r"}
    assert store.assign_clusters([Signature("w", (5, 6, 7))]) == {"w": "s"}
    # In a batch, a signature counts those before it: with "v1" in "p", "v2" shares 80 twice
    # and 81 once with p, more than 70 twice with q.
    store.assign_clusters([Signature("q", (70,)), Signature("q2", (70, 71)), Signature("p", (80,))])
    batch = [Signature("v1", (80, 81)), Signature("v2", (70, 80, 81))]
    assert store.assign_clusters(batch) == {"v1": "p", "v2": "p"}


def test_a_cluster_of_many_copies_takes_late_copies_and_redeliveries_keep_theirs(
    store: Store,
) -> None:
    # 120 copies of one article over batches, each with a few keys of its own besides the
    # article's; and another cluster, of two.
    article = (1, 2, 3, 4)
    for start in range(0, 120, 40):
        batch = [Signature(f"a{i:03}", (*article, 1000 + i)) for i in range(start, start + 40)]
        assert set(store.assign_clusters(batch).values()) == {"a000"}
    assert store.assign_clusters([Signature("b", (60, 50, 51)), Signature("b2", (50, 51))]) == {
        "b": "b",
        "b2": "b",
    }
    # Redelivered, alone or amid others, each keeps its cluster (and is not counted again).
    for _ in range(3):
        again = [Signature(f"a{i:03}", (50, 51)) for i in range(0, 120, 7)]
        assert store.assign_clusters(again) == {s.mention_id: "a000" for s in again}
        assert store.assign_clusters([Signature("b2", (1, 2, 3))]) == {"b2": "b"}
    # A late copy that shares one key with 120 copies and one with b and b2 joins a000. The
    # next shares 50 and 51 with b and b2 (4 pairs), 50 with late1 and 1000 with a000 (2): b.
    late = [Signature("late1", (3, 50, 9999)), Signature("late2", (50, 51, 1000))]
    assert store.assign_clusters(late) == {"late1": "a000", "late2": "b"}
    assert store.assign_clusters([Signature("c", (1, 50, 51))]) == {"c": "a000"}
    # Keys 50 and 51: 6 pairs with b, 3 with a000 (late1's 50, c's 50 and 51). Had the
    # redeliveries above, which came with keys 50 and 51, been counted, a000 would have 108 more.
    assert store.assign_clusters([Signature("d", (50, 51))]) == {"d": "b"}


def test_significant_terms_are_the_words_of_the_spike(store: Store) -> None:
    calm = [
        "Le service client a répondu vite, merci",
        "Nouvelle offre fibre disponible dans ma ville",
        "Quelqu'un a testé la box dernière génération ?",
        "Great support from the team today",
        "Service client correct, rien à signaler",
    ]
    spike = [
        "Panne générale chez Acme, plus de réseau depuis ce matin",
        "Toujours en panne, je veux un remboursement",
        "Panne réseau : Acme ne répond plus, remboursement exigé",
        "Encore une panne, le remboursement doit être automatique",
    ]
    store.upsert(
        [
            make_mention(
                text, brands=("Acme",), sentiment="neutral", published=T0 - timedelta(days=d)
            )
            for d in range(1, 7)
            for text in calm
        ]
        + [make_mention(text, brands=("Acme",), sentiment="negative") for text in spike]
    )
    terms = store.significant_terms(Filters(brand="Acme", sentiment="negative"), limit=5)
    assert {t.key for t in terms[:2]} == {"panne", "remboursement"}
    panne = next(t for t in terms if t.key == "panne")
    assert (panne.count, panne.background) == (4, 4)
    assert all(a.score >= b.score for a, b in itertools.pairwise(terms))
    # Against a background that is the spike itself, nothing stands out.
    spike_only = Filters(sentiment="negative")
    assert store.significant_terms(spike_only, background=spike_only) == []


# -- administration and lifetime ----------------------------------------------------------------


def test_drop_deletes_everything_and_setup_starts_afresh(store: Store) -> None:
    m = make_mention("Panne chez Acme", brands=("Acme",), sentiment="negative")
    store.upsert([m])
    store.record_authors([_activity(m.id, "jo")])
    store.assign_clusters([Signature(m.id, (1, 2, 3))])
    store.refresh()
    assert store.count(Filters()) == 1
    store.drop()
    store.setup()
    assert store.count(Filters()) == 0
    assert store.get(m.id) is None
    assert store.authors(["forum.fr/jo"]) == []
    assert store.author_score_at(50) is None
    # Its signature went too: a copy starts its own cluster.
    assert store.assign_clusters([Signature("m2", (1, 2, 3))]) == {"m2": "m2"}
    # And it works as new.
    spike = [m, make_mention("Encore une panne", brands=("Acme",), sentiment="negative")]
    calm = [make_mention(f"Tout va bien, jour {i}", brands=("Acme",)) for i in range(4)]
    store.upsert(spike + calm)
    assert store.search(Filters(query=parse("panne"))).total == 2
    assert "panne" in {t.key for t in store.significant_terms(Filters(sentiment="negative"))}


def test_leaving_a_with_block_closes_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[bool] = []
    monkeypatch.setattr(store, "close", lambda: closed.append(True))
    with store as entered:
        assert entered is store
        assert not closed
    assert closed == [True]
