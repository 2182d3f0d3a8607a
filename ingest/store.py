"""The store protocols: where enriched mentions are kept, searched and counted, and the two small
indexes enrich keeps beside them.

`index` implements them twice, chosen by URL: SQLite with FTS5 (``sqlite://path``) and
Elasticsearch (``http(s)://host:9200``). They are defined here, in the spine, because other stages
are handed a store (enrich for author history and near-duplicates, alerts for backtests) and must
not import `index`. Each consumer declares only the protocol it uses:

- `MentionStore`: the mentions themselves (written by the index stage, read by alerts, the
  CLI, exports and reports);
- `AuthorIndex`: what enrich keeps about authors (`enrich.influence`);
- `ClusterIndex`: the near-duplicate signatures (`enrich.duplicates`);
- `StoreAdmin`: `StoreAdmin.refresh` and `StoreAdmin.drop`, for operators, benches and tests;
  no stage is handed them;
- `Store`: all four, what `veille.backends.open_store` returns and the composition root holds.
  Each implementation is one object that is all four.

A store is a context manager: ``with open_store(url, settings) as store:`` closes it on the way
out.

Contract, held by `tests/test_store_contract.py` for every implementation:

- `MentionStore.upsert` is idempotent by mention id: writing the same mention twice leaves one
  copy. Of two versions, the one fetched later wins. It returns the mentions the store rejected
  for good, with the reason, and raises `StoreUnavailable` for a passing failure.
- `MentionStore.delete` removes a mention deleted on its platform from every read, and a copy
  of it written afterwards is not stored. Its near-duplicate signature (hashed keys, no text)
  stays in the `ClusterIndex`, so a redelivered copy is not counted there twice and later
  copies of its text still cluster together.
- Every read takes the same `Filters`, and the query in them selects the same mentions as the
  in-memory matcher would.
- Counts (`MentionStore.count`, `MentionStore.timeline`, `MentionStore.top`) take
  ``distinct="cluster"`` to count a near-duplicate cluster (a press release syndicated by fifty
  sites, a retweet and its original) once: a mention without a cluster counts as its own.

The two indexes enrich keeps are in the store because they must be shared by every enrich
worker, whatever process or machine it runs on, and survive redelivery:

- authors (`AuthorIndex`): each mention's contribution to its author (`AuthorActivity`), kept by
  mention id so that a redelivered mention counts once; the store aggregates it into
  `AuthorStats`; enrich computes the scores (`enrich.influence`) and saves them back;
- near-duplicate signatures (`ClusterIndex`): MinHash LSH keys, so that a copy joins the cluster
  of the text it shares the most keys with, atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, Self
from zoneinfo import ZoneInfo

from ingest.query.tree import Node
from ingest.record import Mention, SentimentLabel

SortOrder = Literal["date", "relevance"]
Facet = Literal["brand", "sentiment", "source", "site", "author", "lang", "entity"]
FACETS: tuple[Facet, ...] = ("brand", "sentiment", "source", "site", "author", "lang", "entity")
Distinct = Literal["cluster"] | None
"""``"cluster"``: count each near-duplicate cluster once (see `Enrichment.cluster`)."""


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
    entity: str | None = None
    """An entity's canonical name (its ``kb_id``) or text, compared folded: ``velora city``."""
    undated: bool = False
    """Only the mentions whose source gave no date Veille could read (`Mention.published` is
    None; they sit in time where they were first seen)."""


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


def export_line(fields: Mapping[str, Any]) -> str:
    """A mention as exports write it (``veille search --all``, `MentionStore.export`): its
    fields, ``Mention.model_dump(mode="json", exclude_none=True)`` or a store's copy of them,
    as one line of JSON."""
    return json.dumps(fields, ensure_ascii=False)


@dataclass(frozen=True)
class Figures:
    """What a report, a dashboard and ``veille status`` show of a selection, read together
    (`MentionStore.figures`)."""

    total: int
    timeline: list[Bucket] = field(default_factory=list)
    """Counts per bucket by sentiment, oldest first; empty unless an interval was asked."""
    tops: dict[Facet, list[TermCount]] = field(default_factory=dict)
    """The most frequent values of each facet asked, most frequent first."""


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


