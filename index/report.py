"""The figures of a report over a period, read from any `MentionStore`: what ``veille report``
prints and what the weekly report (`veille.reports`) writes, computed by this one module so the
two agree to the unit.

Time is the reader's: days start at midnight in the configured zone and weeks on Monday (ISO
8601). The stores count in local days themselves (`MentionStore.timeline` with a zone);
`zoned_figures` asks them once.

`period_figures` adds, for one brand and one period, what counts alone cannot say: unique
authors and their reach, the stories carried by several outlets, the most engaging and the most
negative mentions, which sources grew or fell and which went silent. It reads the period's
mentions once, as a stream, keeping only bounded lists and one counter per author, cluster and
source.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from ingest.record import placed
from ingest.store import Bucket, Distinct, Facet, Figures, Filters, MentionStore, TermCount
from ingest.text import is_term, tokenize

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
LABELS = ("negative", "neutral", "positive")

T = TypeVar("T", bound=tuple[object, ...])
Fields = dict[str, Any]
"""A mention's fields as `MentionStore.fields` gives them."""

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


# -- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), both aware, named ``label``."""

    start: datetime
    end: datetime
    label: str
    zone: ZoneInfo

    @classmethod
    def iso_week(cls, value: str, zone: ZoneInfo) -> Period:
        """The ISO week ``2026-W48`` (Monday midnight to Monday midnight in ``zone``)."""
        match = _ISO_WEEK.match(value.strip())
        if not match:
            raise ValueError(f"'{value}' is not an ISO week such as 2026-W48")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            monday = date.fromisocalendar(year, week, 1)
        except ValueError:
            raise ValueError(f"{year} has no week {week}") from None
        return cls.of_days(monday, 7, zone, f"{year}-W{week:02d}")

    @classmethod
    def last_week(cls, now: datetime, zone: ZoneInfo) -> Period:
        """The last complete ISO week before ``now``."""
        today = now.astimezone(zone).date()
        monday = today - timedelta(days=today.weekday() + 7)
        year, week, _ = monday.isocalendar()
        return cls.of_days(monday, 7, zone, f"{year}-W{week:02d}")

    @classmethod
    def of_days(cls, first: date, days: int, zone: ZoneInfo, label: str | None = None) -> Period:
        start = datetime.combine(first, time(), zone)
        end = datetime.combine(first + timedelta(days=days), time(), zone)
        last = first + timedelta(days=days - 1)
        return cls(start, end, label or f"{first.isoformat()}/{last.isoformat()}", zone)

    @classmethod
    def between(cls, since: datetime, until: datetime, zone: ZoneInfo) -> Period:
        if until <= since:
            raise ValueError("the period ends before it starts: --until must be after --since")
        local_since, local_until = since.astimezone(zone), until.astimezone(zone)
        label = f"{local_since:%Y-%m-%d %H:%M}/{local_until:%Y-%m-%d %H:%M}"
        if local_since.time() == time() and local_until.time() == time():
            last = local_until.date() - DAY
            label = f"{local_since.date().isoformat()}/{last.isoformat()}"
        return cls(local_since, local_until, label, zone)

    def previous(self) -> Period:
        """The period of the same length just before this one (the week before a week)."""
        length = self.end - self.start
        if length % DAY == timedelta(0) and self.start.astimezone(self.zone).time() == time():
            days = length // DAY
            return Period.of_days(self.start.date() - timedelta(days=days), days, self.zone)
        return Period(self.start - length, self.start, f"{self.label} (before)", self.zone)

    def days(self) -> list[date]:
        """The local days the period covers, in order."""
        first = self.start.astimezone(self.zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def filters(self, base: Filters | None = None) -> Filters:
        """``base`` (every mention when None) narrowed to the period."""
        return replace(
            base or Filters(), since=self.start.astimezone(UTC), until=self.end.astimezone(UTC)
        )


# -- counts in the reader's time --------------------------------------------------------------


def zoned_figures(
    store: MentionStore,
    filters: Filters,
    *,
    interval: timedelta | None,
    zone: ZoneInfo,
    facets: Sequence[Facet] = (),
    limit: int = 10,
    distinct: Distinct = None,
) -> Figures:
    """`MentionStore.figures` with a timeline in the reader's time: an interval of whole days
    (1d, 1w) counts from local midnight, weeks from Monday, near-duplicates once per local
    bucket; shorter ones are the store's."""
    return store.figures(
        filters, interval=interval, facets=facets, limit=limit, distinct=distinct, zone=zone
    )


# -- one brand over one period ----------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The headline figures of a selection."""

    mentions: int = 0
    authors: int = 0
    """Distinct authors (site and handle or name) among the signed mentions."""
    reach: int = 0
    """Potential reach: the followers of those authors, each counted once (their largest)."""
    negative: int = 0
    neutral: int = 0
    positive: int = 0

    @property
    def negative_share(self) -> float | None:
        """Negative mentions over all mentions."""
        return self.negative / self.mentions if self.mentions else None

    @property
    def net_sentiment(self) -> float | None:
        """(positive - negative) / (positive + negative), from -1 to 1."""
        rated = self.positive + self.negative
        return (self.positive - self.negative) / rated if rated else None

    @property
    def satisfaction(self) -> float | None:
        """positive / (positive + negative), from 0 to 1."""
        rated = self.positive + self.negative
        return self.positive / rated if rated else None

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "mentions": self.mentions,
            "authors": self.authors,
            "reach": self.reach,
            "negative": self.negative,
            "neutral": self.neutral,
            "positive": self.positive,
            "negative_share": self.negative_share,
            "net_sentiment": self.net_sentiment,
            "satisfaction": self.satisfaction,
        }


