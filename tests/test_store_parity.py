"""The two stores against each other on random workloads: what enrich keeps (authors, clusters)
and the counts it makes possible (entities, distinct clusters) must come out the same from
Elasticsearch as from SQLite, the reference implementation, down to the ties and edge cases
that the store contract's hand-written examples do not reach, and under the hostile queries
(as deep and as long as the limits allow) that wrap the query the deepest."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from index.elastic import ElasticStore
from ingest.query import Doc, matches, parse
from ingest.record import Entity, Influence, Mention
from ingest.store import (
    FACETS,
    AuthorActivity,
    AuthorScore,
    Distinct,
    Filters,
    Signature,
    Store,
    TermCount,
)
from tests.support.backends import STORES, elastic_store
from tests.support.hostile_queries import within_limits
from tests.support.mentions import T0, make_mention

SITES = ("forum.fr", "blog.fr", "news.fr")
BRANDS = ("Acme", "Globex")


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    reference = STORES["sqlite"](tmp_path)
    elastic = elastic_store()
    yield reference, elastic
    reference.close()
    elastic.close()


def _mentions(rng: random.Random, n: int) -> list[Mention]:
    out = []
    for i in range(n):
        m = make_mention(
            f"mention {i}",
            site=rng.choice(SITES),
            brands=tuple(rng.sample(BRANDS, rng.randint(1, 2))),
            sentiment=rng.choice(["positive", "negative", "neutral"]),
            published=T0 + timedelta(hours=rng.randint(0, 72)),
        )
        assert m.enrichment is not None
        author = f"{m.site}/{rng.choice(['jo', 'al', 'op', 'lu', 'max'])}"
        out.append(
            m.with_enrichment(
                m.enrichment.model_copy(update={"influence": Influence(author_key=author, score=0)})
            )
        )
    return out


def _activity(rng: random.Random, m: Mention, ids: list[str], minute: int) -> AuthorActivity:
    assert m.enrichment is not None
    assert m.enrichment.influence is not None
    thread = rng.choice([None, None, "forum.fr/t1", "forum.fr/t2"])
    known = [f"{site}/{who}" for site in SITES for who in ("jo", "al", "op")]
    return AuthorActivity(
        m.id,
        m.enrichment.influence.author_key,
        site=m.site,
        published=T0 + timedelta(minutes=minute),  # distinct: "the latest name" is one
        name=rng.choice([None, "Jo", "Jo L.", "Al"]),
        handle=rng.choice([None, "jo44"]),
        url=rng.choice([None, "https://forum.fr/u/1"]),
        reach=rng.choice([0, 10, 250]),
        engagement=rng.randint(0, 5),
        brands=m.enrichment.brands,
        parent=rng.choice([None, None, rng.choice(ids), "0123456789abcdef"]),
        thread=thread,
        position=rng.choice([None, 1, 1, 2, 3, 4]) if thread else None,
        mentioned=tuple(rng.sample([*known, "nowhere.fr/ghost"], rng.randint(0, 2))),
    )


def test_authors_come_out_the_same(stores: tuple[Store, Store]) -> None:
    reference, elastic = stores
    rng = random.Random(4)
    mentions = _mentions(rng, 40)
    ids = [m.id for m in mentions]
    for store in stores:
        store.upsert(mentions)
    batches = [mentions[:15], mentions[15:30] + mentions[:3], mentions[30:] + mentions[10:14]]
    minute = 0
    for batch in batches:
        activity = []
        for m in batch:
            minute += 1
            activity.append(_activity(rng, m, ids, minute))
        if len(activity) > 2:  # a batch that repeats a mention: the later copy counts
            activity.append(_activity(rng, batch[0], ids, minute + 1))
        # Mentions whose author changed since their first delivery.
        moved = [replace(a, author_key="blog.fr/newcomer") for a in activity[:2]]
        got = [store.record_authors(activity + moved) for store in stores]
        assert sorted(got[1], key=lambda a: a.key) == sorted(got[0], key=lambda a: a.key)
    everyone = [f"{s}/{w}" for s in SITES for w in ("jo", "al", "op", "lu", "max")]
    everyone += ["blog.fr/newcomer", "nowhere.fr/ghost"]
    assert elastic.authors(everyone) == reference.authors(everyone)
    assert elastic.author_edges() == reference.author_edges()

    scores = [  # ties, unknown authors, and known ones left at 0
        AuthorScore(key, rng.random(), rng.choice([0.2, 0.5, 1.0, 1.5, 2.5, 3.75]))
        for key in everyone
        if rng.random() < 0.8
    ]
    for store in stores:
        assert store.author_score_at(50) is not None
        store.save_author_scores(scores)
    assert elastic.authors(everyone) == reference.authors(everyone)
    percentiles = [0, 1, 10, 25, 33.3, 50, 66.7, 75, 90, 99, 100]
    expected = [reference.author_score_at(p) for p in percentiles]
    assert [elastic.author_score_at(p) for p in percentiles] == expected
    assert isinstance(elastic, ElasticStore)
    elastic.author_index.max_window = 2  # past it: the way around deep pages
    assert [elastic.author_score_at(p) for p in percentiles] == expected
    for filters in (Filters(), Filters(brand="Acme"), Filters(sentiment="negative")):
        for limit in (3, 20):
            assert elastic.top_authors(filters, limit) == reference.top_authors(filters, limit)


def test_clusters_come_out_the_same(stores: tuple[Store, Store]) -> None:
    rng = random.Random(7)
    ids = [f"{i:016x}" for i in range(60)]
    for start in range(0, 60, 15):
        batch = [
            Signature(
                mention_id,
                tuple(rng.randint(-20, 20) for _ in range(rng.randint(0, 5))),
                joins=rng.random() < 0.8,
            )
            for mention_id in ids[start : start + 15]
        ]
        # Redelivered mentions, some with other keys, and one twice in the batch.
        batch += [Signature(rng.choice(ids[: start + 1]), (rng.randint(-20, 20),))]
        batch += [batch[0]]
        reference, elastic = (store.assign_clusters(batch) for store in stores)
        assert elastic == reference


def _entities(rng: random.Random) -> tuple[Entity, ...]:
    pool = [
        Entity(text="velora city", label="PRODUCT", kb_id="Velora City"),
        Entity(text="Velora city", label="PRODUCT"),
        Entity(text="velora city", label="ORG"),
        Entity(text="Angers", label="LOC"),
        Entity(text="ANGERS", label="LOC"),
        Entity(text="Élan", label="ORG"),
        Entity(text="elan", label="PERSON"),
        Entity(text="!!!", label="MISC"),
    ]
    return tuple(rng.sample(pool, rng.randint(0, 4)))


def _ranked(terms: list[TermCount]) -> list[tuple[int, str]]:
    """Counts, most first, ties by name: the stores break ties each their own way."""
    return sorted((-t.count, t.key) for t in terms)


def test_entities_and_distinct_counts_come_out_the_same(stores: tuple[Store, Store]) -> None:
    rng = random.Random(11)
    mentions = []
    for m in _mentions(rng, 50):
        assert m.enrichment is not None
        cluster = rng.choice([None, None, "c1", "c2", "c3", m.id])
        update = {"entities": _entities(rng), "cluster": cluster}
        mentions.append(m.with_enrichment(m.enrichment.model_copy(update=update)))
    reference, elastic = stores
    for store in stores:
        store.upsert(mentions)
    selections = [Filters(), Filters(brand="Globex"), Filters(sentiment="positive")]
    selections += [Filters(entity=name) for name in ("Velora City", "angers", "ELAN", "!!!")]
    distincts: list[Distinct] = [None, "cluster"]
    day = timedelta(days=1)
    for filters in selections:
        for distinct in distincts:
            assert elastic.count(filters, distinct=distinct) == reference.count(
                filters, distinct=distinct
            )
            assert elastic.timeline(filters, day, distinct=distinct) == reference.timeline(
                filters, day, distinct=distinct
            )
            for facet in FACETS:
                got = elastic.top(filters, facet, 50, distinct=distinct)
                want = reference.top(filters, facet, 50, distinct=distinct)
                assert _ranked(got) == _ranked(want), (filters, facet, distinct)


def test_hostile_queries_count_and_aggregate_the_same(stores: tuple[Store, Store]) -> None:
    rng = random.Random(13)
    words = ["3", "mention", "7", "1", "5", "9", "2", "4", "6", "8"]
    fields = ["site:forum.fr", "site:blog.fr", "source:test-feed", "lang:fr", "site:news.fr"]
    mentions = []
    for m in _mentions(rng, 60):
        assert m.enrichment is not None
        update = {"entities": _entities(rng), "cluster": rng.choice([None, "c1", "c2", m.id])}
        mentions.append(m.with_enrichment(m.enrichment.model_copy(update=update)))
    reference, elastic = stores
    for store in stores:
        store.upsert(mentions)
    for name, query in within_limits(words, fields).items():
        tree = parse(query)
        want = sum(matches(tree, Doc.of(m)) for m in mentions)
        filters = Filters(query=tree)
        assert reference.count(filters) == elastic.count(filters) == want, name
        for distinct in (None, "cluster"):
            day = timedelta(days=1)
            got = elastic.timeline(filters, day, distinct=distinct)
            assert got == reference.timeline(filters, day, distinct=distinct), name
            for facet in FACETS:  # "entity" wraps the query once more
                got_top = elastic.top(filters, facet, 50, distinct=distinct)
                want_top = reference.top(filters, facet, 50, distinct=distinct)
                assert _ranked(got_top) == _ranked(want_top), (name, facet, distinct)
        assert elastic.top_authors(filters, 5) == reference.top_authors(filters, 5), name


def test_local_days_come_out_the_same_in_every_zone(stores: tuple[Store, Store]) -> None:
    """Days and weeks in the reader's zone, around DST changes (Paris and New York change a week
    apart) and in a zone half an hour off UTC (India): SQLite maps mentions to local days
    itself, Elasticsearch's date_histogram with a time_zone; they must agree to the unit."""
    rng = random.Random(17)
    start = datetime(2026, 10, 18, tzinfo=UTC)
    mentions = []
    for i in range(120):
        m = make_mention(
            f"mention {i}",
            published=start + timedelta(minutes=rng.randint(0, 20 * 24 * 60)),
            brands=(rng.choice(BRANDS),),
            sentiment=rng.choice(["positive", "negative", "neutral"]),
        )
        assert m.enrichment is not None
        cluster = rng.choice([None, None, "c1", "c2", "c3"])
        mentions.append(m.with_enrichment(m.enrichment.model_copy(update={"cluster": cluster})))
    reference, elastic = stores
    for store in stores:
        store.upsert(mentions)
    distincts: list[Distinct] = [None, "cluster"]
    filters = [Filters(), Filters(brand="Globex", since=start + timedelta(days=3, hours=5))]
    for zone in ("Europe/Paris", "America/New_York", "Asia/Kolkata"):
        for days in (1, 2, 7, 3650):
            for selection in filters:
                for distinct in distincts:
                    asked = (zone, days, selection, distinct)
                    got, want = (
                        s.timeline(
                            selection,
                            timedelta(days=days),
                            distinct=distinct,
                            zone=ZoneInfo(zone),
                        )
                        for s in (elastic, reference)
                    )
                    assert got == want, asked
                    if distinct is None:  # a cluster counts once a bucket, so not here
                        assert sum(b.total for b in want) == reference.count(selection), asked
