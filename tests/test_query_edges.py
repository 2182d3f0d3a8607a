"""Corner cases of the query language where a store's engine could drift from the matcher:
overlapping NEAR operands, the same word on both sides, alternatives of different lengths,
phrase prefixes, very long tokens. Each store must select what the matcher selects."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.query import Doc, matches, parse
from ingest.record import Mention
from ingest.store import Filters, Store
from tests.support.backends import STORES
from tests.support.mentions import make_mention

LONG = "x" * 300  # longer than any analyzer's default token limit

TEXTS = [
    "acme",
    "acme acme",
    "acme corp y service",
    "acme y z service",
    "service client acme",
    "client service",
    "service client",
    "acmes et acmeco",
    "le service du client",
    f"{LONG} acme corp",
    f"{LONG}y acme",
]

QUERIES = [
    "acme NEAR/3 acme",
    "acme NEAR/0 acme*",
    "acme* NEAR/0 acme*",
    '"service client" NEAR/0 client',
    '"service client" NEAR/0 acme',
    '(acme OR "acme corp") NEAR/1 service',
    '(acme OR "acme corp") NEAR/0 y',
    "(acme OR corp) NEAR/2 (acme OR corp)",
    "(service OR client) NEAR/0 (client OR acme)",
    '"acme co"*',
    '"service cl"* NEAR/1 acme',
    "service NEAR/1 client",
    "service NEAR/0 client",
    f"{LONG} NEAR/0 acme",
    f'"{LONG} acme"',
    f"{LONG}*",
    "NOT acme",
    "acme AND NOT (corp OR service)",
]


@pytest.fixture(scope="module")
def corpus() -> list[Mention]:
    return [
        make_mention(text, title="rien" if i % 2 else "acme titre", brands=("Acme",))
        for i, text in enumerate(TEXTS)
    ]


@pytest.fixture(scope="module", params=sorted(STORES))
def loaded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    corpus: list[Mention],
) -> Iterator[Store]:
    store = STORES[request.param](Path(tmp_path_factory.mktemp(request.param)))
    store.upsert(corpus)
    yield store
    store.close()


@pytest.mark.parametrize("query", QUERIES)
def test_store_agrees_with_the_matcher(loaded: Store, corpus: list[Mention], query: str) -> None:
    tree = parse(query)
    expected = {m.text for m in corpus if matches(tree, Doc.of(m))}
    got = {m.text for m in loaded.search(Filters(query=tree), size=100).hits}
    assert got == expected
