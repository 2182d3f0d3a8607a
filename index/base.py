"""What the two stores share: `BaseStore`, the shape of both, and the arithmetic they must do
alike.

`index.sqlite.SqliteStore` and `index.elastic.ElasticStore` each own the mentions themselves and
hold the two indexes enrich keeps as parts built over the same connection: ``author_index`` (an
`AuthorIndex`) and ``cluster_index`` (a `ClusterIndex`). `BaseStore` hands every call of those
protocols to its part, so that a store is still one object that is a whole `Store`, and makes
each store a context manager that closes it.

The helpers are where the two stores must agree to the letter: times as epoch milliseconds, local
days (`local_bucket`: midnight in the reader's zone, weeks from Monday), the nearest rank of a
percentile, and significant terms (Elasticsearch computes the chi-square
statistic itself, SQLite with `chi_square`, over the same sample and the same minimum count).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

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
        self,
        filters: Filters,
        interval: timedelta,
        *,
        distinct: Distinct = None,
        zone: ZoneInfo | None = None,
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
        zone: ZoneInfo | None = None,
    ) -> Figures:
        """`MentionStore.figures` from `count`, `timeline` and `top`: a store that can read
        them together faster says so by overriding it."""
        timeline = (
            self.timeline(filters, interval, distinct=distinct, zone=zone) if interval else []
        )
        return Figures(
            total=self.count(filters, distinct=distinct),
            timeline=timeline,
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


# -- local days ---------------------------------------------------------------------------------

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MONDAY = date(2001, 1, 1)
"""Buckets of several local days are counted from this Monday, so weeks start on Monday."""
MONDAY_DAY = (MONDAY - date(1970, 1, 1)).days
"""`MONDAY` as a day number since 1970-01-01."""


def local_days(interval: timedelta, zone: ZoneInfo | None) -> int:
    """How many local days an ``interval`` bucket spans in ``zone``; 0 when it is counted on
    the epoch instead (no zone, or not a whole number of days)."""
    if zone is None or interval <= timedelta(0) or interval % DAY:
        return 0
    return interval // DAY


def local_bucket(moment: datetime, interval: timedelta, zone: ZoneInfo) -> datetime:
    """The start of the ``interval`` bucket (a whole number of days) that holds ``moment``, at
    local midnight in ``zone``; buckets of 7 days start on Monday."""
    day = moment.astimezone(zone).date()
    offset = (day - MONDAY).days % (interval // DAY)
    return datetime.combine(day - timedelta(days=offset), time(), zone)


def regroup(hours: Iterable[Bucket], interval: timedelta, zone: ZoneInfo) -> list[Bucket]:
    """Hourly buckets summed into local buckets of ``interval`` (whole days): exact for every
    zone whose offset is a whole number of hours (Europe/Paris among them)."""
    sums: dict[datetime, Counter[str]] = {}
    for bucket in hours:
        start = local_bucket(bucket.start, interval, zone)
        sums.setdefault(start, Counter()).update(bucket.counts)
    return [Bucket(start, dict(counts)) for start, counts in sorted(sums.items())]


def utc_offsets(zone: ZoneInfo, since: datetime, until: datetime) -> list[tuple[int, int]]:
    """``zone``'s UTC offset from ``since`` to ``until``: ``(from, offset)`` pairs in epoch
    milliseconds, the first from ``since``, one more at each change (DST) before ``until``.
    Offsets are probed every 6 hours and each change is found to the second: zones change at
    most a few times a year."""
    start, end = int(since.timestamp()), int(until.timestamp())

    def offset(second: int) -> int:
        delta = datetime.fromtimestamp(second, UTC).astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    out = [(start * 1000, offset(start) * 1000)]
    probe = 6 * 3600
    here = start
    while here < end:
        there = min(here + probe, end)
        if offset(there) != offset(here):
            low, high = here, there  # offset(low) is the old one, offset(high) the new one
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(middle) == offset(here) else (low, middle)
            out.append((high * 1000, offset(high) * 1000))
        here = there
    return out


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
