"""Brand matching: which of the configured brands a mention is about, by each brand's query."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.query import And, Doc, Field, Node, Not, Or, matches
from ingest.record import Mention
from ingest.settings import Brand


def reads_lang(node: Node) -> bool:
    """Whether the query ``node`` has a ``lang:`` term anywhere (under NOT included)."""
    stack = [node]
    while stack:
        match current := stack.pop():
            case Field():
                if current.name == "lang":
                    return True
            case And() | Or():
                stack += current.children
            case Not():
                stack.append(current.child)
    return False


class BrandMatcher:
    def __init__(self, brands: Sequence[Brand]) -> None:
        self._rules = [(b.name, b.tree) for b in brands]
        self.reads_lang = any(reads_lang(tree) for _, tree in self._rules)
        """Whether a query needs the mention's language: else it is detected only for the
        mentions that are about a brand."""

    def match(self, mention: Mention, lang: str | None) -> tuple[str, ...]:
        """The names of the brands whose query ``mention`` satisfies, in configuration order.
        ``lang``: the detected language (None: the declared one, enough when no query reads
        it, see `reads_lang`)."""
        doc = Doc.of(mention, lang)
        return tuple(name for name, tree in self._rules if matches(tree, doc))
