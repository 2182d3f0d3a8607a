"""Compile a query tree to the Elasticsearch query DSL, with the matcher's semantics exactly.

The words of a mention's title and text are indexed already folded by `ingest.text`, joined by
spaces, in ``search.title`` and ``search.text``, whose analyzer only splits on whitespace. So a
word in a query is a ``term``, a phrase a ``match_phrase``, ``acme*`` a ``prefix``, and no
Elasticsearch analyzer can disagree with the matcher about what a word is. Each field is queried
on its own, as the matcher reads a phrase or a NEAR inside one field.

``a NEAR/n b`` becomes an ``intervals`` query per field: ``all_of`` unordered, ``max_gaps: n``,
which counts the words between the two matches as the matcher does, for every pair of
alternatives. One case differs in Lucene: the same word on both sides (``acme NEAR/3 acme``)
there needs two occurrences, while the matcher lets one occurrence stand for both sides; such a
pair compiles to the word alone.

Metadata fields are keywords stored normalised the way the matcher compares them
(`index.elastic.mapping` writes them): ``search.lang``, ``search.sites`` (the site and each parent
domain), ``search.authors`` (folded name and handle), ``search.source`` (folded name) and
``source.kind``.

`filters_query` adds what `ingest.store.Filters` narrows to besides the query: brand, sentiment,
source, language, dates, and the entity (``search.entities``: folded canonical names).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from itertools import product
from typing import Any

from index.base import epoch_ms
from ingest.query.tree import (
    And,
    Field,
    Near,
    Node,
    Not,
    Or,
    Text,
    positive_texts,
    rating_bound,
)
from ingest.store import Filters
from ingest.text import fold

Query = dict[str, Any]

TEXT_FIELDS = ("search.title", "search.text")
_RANGE = {"<": "lt", "<=": "lte", ">=": "gte", ">": "gt"}
MAX_TOKEN_CHARS = 255
_KEPT_CHARS = 200
RANKING_CLAUSES = 256


def cut(token: str) -> str:
    """``token``, or for one longer than the whitespace analyzer keeps whole (255 characters),
    its start and a digest of the rest, so that it stays one position and one exact word. (A
    digest cannot clash with a real word: it follows a ``_``, which words never contain.)"""
    if len(token) <= MAX_TOKEN_CHARS:
        return token
    digest = hashlib.blake2b(token.encode(), digest_size=8).hexdigest()
    return f"{token[:_KEPT_CHARS]}_{digest}"


def _stem(token: str) -> str:
    # A prefix longer than what a long token keeps can only be matched on its kept start.
    return token[:_KEPT_CHARS] if len(token) > _KEPT_CHARS else token


def _any(queries: list[Query]) -> Query:
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries}}


def _text_on(field: str, text: Text) -> Query:
    tokens = [cut(t) for t in text.tokens]
    if len(tokens) == 1:
        if text.prefix:
            return {"prefix": {field: _stem(text.tokens[0])}}
        return {"term": {field: tokens[0]}}
    if not text.prefix:
        return {"match_phrase": {field: " ".join(tokens)}}
    return {"intervals": {field: _source(text)}}


def _source(text: Text) -> Query:
    """The intervals source that matches ``text`` (a word, a phrase, a prefix)."""
    tokens = [cut(t) for t in text.tokens]
    if not text.prefix:
        return {"match": {"query": " ".join(tokens), "max_gaps": 0, "ordered": True}}
    last: Query = {"prefix": {"prefix": _stem(text.tokens[-1])}}
    if len(tokens) == 1:
        return last
    head: Query = {"match": {"query": " ".join(tokens[:-1]), "max_gaps": 0, "ordered": True}}
    return {"all_of": {"intervals": [head, last], "max_gaps": 0, "ordered": True}}


def text_query(text: Text) -> Query:
    return _any([_text_on(field, text) for field in TEXT_FIELDS])


def near_query(node: Near) -> Query:
    clauses: list[Query] = []
    for left, right in product(node.left, node.right):
        if left == right:
            clauses.append(text_query(left))
            continue
        for field in TEXT_FIELDS:
            clauses.append(
                {
                    "intervals": {
                        field: {
                            "all_of": {
                                "intervals": [_source(left), _source(right)],
                                "max_gaps": node.distance,
                                "ordered": False,
                            }
                        }
                    }
                }
            )
    return _any(clauses)


def field_query(node: Field) -> Query:
    match node.name:
        case "lang":
            return {"term": {"search.lang": node.value}}
        case "site":
            return {"term": {"search.sites": node.value}}
        case "author":
            return {"term": {"search.authors": node.value}}
        case "source":
            return _any(
                [{"term": {"search.source": node.value}}, {"term": {"source.kind": node.value}}]
            )
        case "rating":
            op, bound = rating_bound(node.value)
            if op == "=":
                return {"term": {"search.rating": bound}}
            return {"range": {"search.rating": {_RANGE[op]: bound}}}
    raise AssertionError(node.name)  # pragma: no cover


def compile_query(node: Node) -> Query:
    """The DSL query selecting exactly what ``node`` matches (for filter context).

    Each AND, OR and NOT of the tree is one ``bool`` and no more: a NOT inside an AND is a
    ``must_not`` of the AND's ``bool``, the alternatives of an OR under a NOT are each a
    ``must_not`` of it, and a word's two fields join the ``should`` of an OR around it. So the
    query nests as deep as the tree (`ingest.query.limits.MAX_DEPTH`) plus two, within
    Elasticsearch's 30 (``indices.query.bool.max_nested_depth``) with the filters around it.
    """
    match node:
        case Text():
            return text_query(node)
        case Near():
            return near_query(node)
        case Field():
            return field_query(node)
        case And():
            positives = [compile_query(c) for c in node.children if not isinstance(c, Not)]
            excluded = [c.child for c in node.children if isinstance(c, Not)]
            body: dict[str, Any] = {"filter": positives or [{"match_all": {}}]}
            if excluded:
                body["must_not"] = _any_of(excluded)
            return {"bool": body}
        case Or():
            return {"bool": {"should": _any_of(node.children)}}
        case Not():
            return {"bool": {"filter": [{"match_all": {}}], "must_not": _any_of([node.child])}}
    raise AssertionError(node)  # pragma: no cover


def _word(node: Node) -> str | None:
    """The word ``node`` looks up as it is (no phrase, no prefix), as indexed; else None."""
    if isinstance(node, Text) and len(node.tokens) == 1 and not node.prefix:
        return cut(node.tokens[0])
    return None


def _any_of(nodes: Sequence[Node]) -> list[Query]:
    """Clauses of which any one matches where one of ``nodes`` does, for a ``should`` or a
    ``must_not``: the words among them looked up together with one ``terms`` per field, which
    Elasticsearch counts as one clause however many words it holds, and the alternatives of
    each OR among them (or each field of a word) spliced in rather than nested."""
    words = [w for w in map(_word, nodes) if w is not None]
    grouped = len(words) > 1
    clauses: list[Query] = []
    if grouped:
        unique = list(dict.fromkeys(words))
        clauses += [{"terms": {field: unique}} for field in TEXT_FIELDS]
    for n in nodes:
        if grouped and _word(n) is not None:
            continue
        if isinstance(n, Or):
            clauses += _any_of(n.children)
            continue
        query = compile_query(n)
        inner = query.get("bool")
        if inner is not None and list(inner) == ["should"]:
            clauses += inner["should"]
        else:
            clauses.append(query)
    return clauses


def ranking_query(node: Node, language_fields: bool) -> list[Query]:
    """Scoring clauses for relevance order: the positive words, in the title (counted twice)
    and the text, and in the stemmed French and English fields where the cluster has them.

    The words and phrases count in the order they come, as long as `RANKING_CLAUSES` are not
    spent (a ``match`` of n words is n clauses): a query of a thousand terms would otherwise spend
    thousands of the node's clauses (``indices.query.bool.max_clause_count``) on the order
    alone."""
    clauses: list[Query] = []
    budget = RANKING_CLAUSES
    for text in dict.fromkeys(positive_texts(node)):
        stemmed = language_fields and not text.prefix
        cost = 2 + (4 * len(text.tokens) if stemmed else 0)
        if cost > budget:
            continue
        budget -= cost
        words = " ".join(cut(t) for t in text.tokens)
        kind = "match_phrase_prefix" if text.prefix else "match_phrase"
        clauses.append({kind: {"search.title": {"query": words, "boost": 2.0}}})
        clauses.append({kind: {"search.text": {"query": words}}})
        if stemmed:
            for lang in ("fr", "en"):
                clauses.append({"match": {f"title.{lang}": {"query": words, "boost": 0.5}}})
                clauses.append({"match": {f"text.{lang}": {"query": words, "boost": 0.25}}})
    return clauses


def filters_query(filters: Filters) -> Query:
    """The DSL query selecting the mentions ``filters`` selects (for filter context)."""
    clauses: list[Query] = []
    if filters.query is not None:
        clauses.append(compile_query(filters.query))
    if filters.brand:
        clauses.append({"term": {"search.brands": filters.brand.lower()}})
    if filters.sentiment:
        clauses.append({"term": {"search.sentiment": filters.sentiment}})
    if filters.source:
        clauses.append(
            _any(
                [
                    {"term": {"search.source": fold(filters.source)}},
                    {"term": {"source.kind": filters.source.lower()}},
                ]
            )
        )
    if filters.lang:
        clauses.append({"term": {"search.lang": filters.lang.lower()}})
    if filters.since or filters.until:
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if filters.since:
            bounds["gte"] = epoch_ms(filters.since)
        if filters.until:
            bounds["lt"] = epoch_ms(filters.until)
        clauses.append({"range": {"published": bounds}})
    if filters.entity:
        clauses.append({"term": {"search.entities": fold(filters.entity)}})
    if filters.undated:
        clauses.append({"term": {"search.undated": True}})
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
