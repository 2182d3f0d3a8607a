"""The weekly report, assembled: for each brand, its figures over the period against the period
before (`index.report.brand_figures`), its share of voice against its competitors, and the
incidents the alert history holds for it. `as_json` is the report as data, what
``veille report weekly --format json`` prints and every other format writes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from index.report import (
    HOUR,
    BrandFigures,
    Headline,
    MentionLine,
    Period,
    Voice,
    brand_figures,
    share_of_voice,
)
from veille.reports.settings import AgencySettings

if TYPE_CHECKING:
    from alerts.history import AlertRecord
    from veille.app import App


@dataclass(frozen=True)
class Incident:
    """An alert of the period, as the report tells it."""

    id: str
    brand: str
    rule: str
    severity: str
    status: str
    headline: str
    started: datetime
    peak: datetime | None
    """The local hour with the most negative mentions of the brand while it lasted."""
    acknowledged: datetime | None
    acknowledged_by: str | None
    resolved: datetime | None
    observed: float
    expected: float
    terms: tuple[str, ...]


@dataclass(frozen=True)
class BrandSection:
    figures: BrandFigures
    voices: list[Voice]
    incidents: list[Incident]

    @property
    def name(self) -> str:
        return self.figures.brand


@dataclass(frozen=True)
class WeeklyReport:
    period: Period
    previous: Period
    sections: list[BrandSection]
    agency: AgencySettings
    lang: str
    generated: datetime

    @property
    def brands(self) -> list[str]:
        return [s.name for s in self.sections]


def build_report(
    app: App,
    brands: Sequence[str],
    period: Period,
    *,
    lang: str | None = None,
    limit: int = 10,
) -> WeeklyReport:
    """The report of ``brands`` (configured brands' names; all of them when empty) over
    ``period``."""
    settings = app.settings
    chosen = [settings.brand(name) for name in brands] or list(settings.brands)
    names = [b.name for b in settings.brands]
    records = _alert_records(app)
    sections = []
    for brand in chosen:
        figures = brand_figures(app.store, brand.name, period, limit=limit)
        rivals = [brand.name, *(c for c in brand.competitors if c.lower() != brand.name.lower())]
        voices = share_of_voice(app.store, rivals, names, period)
        incidents = [
            _incident(r, figures)
            for r in records
            if r.brand.lower() == brand.name.lower() and _overlaps(r, period)
        ]
        incidents.sort(key=lambda i: (i.started, i.id))
        sections.append(BrandSection(figures, voices, incidents))
    return WeeklyReport(
        period=period,
        previous=period.previous(),
        sections=sections,
        agency=settings.agency,
        lang=lang or settings.agency.language,
        generated=app.clock.now(),
    )


def _alert_records(app: App) -> list[AlertRecord]:
    from alerts.history import History

    if not app.alerts_db.path.exists():
        return []
    return History(app.alerts_db).select(limit=100_000)


def _overlaps(record: AlertRecord, period: Period) -> bool:
    started = record.why.since
    return started < period.end and (record.resolved is None or record.resolved >= period.start)


def _incident(record: AlertRecord, figures: BrandFigures) -> Incident:
    end = record.resolved or datetime.max.replace(tzinfo=UTC)
    during = [b for b in figures.hourly if record.why.since < b.start + HOUR and b.start < end]
    peak = max(during, key=lambda b: (b.counts.get("negative", 0), b.total), default=None)
    return Incident(
        id=record.id,
        brand=record.brand,
        rule=record.rule,
        severity=record.severity,
        status=record.status,
        headline=record.why.headline,
        started=record.why.since,
        peak=peak.start if peak is not None and peak.total else None,
        acknowledged=record.acked,
        acknowledged_by=record.acked_by,
        resolved=record.resolved,
        observed=record.why.observed,
        expected=record.why.expected,
        terms=tuple(t.term for t in record.why.terms),
    )


# -- as data ----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _line(m: MentionLine) -> dict[str, Any]:
    return {
        "id": m.id,
        "published": m.published.isoformat(),
        "site": m.site,
        "author": m.author,
        "title": m.title,
        "url": m.url,
        "sentiment": m.sentiment,
        "score": m.score,
        "engagement": m.engagement,
    }


def _headline(now: Headline, before: Headline) -> dict[str, Any]:
    return {**now.as_dict(), "previous": before.as_dict()}


def _day(value: date) -> str:
    return value.isoformat()


def as_json(report: WeeklyReport) -> dict[str, Any]:
    """The whole report as JSON-ready data: every figure each format shows."""
    return {
        "period": {
            "label": report.period.label,
            "start": report.period.start.isoformat(),
            "end": report.period.end.isoformat(),
            "timezone": report.period.zone.key,
        },
        "previous": {
            "start": report.previous.start.isoformat(),
            "end": report.previous.end.isoformat(),
        },
        "generated": report.generated.isoformat(),
        "language": report.lang,
        "brands": [_section(s) for s in report.sections],
    }


def _section(section: BrandSection) -> dict[str, Any]:
    f = section.figures
    return {
        "brand": f.brand,
        "headline": _headline(f.headline, f.before),
        "timeline": [{"day": _day(d), **counts} for d, counts in zip(f.days, f.daily, strict=True)],
        "share_of_voice": [
            {
                "name": v.name,
                "kind": v.kind,
                "mentions": v.mentions,
                "negative": v.negative,
                "neutral": v.neutral,
                "positive": v.positive,
            }
            for v in section.voices
        ],
        **{
            f"top_{facet}s": [{"key": t.key, "count": t.count} for t in terms]
            for facet, terms in f.tops.items()
        },
        "influencers": [
            {
                "name": i.name,
                "site": i.site,
                "url": i.url,
                "followers": i.followers,
                "mentions": i.mentions,
            }
            for i in f.influencers
        ],
        "stories": [
            {
                "title": s.title,
                "url": s.url,
                "mentions": s.mentions,
                "outlets": s.outlets,
                "first_site": s.first_site,
                "first_author": s.first_author,
                "first_published": s.first_published.isoformat(),
            }
            for s in f.stories
        ],
        "most_engaging": [_line(m) for m in f.engaging],
        "most_negative": [_line(m) for m in f.negative],
        "emerging_terms": [{"term": t.key, "count": t.count} for t in f.terms],
        "sources_grew": [{"source": c.source, "before": c.before, "now": c.now} for c in f.grew],
        "sources_fell": [{"source": c.source, "before": c.before, "now": c.now} for c in f.fell],
        "completeness": [
            {
                "source": s.source,
                "days": s.days,
                "before": s.before,
                "gaps": [_day(d) for d in s.gaps],
            }
            for s in f.completeness
        ],
        "incidents": [
            {
                "id": i.id,
                "rule": i.rule,
                "severity": i.severity,
                "status": i.status,
                "headline": i.headline,
                "started": i.started.isoformat(),
                "peak": _when(i.peak),
                "acknowledged": _when(i.acknowledged),
                "acknowledged_by": i.acknowledged_by,
                "resolved": _when(i.resolved),
                "observed": i.observed,
                "expected": i.expected,
                "terms": list(i.terms),
            }
            for i in section.incidents
        ],
    }
