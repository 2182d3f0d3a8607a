"""Every query back end selects the same mentions as the in-memory matcher, on one corpus: the
queries an analyst writes, and the hostile shapes as deep and as long as the limits allow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.query import Doc, matches, parse
from ingest.store import Filters, Store
from tests.support.backends import STORES
from tests.support.corpus import QUERIES, corpus
from tests.support.hostile_queries import within_limits

CORPUS = corpus()
WORDS = ["acme", "service", "panne", "client", "globex", "reseau", "outage", "societe", "support"]
FIELDS = ["lang:fr", "site:forum.fr", "source:forum", "author:@jdoe", "lang:en", "site:acme.com"]
HOSTILE = within_limits(WORDS, FIELDS)


@pytest.fixture(scope="module", params=sorted(STORES))
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    store = STORES[request.param](Path(tmp_path_factory.mktemp(request.param)))
    store.upsert(CORPUS)
    yield store
    store.close()


def expected(query: str) -> set[str]:
    tree = parse(query)
    return {m.id for m in CORPUS if matches(tree, Doc.of(m))}


def test_the_corpus_and_queries_are_discriminating() -> None:
    assert len(CORPUS) >= 200
    assert len(QUERIES) >= 30
    proper = [q for q in QUERIES if 0 < len(expected(q)) < len(CORPUS)]
    assert len(proper) == len(QUERIES), set(QUERIES) - set(proper)


@pytest.mark.parametrize("query", QUERIES)
def test_store_selects_what_the_matcher_selects(loaded: Store, query: str) -> None:
    got = {m.id for m in loaded.search(Filters(query=parse(query)), size=1000).hits}
    assert got == expected(query)
    assert loaded.count(Filters(query=parse(query))) == len(got)


@pytest.mark.parametrize("name", HOSTILE)
def test_store_answers_hostile_shapes_as_the_matcher_does(loaded: Store, name: str) -> None:
    query = HOSTILE[name]
    want = expected(query)
    for sort in ("date", "relevance"):
        page = loaded.search(Filters(query=parse(query)), sort=sort, size=1000)
        assert {m.id for m in page.hits} == want, sort
    assert loaded.count(Filters(query=parse(query))) == len(want)
