"""Compile a query tree, and the `Filters` around it, to a SQLite ``WHERE`` clause over the
``mentions`` table and its FTS5 index.

FTS5 has its own boolean syntax, but it cannot say everything the query language says: its NOT is
binary (``a NOT b``), it knows nothing of the metadata fields, and NEAR takes phrases only. So the
compiler puts the largest sub-trees it can into FTS5 ``MATCH`` expressions, which are fast, and
joins them with plain SQL where it must:

- words and phrases become FTS5 strings (already folded, see `ingest.text`), ``*`` stays a prefix;
- ``a NEAR/n (b OR c)`` becomes ``NEAR("a" "b", n) OR NEAR("a" "c", n)``;
- an AND whose negated children are themselves expressible becomes ``(p AND q) NOT (r)``;
- fields become column comparisons, a lone NOT becomes SQL ``NOT``.

`filters_where` adds what `ingest.store.Filters` narrows to besides the query: brand, sentiment,
source, language, dates, and the entity (``mention_entities``: folded canonical names).

The answers are held to the in-memory matcher's by `tests/test_query_consistency.py`.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from index.base import epoch_ms
from index.sqlite import schema
from index.sqlite.schema import FTS_TABLE
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

_IN_FTS = f"m.rowid IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?)"
_CHAIN = 100


def _text(text: Text) -> str:
    return '"' + " ".join(text.tokens) + '"' + ("*" if text.prefix else "")


def fts_expression(node: Node) -> str | None:
    """The FTS5 MATCH expression for ``node``, or None if FTS5 cannot express it alone."""
    match node:
        case Text():
            return _text(node)
        case Near():
            nears = [
                f"NEAR({_text(a)} {_text(b)}, {node.distance})"
                for a, b in product(node.left, node.right)
            ]
            return nears[0] if len(nears) == 1 else "(" + " OR ".join(nears) + ")"
        case And():
            positives: list[str] = []
            negatives: list[str] = []
            for child in node.children:
                if isinstance(child, Not):
                    inner = fts_expression(child.child)
                    if inner is None:
                        return None
                    negatives.append(inner)
                else:
                    expr = fts_expression(child)
                    if expr is None:
                        return None
                    positives.append(expr)
            if not positives:
                return None
            if not negatives:
                return "(" + " AND ".join(positives) + ")"
            # One NOT of the negatives' OR: a chain of binary NOTs would nest one level each,
            # and FTS5 refuses an expression more than 256 deep. (NOT binds tighter than AND:
            # ``a AND b NOT c`` is ``a AND (b NOT c)``, the same mentions.)
            excluded = negatives[0] if len(negatives) == 1 else "(" + " OR ".join(negatives) + ")"
            return "(" + " AND ".join(positives) + f" NOT {excluded})"
        case Or():
            parts = [fts_expression(c) for c in node.children]
            if any(p is None for p in parts):
                return None
            return "(" + " OR ".join(p for p in parts if p) + ")"
        case Field() | Not():
            return None
    return None  # pragma: no cover


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _field(node: Field) -> tuple[str, list[object]]:
    match node.name:
        case "lang":
            return "m.lang = ?", [node.value]
        case "site":
            return "(m.site = ? OR m.site LIKE ? ESCAPE '\\')", [
                node.value,
                "%." + _like_escape(node.value),
            ]
        case "author":
            # IS, not =: a mention without a handle (NULL) must be FALSE, not NULL, or
            # ``NOT author:x`` would drop it too.
            return "(m.author_name IS ? OR m.author_handle IS ?)", [node.value, node.value]
        case "source":
            return "(m.source_key = ? OR m.source_kind = ?)", [node.value, node.value]
        case "rating":
            # COALESCE: a mention without a rating is FALSE, not NULL (see author).
            op, bound = rating_bound(node.value)
            return f"COALESCE(m.rating {op} ?, 0)", [bound]
    raise AssertionError(node.name)  # pragma: no cover


def compile_where(node: Node) -> tuple[str, list[object]]:
    """A SQL boolean expression (over ``mentions m``) selecting what ``node`` matches.

    Every expression it returns stands alone next to AND, OR and NOT (a comparison, an ``IN``, a
    ``NOT``, or in parentheses), so it adds one level of parentheses per level of the tree, no
    more: SQLite's parser overflows past about 30.
    """
    expr = fts_expression(node)
    if expr is not None:
        return _IN_FTS, [expr]
    match node:
        case Field():
            return _field(node)
        case Not():
            sql, params = compile_where(node.child)
            return f"NOT {sql}", params
        case And() | Or():
            # Group the children FTS5 can take into one MATCH; compile the others to SQL.
            pure = [c for c in node.children if fts_expression(c) is not None]
            rest = [c for c in node.children if fts_expression(c) is None]
            if isinstance(node, And):
                # A negation FTS5 can express is folded into the MATCH when it has a positive.
                negs = [c for c in rest if isinstance(c, Not) and fts_expression(c.child)]
                if pure and negs:
                    pure += negs
                    rest = [c for c in rest if c not in negs]
            sqls: list[str] = []
            group_params: list[object] = []
            if pure:
                grouped: Node = pure[0] if len(pure) == 1 else type(node)(tuple(pure))
                sqls.append(_IN_FTS)
                group_params.append(fts_expression(grouped))
            for child in rest:
                child_sql, child_params = compile_where(child)
                sqls.append(child_sql)
                group_params += child_params
            return _joined(" AND " if isinstance(node, And) else " OR ", sqls), group_params
    raise AssertionError(node)  # pragma: no cover


def _joined(joiner: str, sqls: list[str]) -> str:
    """``sqls`` joined, in parentheses. SQLite nests ``a OR b OR c`` one level per operand and
    refuses an expression more than 1,000 deep, so a long chain is cut into chains of
    `_CHAIN`."""
    while len(sqls) > _CHAIN:
        sqls = ["(" + joiner.join(sqls[i : i + _CHAIN]) + ")" for i in range(0, len(sqls), _CHAIN)]
    return "(" + joiner.join(sqls) + ")"


def rank_expression(node: Node) -> str | None:
    """An FTS5 expression of every positive word of the query, to rank matches by bm25."""
    texts = list(dict.fromkeys(positive_texts(node)))
    if not texts:
        return None
    return " OR ".join(_text(t) for t in texts)


def filters_where(filters: Filters, *, by_date: bool = False) -> tuple[str, list[Any]]:
    """A SQL boolean expression (over ``mentions m``) selecting what ``filters`` selects.

    ``by_date``: the mentions are to be walked in the order of ``mentions_published_id`` (a
    scan in date order, or a period of an hour), and a brand or an entity only checks each one
    (one seek). Left to itself, SQLite lists all the brand's mentions first, which are many (it
    knows no better without statistics), then sorts them, or looks each one up for its date."""

    def tagged(table: str, column: str) -> str:
        if by_date:
            return f"EXISTS (SELECT 1 FROM {table} WHERE {column} = ? AND mention = m.rowid)"
        return f"m.rowid IN (SELECT mention FROM {table} WHERE {column} = ?)"

    clauses: list[str] = []
    params: list[Any] = []
    if filters.query is not None:
        sql, query_params = compile_where(filters.query)
        clauses.append(sql)
        params += query_params
    if filters.brand:
        clauses.append(tagged("mention_brands", "brand"))
        params.append(filters.brand)
    if filters.sentiment:
        clauses.append("m.sentiment = ?")
        params.append(filters.sentiment)
    if filters.source:
        clauses.append("(m.source_key = ? OR m.source_kind = ?)")
        params += [fold(filters.source), filters.source.lower()]
    if filters.lang:
        clauses.append("m.lang = ?")
        params.append(filters.lang.lower())
    if filters.since:
        clauses.append("m.published >= ?")
        params.append(epoch_ms(filters.since))
    if filters.until:
        clauses.append("m.published < ?")
        params.append(epoch_ms(filters.until))
    if filters.entity:
        clauses.append(tagged("mention_entities", "entity"))
        params.append(fold(filters.entity))
    if filters.undated:
        clauses.append(schema.undated("m.doc"))
    return (" AND ".join(clauses) or "1"), params