@dataclass(frozen=True)
class AuthorActivity:
    """What one mention adds to its author's record. Stores keep it by ``mention_id``."""

    mention_id: str
    author_key: str
    site: str
    published: datetime
    name: str | None = None
    handle: str | None = None
    url: str | None = None
    reach: int = 0
    """Followers, else the audience configured for the site or source; 0 when unknown."""
    engagement: int = 0
    brands: tuple[str, ...] = ()
    parent: str | None = None
    """The id of the mention this one replies to."""
    thread: str | None = None
    """The key of the forum thread it was posted in (``site/thread-id``)."""
    position: int | None = None
    mentioned: tuple[str, ...] = ()
    """The author keys it @-mentions."""


@dataclass(frozen=True)
class AuthorStats:
    """An author as the store aggregates it from their `AuthorActivity`, with the last score
    enrich saved (`AuthorScore`)."""

    key: str
    name: str | None
    handle: str | None
    url: str | None
    mentions: int
    reach: int
    """The largest reach seen."""
    engagement: int
    """Summed over their mentions."""
    sites: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    pagerank: float = 0.0
    score: float = 0.0

    @property
    def display(self) -> str:
        return self.name or (f"@{self.handle}" if self.handle else self.key)


@dataclass(frozen=True)
class AuthorScore:
    key: str
    pagerank: float
    score: float


@dataclass(frozen=True)
class AuthorEdge:
    """``source`` replied to, posted under a thread opened by, or @-mentioned ``target``,
    ``weight`` times."""

    source: str
    target: str
    weight: int


@dataclass(frozen=True)
class RankedAuthor:
    author: AuthorStats
    mentions: int
    """How many of their mentions match the filters."""


@dataclass(frozen=True)
class Signature:
    """A mention's near-duplicate signature: its LSH keys (`enrich.duplicates`)."""

    mention_id: str
    keys: tuple[int, ...]
    """Signed 64-bit integers. Two mentions that share a key are near-duplicates."""
    joins: bool = True
    """False: the mention starts its own cluster whatever it shares keys with (a short post),
    but later copies can still join it."""