@dataclass(frozen=True)
class MentionLine:
    """A mention as a report lists it."""

    id: str
    published: datetime
    site: str
    author: str
    title: str
    url: str
    sentiment: str
    score: float | None
    engagement: int

    @classmethod
    def of(cls, m: Fields) -> MentionLine:
        """The line of a mention given as its fields (`MentionStore.fields`)."""
        sentiment = (m.get("enrichment") or {}).get("sentiment") or {}
        title = " ".join((m.get("title") or m.get("text") or "").split())
        return cls(
            id=m["id"],
            published=_when(placed(m)),
            site=m["site"],
            author=_display(m.get("author")),
            title=title if len(title) <= 160 else title[:159] + "…",
            url=m["url"],
            sentiment=sentiment.get("label", "unknown"),
            score=sentiment.get("score"),
            engagement=engagement(m),
        )


@dataclass(frozen=True)
class Influencer:
    key: str
    name: str
    site: str
    url: str | None
    followers: int
    mentions: int


@dataclass(frozen=True)
class Story:
    """A near-duplicate cluster: the same text carried by several outlets."""

    cluster: str
    title: str
    url: str
    mentions: int
    outlets: int
    """Distinct sites that carried it."""
    first_site: str
    first_author: str
    first_published: datetime


@dataclass(frozen=True)
class SourceChange:
    source: str
    before: int
    now: int

    @property
    def change(self) -> int:
        return self.now - self.before


@dataclass(frozen=True)
class SourceDays:
    """A source's mentions per local day, and the days it fell silent."""

    source: str
    days: list[int]
    before: int
    """Its mentions over the previous period."""
    gaps: list[date]
    """Days with no mention although its rate the period before made a silent day unlikely
    (`GAP_RATE`)."""


@dataclass(frozen=True)
class BrandFigures:
    brand: str
    headline: Headline
    before: Headline
    days: list[date]
    daily: list[dict[str, int]]
    """Mentions per local day by sentiment label (and ``total``), one per day of the period."""
    hourly: list[Bucket]
    tops: dict[Facet, list[TermCount]]
    influencers: list[Influencer]
    stories: list[Story]
    engaging: list[MentionLine]
    negative: list[MentionLine]
    terms: list[TermCount]
    grew: list[SourceChange]
    fell: list[SourceChange]
    completeness: list[SourceDays]


def engagement(m: Fields) -> int:
    """Likes, shares and replies: what a reader did with a mention (views are not doing)."""
    e = m.get("engagement") or {}
    return int(e.get("likes") or 0) + int(e.get("shares") or 0) + int(e.get("replies") or 0)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _display(author: Fields | None) -> str:
    """`Author.display`: the name, else @handle."""
    if not author:
        return ""
    name = author.get("name")
    handle = author.get("handle")
    return str(name) if name else (f"@{handle}" if handle else "")


@dataclass
class _AuthorSeen:
    name: str
    site: str
    url: str | None
    followers: int
    mentions: int = 1


@dataclass
class _ClusterSeen:
    first: tuple[datetime, str]
    """(published, id) of the earliest copy: the one that published first."""
    mentions: int = 0
    sites: set[str] = field(default_factory=set)


