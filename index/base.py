"""What the two stores share: `BaseStore`, the shape of both, and the arithmetic they must do
alike.

`index.sqlite.SqliteStore` and `index.elastic.ElasticStore` each own the mentions themselves and
hold the two indexes enrich keeps as parts built over the same connection: ``author_index`` (an
`AuthorIndex`) and ``cluster_index`` (a `ClusterIndex`). `BaseStore` hands every call of those
protocols to its part, so that a store is still one object that is a whole `Store`, and makes
each store a context manager that closes it.

The helpers are where the two stores must agree to the letter: times as epoch milliseconds, the
nearest rank of a percentile, and significant terms (Elasticsearch computes the chi-square
statistic itself, SQLite with `chi_square`, over the same sample and the same minimum count).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from ingest.closing import Closing
from ingest.record import Mention
from ingest.store import (
    AuthorActivity,
    AuthorEdge,
    AuthorIndex,
    AuthorScore,
    AuthorStats,
    Bucket,
    ClusterIndex,
    Distinct,
    Facet,
    Figures,
    Filters,
    RankedAuthor,
    Signature,
    TermCount,
    export_line,
)

T = TypeVar("T")
A = TypeVar("A", bound=AuthorIndex)
C = TypeVar("C", bound=ClusterIndex)

SIGNIFICANT_SAMPLE = 5_000
"""Significant terms are computed over the selection's most recent mentions, this many."""
SIGNIFICANT_MIN_COUNT = 2
"""A word in fewer selected mentions than this is never significant."""


class BaseStore(Closing, ABC, Generic[A, C]):
    """A store made of its mention part (the subclass) and its author and cluster parts."""

    def __init__(self, author_index: A, cluster_index: C) -> None:
        self.author_index = author_index
        self.cluster_index = cluster_index

    @abstractmethod
    def close(self) -> None: ...

    # -- exports -------------------------------------------------------------------------------

    @abstractmethod
    def scan(self, filters: Filters, *, batch: int = 500) -> Iterator[list[Mention]]: ...

    def fields(self, filters: Filters, *, batch: int = 500) -> Iterator[list[dict[str, Any]]]:
        """`MentionStore.fields` from `scan`: a store that keeps the JSON overrides it."""
        for mentions in self.scan(filters, batch=batch):
            yield [m.model_dump(mode="json", exclude_none=True) for m in mentions]

    def export(self, filters: Filters, *, batch: int = 500) -> Iterator[list[str]]:
        """`MentionStore.export` from `fields`."""
        for rows in self.fields(filters, batch=batch):
            yield [export_line(row) for row in rows]

    # -- figures -------------------------------------------------------------------------------

    @abstractmethod
    def count(self, filters: Filters, *, distinct: Distinct = None) -> int: ...

    @abstractmethod
    def timeline(
        self, filters: Filters, interval: timedelta, *, distinct: Distinct = None
    ) -> list[Bucket]: ...

    @abstractmethod
    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]: ...

    def figures(
        self,
        filters: Filters,
        *,
        interval: timedelta | None = None,
        facets: Sequence[Facet] = (),
        limit: int = 10,
        distinct: Distinct = None,
    ) -> Figures:
        """`MentionStore.figures` from `count`, `timeline` and `top`: a store that can read
        them together faster says so by overriding it."""
        return Figures(
            total=self.count(filters, distinct=distinct),
            timeline=self.timeline(filters, interval, distinct=distinct) if interval else [],
            tops={facet: self.top(filters, facet, limit, distinct=distinct) for facet in facets},
        )

    # -- the author index ----------------------------------------------------------------------

    def record_authors(self, activity: Sequence[AuthorActivity]) -> list[AuthorStats]:
        return self.author_index.record_authors(activity)

    def authors(self, keys: Sequence[str]) -> list[AuthorStats]:
        return self.author_index.authors(keys)

    def save_author_scores(self, scores: Sequence[AuthorScore]) -> None:
        self.author_index.save_author_scores(scores)

    def author_edges(self) -> list[AuthorEdge]:
        return self.author_index.author_edges()

    def author_score_at(self, percentile: float) -> float | None:
        return self.author_index.author_score_at(percentile)

    def top_authors(self, filters: Filters, limit: int = 10) -> list[RankedAuthor]:
        return self.author_index.top_authors(filters, limit)

    # -- the cluster index ---------------------------------------------------------------------

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        return self.cluster_index.assign_clusters(signatures)


def epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def from_epoch_ms(value: float) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def chunks(values: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``: small enough for one request, or for an ``IN (...)``
    list (SQLite binds at most 32,766 values)."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def nearest_rank(percentile: float, total: int) -> int:
    """The 1-based rank of ``percentile`` (0-100, clamped) among ``total`` values, nearest-rank
    method: what `AuthorIndex.author_score_at` reads."""
    return max(1, math.ceil(min(100.0, max(0.0, percentile)) / 100 * total))


def chi_square(subset_freq: int, subset_size: int, superset_freq: int, superset_size: int) -> float:
    """Elasticsearch's ``chi_square`` significance heuristic (the background includes the
    subset; negatives excluded), so that both stores rank emerging terms alike. 0 when there is
    no contrast to measure, -inf when the word is rarer in the subset than outside it."""
    outside = superset_size - subset_size
    outside_freq = superset_freq - subset_freq
    without_term = superset_size - superset_freq
    if min(subset_size, outside, superset_freq, without_term) <= 0:
        return 0.0
    if subset_freq / subset_size < outside_freq / outside:
        return float("-inf")
    inside_without = subset_size - subset_freq
    outside_without = outside - outside_freq
    spread = (subset_freq * outside_without - inside_without * outside_freq) ** 2
    return superset_size * spread / (subset_size * superset_freq * without_term * outside)
