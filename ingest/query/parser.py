"""Parse the boolean query language into a tree (`ingest.query.tree`).

Grammar, loosest binding first::

    query   := or EOF
    or      := and ("OR" and)*
    and     := unary (["AND"] unary)*          adjacent terms are ANDed
    unary   := "NOT" unary | near
    near    := primary ("NEAR/" n primary)?    operands: words, phrases, or OR-groups of them
    primary := "(" or ")" | WORD ["*"] | '"' PHRASE '"' ["*"] | FIELD ":" (WORD | '"' PHRASE '"')

Operators are uppercase (``and``/``or`` in lowercase are ordinary words, as ``or`` is in French).
Fields: ``lang:``, ``site:``, ``author:``, ``source:``. Every error is a `QuerySyntaxError` that
points at the character where the problem is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from ingest.errors import QuerySyntaxError
from ingest.query.tree import FIELDS, And, Field, FieldName, Near, Node, Not, Or, Text
from ingest.text import fold, tokenize

TokenKind = Literal["(", ")", "AND", "OR", "NOT", "NEAR", "WORD", "PHRASE", "FIELD", "EOF"]

_NEAR = re.compile(r"NEAR/(\d+)")
_FIELD = re.compile(r"([A-Za-z]+):(.*)", re.DOTALL)
_LANG = re.compile(r"[a-z]{2,3}")
_MAX_NEAR = 1000


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
                distance = int(near.group(1))
                if distance > _MAX_NEAR:
                    raise QuerySyntaxError(
                        f"NEAR distance must be at most {_MAX_NEAR}", query, start + 5
                    )
                tokens.append(_Token("NEAR", word, start, distance=distance))
            elif (field := _FIELD.fullmatch(word)) is not None:
                name, value = field.group(1).lower(), field.group(2)
                if name not in FIELDS:
                    raise QuerySyntaxError(
                        f"unknown field '{field.group(1)}' (fields are "
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
                f"lang: expects a language code such as fr or en, not '{raw}'", query, pos
            )
    elif name == "site":
        value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value.lower())
        value = value.split("/", 1)[0].split(":", 1)[0].removeprefix("www.").strip(".")
        if not value or " " in value:
            raise QuerySyntaxError(
                f"site: expects a domain such as example.com, not '{raw}'", query, pos
            )
    else:
        value = fold(value)
        if not value:
            raise QuerySyntaxError(f"{name}: needs letters or digits, not '{raw}'", query, pos)
    return Field(name, value)


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def kind(self) -> TokenKind:
        # A method, not a property: the kind changes as the parser advances, so type checkers
        # must not narrow it across calls.
        return self.tokens[self.i].kind

    def error(self, message: str, token: _Token | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, (token or self.tok).pos)

    def parse(self) -> Node:
        if self.kind() == "EOF":
            raise self.error("empty query: write the words to look for")
        node = self.parse_or()
        if self.kind() == ")":
            raise self.error("unexpected ')' with no '(' to close")
        if self.kind() != "EOF":
            raise self.error(f"unexpected '{self.tok.text}'")
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.kind() == "OR":
            self.i += 1
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while self.kind() not in ("OR", ")", "EOF"):
            if self.kind() == "AND":
                self.i += 1
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        if self.kind() == "NOT":
            self.i += 1
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        left_tok = self.tok
        left = self.parse_primary()
        if self.kind() != "NEAR":
            return left
        near = self.tok
        self.i += 1
        right_tok = self.tok
        right = self.parse_primary()
        if self.kind() == "NEAR":
            raise self.error("NEAR cannot be chained; combine two NEARs with AND")
        return Near(
            self.near_operand(left, left_tok), self.near_operand(right, right_tok), near.distance
        )

    def near_operand(self, node: Node, token: _Token) -> tuple[Text, ...]:
        if isinstance(node, Text):
            return (node,)
        if isinstance(node, Or) and all(isinstance(c, Text) for c in node.children):
            return cast(tuple[Text, ...], node.children)
        raise self.error(
            "NEAR joins words, phrases or OR-groups of them, not fields, AND or NOT", token
        )

    def parse_primary(self) -> Node:
        tok = self.tok
        match tok.kind:
            case "(":
                self.i += 1
                if self.kind() == ")":
                    raise self.error("empty parentheses")
                node = self.parse_or()
                if self.kind() != ")":
                    raise self.error(f"the '(' at position {tok.pos} is never closed: missing ')'")
                self.i += 1
                return node
            case "WORD" | "PHRASE":
                self.i += 1
                words = tokenize(tok.text)
                if not words:
                    raise self.error(f"'{tok.text}' has no letters or digits to search for", tok)
                return Text(tuple(words), tok.prefix)
            case "FIELD":
                self.i += 1
                return _normalize_field(cast(FieldName, tok.field), tok.text, self.query, tok.pos)
            case "EOF":
                after = self.tokens[self.i - 1].text if self.i else ""
                raise self.error(f"the query ends after '{after}': a term is missing")
            case _:
                raise self.error(f"expected a word, a phrase, a field or '(' before '{tok.text}'")


def parse(query: str) -> Node:
    """Parse ``query`` into a tree; raise `QuerySyntaxError` pointing at the problem."""
    return _Parser(query).parse()