class _Pass:
    """What one stream over a period's mentions gathers, from their fields: bounded lists, and
    one small record per author, cluster and source."""

    def __init__(self, zone: ZoneInfo, limit: int) -> None:
        self.zone = zone
        self.limit = limit
        self.authors: dict[str, _AuthorSeen] = {}
        self.clusters: dict[str, _ClusterSeen] = {}
        self.sources: dict[str, Counter[date]] = {}
        self.engaging: list[tuple[int, str, MentionLine]] = []
        self.negative: list[tuple[float, int, str, MentionLine]] = []
        self._days: dict[str, date] = {}

    def _day(self, published: str, moment: datetime) -> date:
        """The local day of ``moment``, remembered by its minute (as written, in UTC): zones
        differ from UTC by whole minutes, and converting every mention costs more."""
        minute = published[:16]
        day = self._days.get(minute)
        if day is None:
            day = self._days[minute] = moment.astimezone(self.zone).date()
        return day

    def add(self, m: Fields) -> None:
        moment = _when(placed(m))
        site = m["site"]
        self.sources.setdefault(m["source"]["name"], Counter())[self._day(placed(m), moment)] += 1
        author = m.get("author") or {}
        who = str(author.get("handle") or author.get("name") or "").strip().lower()
        if who:
            key = f"{site}/{who}"
            seen = self.authors.get(key)
            followers = int(author.get("followers") or 0)
            if seen is None:
                self.authors[key] = _AuthorSeen(
                    _display(author), site, author.get("url"), followers
                )
            else:
                seen.followers = max(seen.followers, followers)
                seen.mentions += 1
        enrichment = m.get("enrichment") or {}
        cluster = enrichment.get("cluster")
        if cluster:
            story = self.clusters.get(cluster)
            if story is None:
                story = self.clusters[cluster] = _ClusterSeen((moment, m["id"]))
            story.mentions += 1
            story.sites.add(site)
            story.first = min(story.first, (moment, m["id"]))
        score = engagement(m)
        if score > 0 and self._wanted(self.engaging, (score, m["id"])):
            _keep(self.engaging, (score, m["id"], MentionLine.of(m)), self.limit)
        sentiment = enrichment.get("sentiment") or {}
        if sentiment.get("label") == "negative":
            rank = (-float(sentiment.get("score", 0.0)), score, m["id"])
            if self._wanted(self.negative, rank):
                _keep(self.negative, (*rank, MentionLine.of(m)), self.limit)

    def _wanted(self, heap: list[Any], rank: tuple[Any, ...]) -> bool:
        """Whether an item ranked ``rank`` would enter ``heap`` (its line is made only then)."""
        return len(heap) < self.limit or rank > heap[0][: len(rank)]

    def headline(self, total: int, counts: dict[str, int]) -> Headline:
        return Headline(
            mentions=total,
            authors=len(self.authors),
            reach=sum(a.followers for a in self.authors.values()),
            negative=counts.get("negative", 0),
            neutral=counts.get("neutral", 0),
            positive=counts.get("positive", 0),
        )

    def influencers(self) -> list[Influencer]:
        ranked = sorted(
            self.authors.items(), key=lambda kv: (-kv[1].followers, -kv[1].mentions, kv[0])
        )
        return [
            Influencer(key, a.name, a.site, a.url, a.followers, a.mentions)
            for key, a in ranked[: self.limit]
            if a.followers > 0
        ]

    def stories(self, store: MentionStore) -> list[Story]:
        """The clusters carried by several outlets, most outlets first; the first copy of each
        is read back from the store."""
        carried = [(k, c) for k, c in self.clusters.items() if c.mentions > 1]
        carried.sort(key=lambda kc: (-len(kc[1].sites), -kc[1].mentions, kc[0]))
        stories = []
        for key, c in carried[: self.limit]:
            first = store.get(c.first[1])
            if first is None:  # deleted since: the story is still the week's
                continue
            line = MentionLine.of(first.model_dump(mode="json", exclude_none=True))
            stories.append(
                Story(
                    key,
                    line.title,
                    line.url,
                    c.mentions,
                    len(c.sites),
                    line.site,
                    line.author,
                    line.published,
                )
            )
        return stories


def _keep(heap: list[T], item: T, limit: int) -> None:
    """Keep the ``limit`` largest items of a stream in ``heap``."""
    if len(heap) < limit:
        heapq.heappush(heap, item)
    elif item > heap[0]:
        heapq.heapreplace(heap, item)