class MentionStore(Protocol):
    """Where enriched mentions are kept, searched and counted."""

    def setup(self) -> None:
        """Create or migrate what the store needs (idempotent; safe at every start)."""

    def upsert(self, mentions: Sequence[Mention]) -> list[Rejected]:
        """Write ``mentions`` by id; return those refused for good."""

    def delete(self, mention_ids: Sequence[str], at: datetime) -> int:
        """Remove these mentions, deleted on their platform, from everything that counts them
        (search, counts and rollups, exports, clusters counted once, their authors' figures),
        and keep their ids, so that a copy written later (a redelivery, a late enrich) is
        refused by `upsert` and `AuthorIndex.record_authors`. Idempotent; ids never stored are
        kept too (the deletion may overtake the mention). Returns how many were stored."""

    def get(self, mention_id: str) -> Mention | None: ...

    def search(
        self, filters: Filters, *, sort: SortOrder = "date", page: int = 1, size: int = 20
    ) -> SearchPage: ...

    def scan(self, filters: Filters, *, batch: int = 500) -> Iterator[list[Mention]]:
        """Every mention the filters select, oldest first (then by id), ``batch`` at a time,
        however many there are: what exports and recounts read (``search`` pages stop at a
        depth on Elasticsearch)."""

    def fields(self, filters: Filters, *, batch: int = 500) -> Iterator[list[dict[str, Any]]]:
        """What `scan` reads, each mention as its fields (``Mention.model_dump(mode="json",
        exclude_none=True)``, or the store's copy of them), not validated into a `Mention`: for
        the reads that need a few fields of very many mentions (reports, exports)."""

    def export(self, filters: Filters, *, batch: int = 500) -> Iterator[list[str]]:
        """What `scan` reads, each mention as its `export_line`: a store that keeps the JSON
        writes it out as it is, without reading it into a `Mention` and back."""

    def count(self, filters: Filters, *, distinct: Distinct = None) -> int: ...

    def timeline(
        self,
        filters: Filters,
        interval: timedelta,
        *,
        distinct: Distinct = None,
        zone: ZoneInfo | None = None,
    ) -> list[Bucket]:
        """Mention counts per ``interval`` bucket, split by sentiment, oldest first, every
        bucket from the first to the last (empty ones too). Buckets are aligned on the Unix
        epoch; with ``zone`` and an interval of whole days they are local days instead: each
        starts at midnight in ``zone`` (a day across a DST change lasts 23 or 25 hours), and
        buckets of 7 days on Monday, with ``distinct`` counted in each local bucket."""

    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]:
        """The most frequent values of ``facet`` (top sites, top authors, counts per brand,
        entities by canonical name...), most frequent first; mentions without a value are not
        counted."""

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
        """The count, the timeline (with ``interval``, in ``zone``) and the top ``limit``
        values of each of ``facets`` of what ``filters`` select, together: the same numbers as
        `count`, `timeline` and `top`, read at once (one request on Elasticsearch)."""

    def significant_terms(
        self, filters: Filters, background: Filters | None = None, limit: int = 10
    ) -> list[SignificantTerm]:
        """The words of the mentions ``filters`` selects (title and text, folded) that are
        over-represented there compared with ``background`` (every mention when None; it should
        include the selection): the emerging terms of a spike, most significant first. Words in
        fewer than 2 selected mentions are ignored; the selection is sampled to its 5,000 most
        recent mentions."""

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None:
        """Close the store."""


class AuthorIndex(Protocol):
    """What enrich keeps about authors, across workers (`enrich.influence`)."""

    def record_authors(self, activity: Sequence[AuthorActivity]) -> list[AuthorStats]:
        """Keep each activity by mention id (a redelivered mention replaces its earlier copy,
        never adds to it) and return the updated stats of the authors concerned."""

    def authors(self, keys: Sequence[str]) -> list[AuthorStats]:
        """The stats of these authors (unknown keys are left out)."""

    def save_author_scores(self, scores: Sequence[AuthorScore]) -> None: ...

    def author_edges(self) -> list[AuthorEdge]:
        """The reply and mention graph between known authors: replies to a known parent
        mention, posts in a thread to its opener (lowest position), @-mentions of a known
        author. No self-loops."""

    def author_score_at(self, percentile: float) -> float | None:
        """The saved score at ``percentile`` (0-100, nearest rank) over every author, or None
        when there are none."""

    def top_authors(self, filters: Filters, limit: int = 10) -> list[RankedAuthor]:
        """The authors of the mentions matching ``filters``, highest score first."""


class ClusterIndex(Protocol):
    """The near-duplicate signatures enrich keeps, across workers (`enrich.duplicates`)."""

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        """The cluster of each signature's mention, atomically across workers: the cluster it
        was given before (redelivery); else, if it ``joins``, the cluster whose stored signatures
        share the most keys with it (ties: the smallest cluster id); else a new
        cluster named after the mention. Signatures are stored in order, so a later one in the
        same batch can join an earlier one."""


class StoreAdmin(Protocol):
    """What operators, benches and tests do to a store as a whole; no stage needs it."""

    def refresh(self) -> None:
        """Make every write acknowledged so far, by any process, visible to reads now
        (Elasticsearch shows other processes' writes after its refresh interval; SQLite at
        once)."""

    def drop(self) -> None:
        """Delete everything the store created (its tables or indices and what enrich keeps);
        `MentionStore.setup` creates it again, empty."""


class Store(MentionStore, AuthorIndex, ClusterIndex, StoreAdmin, Protocol):
    """All of it, in one object: what `veille.backends.open_store` returns and the composition
    root holds."""
