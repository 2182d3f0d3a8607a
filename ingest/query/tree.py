"""The parsed form of a boolean query: a small immutable tree.

The parser (`ingest.query.parser`) builds it once. Three back ends read it: the in-memory matcher
(`ingest.query.matcher`), the SQLite FTS5 compiler and the Elasticsearch compiler (both in
`index`). Words are stored folded (see `ingest.text`), so every back end compares like with like.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

FieldName = Literal["lang", "site", "author", "source", "rating"]
FIELDS: tuple[FieldName, ...] = ("lang", "site", "author", "source", "rating")

Comparison = Literal["<", "<=", "=", ">=", ">"]
_COMPARISON = re.compile(r"(<=|>=|<|>|=)(\d+(?:\.\d+)?)")


def rating_bound(value: str) -> tuple[Comparison, float]:
    """The comparison and the number of a ``rating:`` field's value (``<=2`` as the parser
    writes it): a review's rating out of 5 is compared with the number."""
    found = _COMPARISON.fullmatch(value)
    if found is None:  # pragma: no cover - the parser writes every value in this form
        raise ValueError(f"not a rating comparison: {value!r}")
    return cast(Comparison, found.group(1)), float(found.group(2))


def compare(left: float, op: Comparison, right: float) -> bool:
    match op:
        case "<":
            return left < right
        case "<=":
            return left <= right
        case "=":
            return left == right
        case ">=":
            return left >= right
        case ">":
            return left > right


@dataclass(frozen=True, slots=True)
class Text:
    """A word (one token) or a phrase (several tokens in a row).

    With ``prefix``, the last token matches any word that starts with it: ``acme*``.
    """

    tokens: tuple[str, ...]
    prefix: bool = False

    def __str__(self) -> str:
        body = " ".join(self.tokens)
        star = "*" if self.prefix else ""
        return f'"{body}"{star}' if len(self.tokens) > 1 else f"{body}{star}"


@dataclass(frozen=True, slots=True)
class Field:
    """A filter on a mention's metadata: ``lang:fr``, ``site:example.com``, ``author:"Jo"``,
    ``rating:<=2``."""

    name: FieldName
    value: str

    def __str__(self) -> str:
        value = f'"{self.value}"' if " " in self.value else self.value
        return f"{self.name}:{value}"


@dataclass(frozen=True, slots=True)
class Near:
    """Two groups of alternatives that must occur within ``distance`` words of each other.

    ``a NEAR/5 (b OR c)`` has ``left=(a,)`` and ``right=(b, c)``: it matches when ``a`` is near
    ``b`` or near ``c``, in either order, in the same field (title or text).
    """

    left: tuple[Text, ...]
    right: tuple[Text, ...]
    distance: int

    def __str__(self) -> str:
        def side(texts: tuple[Text, ...]) -> str:
            inner = " OR ".join(str(t) for t in texts)
            return f"({inner})" if len(texts) > 1 else inner

        return f"{side(self.left)} NEAR/{self.distance} {side(self.right)}"


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " AND ".join(str(c) for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " OR ".join(str(c) for c in self.children) + ")"


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def __str__(self) -> str:
        return f"NOT {self.child}"


Node = Text | Field | Near | And | Or | Not


def positive_texts(node: Node) -> Iterator[Text]:
    """The words and phrases that count for a match (not those under NOT): for ranking and
    highlighting."""
    match node:
        case Text():
            yield node
        case Near():
            yield from node.left
            yield from node.right
        case And() | Or():
            for child in node.children:
                yield from positive_texts(child)
        case Field() | Not():
            return


def depth(node: Node) -> int:
    """How many AND, OR and NOT ``node`` nests inside one another (0 for a word, a phrase, a
    field or a NEAR): what `ingest.query.limits.MAX_DEPTH` bounds. Iterative, so it measures
    trees of any depth."""
    deepest = 0
    stack = [(node, 0)]
    while stack:
        current, level = stack.pop()
        match current:
            case And() | Or():
                stack += [(c, level + 1) for c in current.children]
            case Not():
                stack.append((current.child, level + 1))
            case _:
                deepest = max(deepest, level)
    return deepest


def terms(node: Node) -> int:
    """How many searches ``node`` makes: one per word, phrase and field, and one per pair of
    alternatives of a NEAR. What `ingest.query.limits.MAX_TERMS` bounds."""
    count = 0
    stack = [node]
    while stack:
        match current := stack.pop():
            case And() | Or():
                stack += current.children
            case Not():
                stack.append(current.child)
            case Near():
                count += len(current.left) * len(current.right)
            case _:
                count += 1
    return count