def brand_figures(
    store: MentionStore, brand: str, period: Period, *, limit: int = 10
) -> BrandFigures:
    """Everything the weekly report says of ``brand`` over ``period``, against the period
    before: counts from `zoned_figures` (what ``veille report`` prints), the rest from one
    stream over each period's mentions."""
    zone = period.zone
    before_period = period.previous()
    here, there = period.filters(Filters(brand=brand)), before_period.filters(Filters(brand=brand))
    figures = zoned_figures(
        store, here, interval=HOUR, zone=zone, facets=REPORT_FACETS, limit=limit
    )
    previous = store.figures(there, facets=("sentiment", "source"), limit=1000)
    now, before = _Pass(zone, limit), _Pass(zone, limit)
    for batch in store.fields(here):
        for m in batch:
            now.add(m)
    for batch in store.fields(there):
        for m in batch:
            before.add(m)
    days = period.days()
    grew, fell, completeness = _source_changes(now, before, days, before_period.days(), limit)
    by_day: dict[date, Counter[str]] = {day: Counter() for day in days}
    for bucket in figures.timeline:
        local = bucket.start.astimezone(zone).date()
        if local in by_day:
            by_day[local].update(bucket.counts)
    daily = [
        {**{label: by_day[day].get(label, 0) for label in LABELS}, "total": by_day[day].total()}
        for day in days
    ]
    return BrandFigures(
        brand=brand,
        headline=now.headline(figures.total, _counts(figures.tops.get("sentiment", []))),
        before=before.headline(previous.total, _counts(previous.tops.get("sentiment", []))),
        days=days,
        daily=daily,
        hourly=figures.timeline,
        tops={f: figures.tops.get(f, []) for f in ("site", "author", "source")},
        influencers=now.influencers(),
        stories=now.stories(store),
        engaging=[line for *_, line in sorted(now.engaging, reverse=True)],
        negative=[line for *_, line in sorted(now.negative, reverse=True)],
        terms=_terms(store, brand, here, limit),
        grew=grew,
        fell=fell,
        completeness=completeness,
    )


def _terms(store: MentionStore, brand: str, here: Filters, limit: int) -> list[TermCount]:
    """The words of the brand's period over-represented against everything collected (the
    FTS5 index counts those at once), without stop words, numbers and the brand's own name."""
    own = set(tokenize(brand))
    found = store.significant_terms(here, limit=limit * 4)
    return [TermCount(t.key, t.count) for t in found if is_term(t.key) and t.key not in own][:limit]


REPORT_FACETS: tuple[Facet, ...] = ("sentiment", "site", "author", "source")


def _counts(terms: Iterable[TermCount]) -> dict[str, int]:
    return {t.key: t.count for t in terms}


GAP_RATE = 4.6
"""Mentions a day (on average, the period before) from which a silent day is flagged: at that
rate a day without any happens by chance less than once in 100 days."""


def _source_changes(
    now: _Pass, before: _Pass, days: list[date], before_days: list[date], limit: int
) -> tuple[list[SourceChange], list[SourceChange], list[SourceDays]]:
    names = sorted(set(now.sources) | set(before.sources))
    changes = [
        SourceChange(
            name,
            before.sources.get(name, Counter()).total(),
            now.sources.get(name, Counter()).total(),
        )
        for name in names
    ]
    grew = sorted((c for c in changes if c.change > 0), key=lambda c: (-c.change, c.source))
    fell = sorted((c for c in changes if c.change < 0), key=lambda c: (c.change, c.source))
    completeness = []
    for name in names:
        counts = now.sources.get(name, Counter())
        earlier = before.sources.get(name, Counter())
        # A day without a mention is a gap when the source's rate the period before makes one
        # unlikely by chance (fewer than 1 in 100 days: Poisson, e^-rate < 0.01).
        steady = earlier.total() >= GAP_RATE * len(before_days)
        gaps = [day for day in days if counts[day] == 0] if steady else []
        completeness.append(SourceDays(name, [counts[day] for day in days], earlier.total(), gaps))
    completeness.sort(key=lambda s: (-sum(s.days), s.source))
    return grew[:limit], fell[:limit], completeness


@dataclass(frozen=True)
class Voice:
    """One name's share of voice: a configured brand (counted by its own query) or a
    competitor named in the collected mentions (counted by the entity)."""

    name: str
    kind: str
    """``brand`` or ``named``."""
    mentions: int
    negative: int
    neutral: int
    positive: int


def share_of_voice(
    store: MentionStore, names: Sequence[str], brands: Sequence[str], period: Period
) -> list[Voice]:
    """The mentions of each of ``names`` over ``period``, by sentiment: those of ``brands``
    (the configured brands) by brand, the others as entities named in what was collected."""
    known = {b.lower() for b in brands}
    voices = []
    for name in names:
        kind = "brand" if name.lower() in known else "named"
        base = Filters(brand=name) if kind == "brand" else Filters(entity=name)
        figures = store.figures(period.filters(base), facets=("sentiment",), limit=10)
        counts = _counts(figures.tops.get("sentiment", []))
        voices.append(
            Voice(
                name,
                kind,
                figures.total,
                counts.get("negative", 0),
                counts.get("neutral", 0),
                counts.get("positive", 0),
            )
        )
    return voices
