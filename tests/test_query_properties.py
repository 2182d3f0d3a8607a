"""The query language under property-based tests (hypothesis).

- Whatever text it is given (any unicode, operators, quotes, parentheses, ``NEAR/n`` with huge
  numbers, ``field:value``, nesting thousands deep), the parser raises nothing but
  `QuerySyntaxError`, and what it accepts is within `ingest.query.limits`.
- Generated query trees, written out as text, parse back to themselves.
- For every generated query, the SQLite store selects what the in-memory matcher selects on a
  small corpus, and so does Elasticsearch for a smaller number of them (when it runs for the
  tests; see `tests.support.backends`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import QuerySyntaxError
from ingest.query import And, Doc, Field, Near, Node, Not, Or, Text, depth, matches, parse, terms
from ingest.query.limits import MAX_DEPTH, MAX_LENGTH, MAX_TERMS
from ingest.record import Mention, SourceKind
from ingest.store import Filters, SortOrder, Store
from tests.support.backends import elastic_store
from tests.support.mentions import make_mention

# -- arbitrary text ----------------------------------------------------------------------------

PIECES = ["AND", "OR", "NOT", "(", ")", '"', "*", "NEAR", "NEAR/", ":", "lang:", "site:"]
PIECES += ["author:", "source:", 'author:"', "fr", "acme", "acme*", "a*b", "\n", "\t", "\u00a0"]

piece = st.one_of(
    st.sampled_from(PIECES),
    st.text(max_size=6),
    st.integers(min_value=0, max_value=10**40).map(lambda n: f"NEAR/{n}"),
    st.integers(min_value=0, max_value=6000).map(lambda n: "NEAR/" + "9" * n),
    st.from_regex(r"[A-Za-z]{1,7}:[^\s]{0,6}", fullmatch=True),
)
query_text = st.one_of(
    st.text(),
    st.lists(piece, max_size=40).flatmap(
        lambda parts: st.sampled_from([" ", ""]).map(lambda sep: sep.join(parts))
    ),
    # Nesting and negation far past the limits, closed or not.
    st.builds(
        lambda opener, count, closed: opener * count + "acme" + ")" * (count * closed),
        st.sampled_from(["(", "NOT ", "NOT (", "a OR (", "a (", "a AND NOT ("]),
        st.integers(0, 3000),
        st.booleans(),
    ),
)


@given(query_text)
def test_the_parser_raises_nothing_but_query_syntax_errors(query: str) -> None:
    refused: QuerySyntaxError | None = None
    try:
        tree = parse(query)
    except QuerySyntaxError as exc:
        refused = exc
    if refused is not None:
        assert 0 <= refused.position <= len(query)
        assert str(refused)  # the caret line renders, whatever the query holds
        return
    assert len(query) <= MAX_LENGTH
    assert depth(tree) <= MAX_DEPTH
    assert terms(tree) <= MAX_TERMS


# -- generated trees ---------------------------------------------------------------------------

WORDS = ["acme", "panne", "service", "client", "lumen", "velo", "reseau", "and", "or", "2024"]
FIELD_VALUES = [
    Field("lang", "fr"),
    Field("lang", "en"),
    Field("site", "forum.fr"),
    Field("site", "example.com"),
    Field("author", "jean dupont"),
    Field("author", "jdoe"),
    Field("source", "forum"),
    Field("source", "blog"),
]


def _joined(kind: type[And] | type[Or], children: list[Node]) -> Node:
    """``children`` joined in the parser's normal form: no AND directly in an AND (nor OR)."""
    flat: list[Node] = []
    for child in children:
        flat += child.children if isinstance(child, kind) else [child]
    return kind(tuple(flat))


def _negated(node: Node) -> Node:
    return node.child if isinstance(node, Not) else Not(node)


words = st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(tuple)
texts = st.builds(Text, words, st.booleans())
sides = st.lists(texts, min_size=1, max_size=3).map(tuple)
leaves = st.one_of(
    texts,
    st.sampled_from(FIELD_VALUES),
    st.builds(Near, sides, sides, st.integers(min_value=0, max_value=4)),
)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=4)
    return st.one_of(
        several.map(lambda c: _joined(And, c)),
        several.map(lambda c: _joined(Or, c)),
        children.map(_negated),
    )


trees: st.SearchStrategy[Node] = st.recursive(leaves, _extend, max_leaves=12)


@given(trees)
def test_a_tree_written_out_parses_back_to_itself(tree: Node) -> None:
    if depth(tree) > MAX_DEPTH:
        with pytest.raises(QuerySyntaxError, match="levels deep"):
            parse(str(tree))
        return
    assert parse(str(tree)) == tree


# -- the matcher and the stores ----------------------------------------------------------------


def _corpus() -> list[Mention]:
    rng = random.Random(5)
    out = []
    for i in range(48):
        text = " ".join(rng.choice([*WORDS, "autre", "velocite"]) for _ in range(rng.randint(1, 9)))
        title = " ".join(rng.sample(WORDS, 2)) if i % 3 == 0 else None
        author, handle = rng.choice([("Jean Dupont", None), (None, "jdoe"), ("Ana", "ana")])
        out.append(
            make_mention(
                text,
                title=title,
                site=rng.choice(["forum.fr", "www.forum.fr", "example.com", "acme.fr"]),
                source=rng.choice(["forum", "news-feed"]),
                kind=rng.choice([SourceKind.FORUM, SourceKind.BLOG, SourceKind.NEWS]),
                author=author,
                handle=handle,
                lang=rng.choice(["fr", "en", None]),
                brands=("Acme",),
            )
        )
    return out


CORPUS = _corpus()


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    from index.sqlite import SqliteStore

    store = SqliteStore(Path(tmp_path_factory.mktemp("properties")) / "store.db")
    store.setup()
    store.upsert(CORPUS)
    yield store
    store.close()


@pytest.fixture(scope="module")
def elastic() -> Iterator[Store]:
    store = elastic_store()
    store.upsert(CORPUS)
    yield store
    store.close()


def _agrees(store: Store, tree: Node, sort: SortOrder) -> None:
    if depth(tree) > MAX_DEPTH:
        return
    query = parse(str(tree))
    want = {m.id for m in CORPUS if matches(query, Doc.of(m))}
    page = store.search(Filters(query=query), sort=sort, size=len(CORPUS))
    assert {m.id for m in page.hits} == want
    assert page.total == store.count(Filters(query=query)) == len(want)


orders = st.sampled_from(get_args(SortOrder))


@given(trees, orders)
def test_sqlite_selects_what_the_matcher_selects(
    sqlite: Store, tree: Node, sort: SortOrder
) -> None:
    _agrees(sqlite, tree, sort)


@settings(max_examples=40)
@given(trees, orders)
def test_elasticsearch_selects_what_the_matcher_selects(
    elastic: Store, tree: Node, sort: SortOrder
) -> None:
    _agrees(elastic, tree, sort)
