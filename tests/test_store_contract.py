"""The `Store` contract, held against every implementation (see `ingest.store`).

Implementations are listed in `tests.backends`: each gives a fresh, empty store.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ingest.query import parse
from ingest.store import Filters, Store
from tests.backends import STORES
from tests.conftest import T0, make_mention


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
