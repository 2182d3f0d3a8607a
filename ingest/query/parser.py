"""Parse the boolean query language into a tree (`ingest.query.tree`).

Grammar, loosest binding first::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms are ANDed
    unary   := "NOT" unary | near
    near    := primary ("NEAR/" n primary)?    operands: words, phrases, or OR-groups of them
    primary := "(" or ")" | WORD ["*"] | '"' PHRASE '"' ["*"] | FIELD ":" (WORD | '"' PHRASE '"')

Operators are uppercase (``and``/``or`` in lowercase are ordinary words, as ``or`` is in French).
Fields: ``lang:``, ``site:``, ``author:``, ``source:``, ``rating:`` (``rating:<=2``: a review's
rating out of 5, compared with ``<``, ``<=``, ``=``, ``>=``, ``>``; ``rating:4`` is ``=4``).
Every error is a `QuerySyntaxError` that points at the character where the problem is.

The parser reads the tokens in one loop with a stack of open parentheses, not by recursion, so no
input can exhaust Python's stack however deeply it nests. It hands the back ends a tree in a
normal form, which is what the limits of `ingest.query.limits` are counted on: an AND directly
inside an AND is merged into it (likewise OR), and ``NOT NOT a`` is ``a``, so redundant
parentheses and double negations cost nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal, cast

from ingest.errors import QuerySyntaxError
from ingest.query.limits import MAX_DEPTH, MAX_LENGTH, MAX_NEAR, MAX_TERMS
from ingest.query.tree import FIELDS, And, Field, FieldName, Near, Node, Not, Or, Text
from ingest.text import fold, tokenize

TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "WORD", "PHRASE", "FIELD", "EOF"]

_NEAR = re.compile(r"NEAR/([0-9]+)")
_RATING = re.compile(r"(<=|>=|<|>|=)?\s*(\d{1,3}(?:[.,]\d{1,3})?)")
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_LANG = re.compile(r"[a-z]{2,3}")
_SHOWN = 40


def _shown(text: str) -> str:
    """``text`` as an error message quotes it: a long one is cut."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    pos: int
    prefix: bool = False
    field: str = ""
    distance: int = 0


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)

    def read_phrase(start: int) -> tuple[str, int, bool]:
        end = query.find('"', start + 1)
        if end < 0:
            raise QuerySyntaxError("unterminated phrase: missing closing '\"'", query, start)
        prefix = end + 1 < n and query[end + 1] == "*"
        return query[start + 1 : end], end + 1 + prefix, prefix

    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c in "()":
            tokens.append(_Token(cast(TokenKind, c), c, i))
            i += 1
        elif c == '"':
            body, i_next, prefix = read_phrase(i)
            tokens.append(_Token("PHRASE", body, i, prefix=prefix))
            i = i_next
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in '()"':
                i += 1
            word = query[start:i]
            if word in ("AND", "OR", "NOT"):
                tokens.append(_Token(cast(TokenKind, word), word, start))
            elif word.startswith("NEAR"):
                near = _NEAR.fullmatch(word)
                if not near:
                    raise QuerySyntaxError(
                        "NEAR needs a distance in words, as in NEAR/5", query, start
                    )
                digits = near.group(1).lstrip("0") or "0"
                # Compared as text first: a distance of a thousand digits is no integer to build.
                if len(digits) > len(str(MAX_NEAR)) or int(digits) > MAX_NEAR:
                    raise QuerySyntaxError(
                        f"NEAR distance must be at most {MAX_NEAR}", query, start + 5
                    )
                tokens.append(_Token("NEAR", word, start, distance=int(digits)))
            elif (found := _FIELD.fullmatch(word)) is not None:
                name, value = found.group(1).lower(), found.group(2)
                if name not in FIELDS:
                    raise QuerySyntaxError(
                        f"unknown field '{_shown(found.group(1))}' (fields are "
                        f"{', '.join(FIELDS)}); to search the text, quote it",
                        query,
                        start,
                    )
                if not value and i < n and query[i] == '"':
                    value, i, _ = read_phrase(i)
                if not value:
                    raise QuerySyntaxError(f"'{name}:' needs a value", query, start)
                tokens.append(_Token("FIELD", value, start, field=name))
            else:
                prefix = word.endswith("*")
                stem = word.rstrip("*") if prefix else word
                if "*" in stem:
                    raise QuerySyntaxError(
                        "'*' is allowed only at the end of a word", query, start + stem.index("*")
                    )
                tokens.append(_Token("WORD", stem, start, prefix=prefix))
    tokens.append(_Token("EOF", "", n))
    return tokens


