"""Reviews through the stores: a review's rating is stored with the mention on every store (it
round-trips), ``rating:`` in a query selects the same reviews on every store and in the
matcher, the exports carry it, and records and SQLite files written before ratings existed are
still read."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.export import COLUMNS, row
from index.sqlite import SqliteStore
from ingest.errors import QuerySyntaxError
from ingest.query import Doc, matches, parse
from ingest.record import Mention, Rating, SourceKind
from ingest.store import Filters, Store
from tests.support.backends import STORES
from tests.support.mentions import make_mention


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    instance = STORES[request.param](tmp_path)
    yield instance
    instance.close()


def review(text: str, value: float, best: float = 5, worst: float = 1) -> Mention:
    rating = Rating(value=value, best=best, worst=worst, item="Lumen Box 5", average=3.2, count=9)
    return make_mention(
        text, kind=SourceKind.REVIEW, source="avis", brands=("Lumen",), rating=rating
    )


REVIEWS = [
    review("Panne tous les soirs", 1),
    review("Bof", 2),
    review("Moyen, sans plus", 3),
    review("Très bien", 4),
    review("Parfait", 5),
    review("Six sur dix", 6, best=10, worst=0),  # 3 out of 5
    review("Deux sur dix", 2, best=10, worst=0),  # 1 out of 5
]
OTHERS = [make_mention("Lumen sans note", brands=("Lumen",))]


@pytest.mark.parametrize(
    ("query", "texts"),
    [
        ("rating:<=2", {"Panne tous les soirs", "Bof", "Deux sur dix"}),
        ("rating:<2", {"Panne tous les soirs", "Deux sur dix"}),
        ("rating:3", {"Moyen, sans plus", "Six sur dix"}),
        ("rating:>=4", {"Très bien", "Parfait"}),
        ("rating:>4", {"Parfait"}),
        # A mention without a rating is not rated 2 or less: NOT keeps it.
        ("NOT rating:<=2", {"Moyen, sans plus", "Très bien", "Parfait", "Six sur dix",
                            "Lumen sans note"}),
        ("(panne OR bof) AND rating:<2", {"Panne tous les soirs"}),
    ],
)  # fmt: skip
def test_rating_filters_the_same_reviews_on_every_store_and_in_the_matcher(
    store: Store, query: str, texts: set[str]
) -> None:
    store.upsert([*REVIEWS, *OTHERS])
    node = parse(query)
    found = {m.text for m in store.search(Filters(query=node), size=50).hits}
    assert found == texts
    assert store.count(Filters(query=node)) == len(texts)
    assert {m.text for m in [*REVIEWS, *OTHERS] if matches(node, Doc.of(m))} == texts


def test_a_rating_round_trips_through_the_store(store: Store) -> None:
    store.upsert(REVIEWS)
    stored = store.get(REVIEWS[5].id)
    assert stored == REVIEWS[5]
    assert stored is not None
    assert stored.rating == Rating(
        value=6, best=10, worst=0, item="Lumen Box 5", average=3.2, count=9
    )
    scanned = [m for batch in store.scan(Filters(query=parse("rating:>=0"))) for m in batch]
    assert sorted(m.id for m in scanned) == sorted(m.id for m in REVIEWS)


def test_exports_carry_the_rating_out_of_five_and_the_item() -> None:
    names = [c.name for c in COLUMNS]
    values = dict(zip(names, row(REVIEWS[5]), strict=True))
    assert (values["rating"], values["rating_value"], values["rating_best"]) == (3.0, 6.0, 10.0)
    assert values["reviewed"] == "Lumen Box 5"
    assert values["source_kind"] == "review"
    plain = dict(zip(names, row(OTHERS[0]), strict=True))
    assert plain["rating"] is None
    assert plain["reviewed"] is None


@pytest.mark.parametrize("bad", ["rating:6", "rating:bien", "rating:<=-1", "rating:=>2"])
def test_a_rating_outside_zero_to_five_or_not_a_number_is_refused(bad: str) -> None:
    with pytest.raises(QuerySyntaxError, match="rating: expects a comparison"):
        parse(bad)


def test_a_record_written_before_ratings_is_still_read() -> None:
    old = (
        b'{"id":"0123456789abcdef","source":{"kind":"forum","name":"f"},"url":"https://f.example/1",'
        b'"site":"f.example","text":"ancien","published":"2026-01-01T00:00:00Z",'
        b'"fetched":"2026-01-01T00:00:00Z","engagement":{}}'
    )
    mention = Mention.from_json(old)
    assert mention.rating is None
    assert b"rating" not in mention.to_json()


def test_a_sqlite_store_from_before_ratings_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = SqliteStore(path)
    store.setup()
    store.upsert(OTHERS)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE mentions DROP COLUMN rating")  # as version 3 made it
    conn.execute("PRAGMA user_version = 1")  # the fingerprint of another schema
    conn.commit()
    conn.close()

    store = SqliteStore(path)
    store.setup()
    store.upsert(REVIEWS[:2])
    assert store.count(Filters(query=parse("rating:<=2"))) == 2
    assert store.count(Filters()) == 3
    store.close()


def test_a_review_rating_outside_its_scale_is_no_record() -> None:
    with pytest.raises(ValueError, match="outside its scale"):
        Rating(value=0, best=5, worst=1)
    with pytest.raises(ValueError, match="finite"):
        Rating(value=float("inf"), best=5)
    assert Rating(value=2, best=2, worst=-2).stars == 5.0
