"""The `Store` protocol: where enriched mentions are kept, searched and counted.

`index` implements it twice, chosen by URL: SQLite with FTS5 (``sqlite://path``) and
Elasticsearch (``http(s)://host:9200``). It is defined here, in the spine, because other stages
are handed a store (enrich for author history, alerts for backtests) and must not import `index`.

Contract, held by `tests/test_store_contract.py` for every implementation:

- `Store.upsert` is idempotent by mention id: writing the same mention twice leaves one copy.
  Of two versions, the one fetched later wins. It returns the mentions the store rejected for
  good, with the reason, and raises `StoreUnavailable` for a passing failure.
- Every read takes the same `Filters`, and the query in them selects the same mentions as the
  in-memory matcher would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from ingest.query.tree import Node
from ingest.record import Mention, SentimentLabel

SortOrder = Literal["date", "relevance"]
Facet = Literal["brand", "sentiment", "source", "site", "author", "lang"]
FACETS: tuple[Facet, ...] = ("brand", "sentiment", "source", "site", "author", "lang")


@dataclass(frozen=True)
class Filters:
    """Which mentions a read is about. Every field narrows; None means any."""

    query: Node | None = None
    brand: str | None = None
    sentiment: SentimentLabel | None = None
    source: str | None = None
    lang: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class SearchPage:
    total: int
    hits: list[Mention]
    page: int
    size: int


@dataclass(frozen=True)
class Bucket:
    """Mentions in one time bucket, by sentiment label (``unknown`` when not scored)."""

    start: datetime
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class TermCount:
    key: str
    count: int


@dataclass(frozen=True)
class SignificantTerm:
    """A word unusually frequent in a selection of mentions compared with a background.

    ``count``: mentions of the selection that have it; ``background``: mentions of the background
    that have it; ``score``: the chi-square statistic of that difference (higher is stronger).
    """

    key: str
    count: int
    background: int
    score: float


@dataclass(frozen=True)
class Rejected:
    """A mention the store refused for good (it goes to ``mentions.dead``)."""

    mention_id: str
    reason: str


class Store(Protocol):
    def setup(self) -> None:
        """Create or migrate what the store needs (idempotent; safe at every start)."""

    def upsert(self, mentions: Sequence[Mention]) -> list[Rejected]:
        """Write ``mentions`` by id; return those refused for good."""

    def get(self, mention_id: str) -> Mention | None: ...

    def search(
        self, filters: Filters, *, sort: SortOrder = "date", page: int = 1, size: int = 20
    ) -> SearchPage: ...

    def count(self, filters: Filters) -> int: ...

    def timeline(self, filters: Filters, interval: timedelta) -> list[Bucket]:
        """Mention counts per ``interval`` bucket, split by sentiment, oldest first."""

    def top(self, filters: Filters, facet: Facet, limit: int = 10) -> list[TermCount]:
        """The most frequent values of ``facet`` (top sites, top authors, counts per brand...),
        most frequent first; mentions without a value are not counted."""

    def significant_terms(
        self, filters: Filters, background: Filters | None = None, limit: int = 10
    ) -> list[SignificantTerm]:
        """The words of the mentions ``filters`` selects (title and text, folded) that are
        over-represented there compared with ``background`` (every mention when None; it should
        include the selection): the emerging terms of a spike, most significant first. Words in
        fewer than 2 selected mentions are ignored; the selection is sampled to its 5,000 most
        recent mentions."""

    def close(self) -> None: ...