def _normalize_field(name: FieldName, raw: str, query: str, pos: int) -> Field:
    value = raw.strip()
    if name == "lang":
        value = value.lower()
        if not _LANG.fullmatch(value):
            raise QuerySyntaxError(
                f"lang: expects a language code such as fr or en, not '{_shown(raw)}'", query, pos
            )
    elif name == "rating":
        found = _RATING.fullmatch(value)
        number = float(found.group(2).replace(",", ".")) if found else -1.0
        if found is None or not 0 <= number <= 5:
            raise QuerySyntaxError(
                f"rating: expects a comparison with a rating out of 5 such as <=2 or >=4, not "
                f"'{_shown(raw)}'",
                query,
                pos,
            )
        value = f"{found.group(1) or '='}{number:g}"
    elif name == "site":
        value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.lower())
        value = value.split("/", 1)[0].split(":", 1)[0].removeprefix("www.").strip(".")
        if not value or " " in value:
            raise QuerySyntaxError(
                f"site: expects a domain such as example.com, not '{_shown(raw)}'", query, pos
            )
    else:
        value = fold(value)
        if not value:
            raise QuerySyntaxError(
                f"{name}: needs letters or digits, not '{_shown(raw)}'", query, pos
            )
    return Field(name, value)


@dataclass(frozen=True, slots=True)
class _Operand:
    """A parsed sub-tree, with its depth (operators inside one another) and where it starts."""

    node: Node
    depth: int
    pos: int


@dataclass(slots=True)
class _Group:
    """What is parsed so far between a ``(`` (``opened``; None at the top) and its ``)``."""

    opened: _Token | None
    alternatives: list[_Operand] = field(default_factory=list)
    """The operands of the OR, each an AND of ``conjuncts``."""
    conjuncts: list[_Operand] = field(default_factory=list)
    nots: int = 0
    """The NOTs read before the operand being parsed, and where the first one is."""
    not_pos: int = 0
    near: _Token | None = None
    """A NEAR read after ``near_left``, waiting for its right operand."""
    near_left: _Operand | None = None


def _merged(kind: type[And] | type[Or], operands: list[_Operand], query: str, pos: int) -> _Operand:
    """``operands`` joined by ``kind`` (AND or OR), those of the same kind merged in."""
    if len(operands) == 1:
        return operands[0]
    children: list[Node] = []
    depth = 0
    for operand in operands:
        if isinstance(operand.node, kind):
            children += operand.node.children
            depth = max(depth, operand.depth)
        else:
            children.append(operand.node)
            depth = max(depth, operand.depth + 1)
    if depth > MAX_DEPTH:
        raise _too_deep(query, pos)
    return _Operand(kind(tuple(children)), depth, operands[0].pos)


