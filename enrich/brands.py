"""Brand matching: which of the configured brands a mention is about, by each brand's query."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.query import Doc, matches
from ingest.record import Mention
from ingest.settings import Brand


class BrandMatcher:
    def __init__(self, brands: Sequence[Brand]) -> None:
        self._rules = [(b.name, b.tree) for b in brands]

    def match(self, mention: Mention, lang: str) -> tuple[str, ...]:
        """The names of the brands whose query ``mention`` satisfies, in configuration order."""
        doc = Doc.of(mention, lang)
        return tuple(name for name, tree in self._rules if matches(tree, doc))