def _too_deep(query: str, pos: int) -> QuerySyntaxError:
    return QuerySyntaxError(
        f"the query nests AND, OR and NOT more than {MAX_DEPTH} levels deep from here: "
        f"write it flatter",
        query,
        pos,
    )


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.terms = 0
        self.over: int | None = None
        """Where the count of terms went past `MAX_TERMS` (None while it has not)."""

    def error(self, message: str, token: _Token) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, token.pos)

    def count(self, terms: int, pos: int) -> None:
        self.terms += terms
        if self.terms <= MAX_TERMS:
            self.over = None
        elif self.over is None:
            self.over = pos

    def parse(self) -> Node:
        tokens = self.tokens
        if tokens[0].kind == "EOF":
            raise self.error("empty query: write the words to look for", tokens[0])
        groups = [_Group(None)]
        operand: _Operand | None = None  # read, but a NEAR may still follow it
        i = 0
        while True:
            tok, group = tokens[i], groups[-1]
            if operand is None:  # an operand must start here
                if tok.kind == "NOT" and group.near is None:
                    if not group.nots:
                        group.not_pos = tok.pos
                    group.nots += 1
                elif tok.kind == "(":
                    groups.append(_Group(tok))
                elif tok.kind == ")" and i and tokens[i - 1].kind == "(":
                    raise self.error("empty parentheses", tok)
                elif tok.kind in ("WORD", "PHRASE", "FIELD"):
                    operand = self.term(tok)
                elif tok.kind == "EOF":
                    after = _shown(tokens[i - 1].text)
                    raise self.error(f"the query ends after '{after}': a term is missing", tok)
                else:
                    raise self.error(
                        f"expected a word, a phrase, a field or '(' before '{_shown(tok.text)}'",
                        tok,
                    )
                i += 1
                continue
            if tok.kind == "NEAR":
                if group.near is not None:
                    raise self.error("NEAR cannot be chained; combine two NEARs with AND", tok)
                group.near, group.near_left, operand = tok, operand, None
                i += 1
                continue
            group.conjuncts.append(self.negated(group, self.near(group, operand)))
            operand = None
            if tok.kind == "AND":
                i += 1
            elif tok.kind == "OR":
                group.alternatives.append(self.joined(And, group.conjuncts))
                group.conjuncts = []
                i += 1
            elif tok.kind == ")":
                if group.opened is None:
                    raise self.error("unexpected ')' with no '(' to close", tok)
                groups.pop()
                inner = self.close(group)
                operand = _Operand(inner.node, inner.depth, group.opened.pos)
                i += 1
            elif tok.kind == "EOF":
                if group.opened is not None:
                    raise self.error(
                        f"the '(' at position {group.opened.pos} is never closed: missing ')'",
                        tok,
                    )
                return self.finish(self.close(group))
            # Any other token starts the next operand of an implicit AND.

    def term(self, tok: _Token) -> _Operand:
        """A word, a phrase or a field."""
        self.count(1, tok.pos)
        if tok.kind == "FIELD":
            node: Node = _normalize_field(cast(FieldName, tok.field), tok.text, self.query, tok.pos)
            return _Operand(node, 0, tok.pos)
        words = tokenize(tok.text)
        if not words:
            raise self.error(f"'{_shown(tok.text)}' has no letters or digits to search for", tok)
        return _Operand(Text(tuple(words), tok.prefix), 0, tok.pos)

    def near(self, group: _Group, right: _Operand) -> _Operand:
        """``right``, or if it ends a NEAR, the NEAR."""
        left, near = group.near_left, group.near
        if left is None or near is None:
            return right
        group.near = group.near_left = None
        sides = self.near_operand(left), self.near_operand(right)
        pairs = len(sides[0]) * len(sides[1])
        self.count(pairs - len(sides[0]) - len(sides[1]), near.pos)
        return _Operand(Near(sides[0], sides[1], near.distance), 0, left.pos)

    def near_operand(self, operand: _Operand) -> tuple[Text, ...]:
        node = operand.node
        if isinstance(node, Text):
            return (node,)
        if isinstance(node, Or) and all(isinstance(c, Text) for c in node.children):
            return cast(tuple[Text, ...], node.children)
        raise QuerySyntaxError(
            "NEAR joins words, phrases or OR-groups of them, not fields, AND or NOT",
            self.query,
            operand.pos,
        )

    def negated(self, group: _Group, operand: _Operand) -> _Operand:
        """``operand`` under the NOTs read before it: one if they are odd, none if even."""
        nots, group.nots = group.nots, 0
        if nots % 2 == 0:
            return operand
        if isinstance(operand.node, Not):
            return _Operand(operand.node.child, operand.depth - 1, group.not_pos)
        # Its depth is checked where it is used: a NOT around it may still cancel it.
        return _Operand(Not(operand.node), operand.depth + 1, group.not_pos)

    def joined(self, kind: type[And] | type[Or], operands: list[_Operand]) -> _Operand:
        return _merged(kind, operands, self.query, operands[0].pos)

    def close(self, group: _Group) -> _Operand:
        """The OR of everything read in ``group``."""
        group.alternatives.append(self.joined(And, group.conjuncts))
        pos = group.opened.pos if group.opened else group.alternatives[0].pos
        return _merged(Or, group.alternatives, self.query, pos)

    def finish(self, result: _Operand) -> Node:
        if result.depth > MAX_DEPTH:
            raise _too_deep(self.query, result.pos)
        if self.over is not None:
            raise QuerySyntaxError(
                f"the query has {self.terms:,} terms, at most {MAX_TERMS:,} (words, phrases and "
                f"fields; a NEAR counts each pair of its alternatives): split it",
                self.query,
                self.over,
            )
        return result.node


def parse(query: str) -> Node:
    """Parse ``query`` into a tree; raise `QuerySyntaxError` pointing at the problem, or at
    where the query passes one of the limits of `ingest.query.limits`."""
    if len(query) > MAX_LENGTH:
        raise QuerySyntaxError(
            f"the query is {len(query):,} characters long, at most {MAX_LENGTH:,}: split it",
            query,
            MAX_LENGTH,
        )
    return _Parser(query).parse()
