"""The why of an alert: what it reports and what it shows, gathered once when the alert fires.

- what: the brand and metric, the observed count against the expected one, how unusual that is
  (the score and the probability it stands for, and how often the series saw as much lately),
  since when it has been going on;
- what it shows: the top negative mentions with their links, their authors (influencers first),
  the emerging terms and the sites;
- where to look: a Kibana Discover link when Kibana is configured, otherwise the
  ``veille search`` command that lists the same mentions.

`Why` is plain data (`Why.to_dict`), stored with the alert and rendered by every channel.
"""

from __future__ import annotations

import shlex
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from alerts.buckets import BucketStore, epoch
from alerts.detectors import Verdict
from alerts.phrases import number, say
from alerts.settings import KibanaLink, Rule
from alerts.terms import Term, emerging


@dataclass
class Why:
    """Everything an alert says about itself."""

    rule: str
    brand: str
    kind: str
    metric: str
    severity: str
    headline: str
    since: str
    detected: str
    observed: float = 0.0
    expected: float = 0.0
    window_minutes: float = 0.0
    ratio: float = 0.0
    score: float = 0.0
    per_week: float | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)
    authors: list[dict[str, Any]] = field(default_factory=list)
    terms: list[dict[str, Any]] = field(default_factory=list)
    sites: list[dict[str, Any]] = field(default_factory=list)
    search: dict[str, str] = field(default_factory=dict)
    lang: str = "en"
    """The language it is written in (``alerts.language`` when it opened)."""

    @classmethod
    def of(
        cls, rule: Rule, brand: str, headline: str, since: datetime, detected: datetime, **rest: Any
    ) -> Why:
        """The why of an alert of ``rule`` on ``brand``; ``rest`` gives its numbers and lists."""
        return cls(
            rule=rule.name,
            brand=brand,
            kind=rule.kind,
            metric=rule.metric,
            severity=rule.severity,
            headline=headline,
            since=since.isoformat(),
            detected=detected.isoformat(),
            **rest,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Why:
        return cls(**data)

    @property
    def probability(self) -> str:
        """The score as the probability it stands for: ``1e-07``."""
        return f"{10**-self.score:.0e}" if self.score < 300 else "<1e-300"


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def when(text: str | None) -> str:
    """An ISO time as notifications show it: ``2026-11-20 14:05 UTC``."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M UTC") if text else ""


def spike_headline(brand: str, metric: str, why: Why) -> str:
    lang = why.lang
    if why.expected < 0.1:  # a quiet brand: a ratio to almost nothing means nothing
        expected = say(lang, "expected.none")
    else:
        ratio = f"{number(why.ratio, lang)}x"
        expected = say(lang, "expected.some", expected=number(why.expected, lang), ratio=ratio)
    return say(
        lang,
        "spike",
        brand=brand,
        observed=number(why.observed, lang),
        metric=say(lang, f"metric.{metric}"),
        window=number(why.window_minutes, lang),
        expected=expected,
        p=why.probability,
        since=when(why.since),
    )


def search_link(
    brand: str, since: datetime, kibana: KibanaLink | None, query: str | None = None
) -> dict[str, str]:
    """A Kibana Discover URL for the brand's negative mentions since ``since``, else the
    ``veille search`` command that lists them."""
    stamp = since.strftime("%Y-%m-%dT%H:%M")
    if kibana is None:
        command = ["veille", "search"]
        if query:
            command.append(query)
        command += ["--brand", brand, "--sentiment", "negative", "--since", stamp]
        return {"command": shlex.join(command)}
    parts = urlsplit(kibana.url.rstrip("/"))
    # Credentials in the configured URL must never travel in a notification.
    host = f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or "")
    base = urlunsplit((parts.scheme, host, parts.path, "", ""))
    kql = f'enrichment.brands:"{brand}" and enrichment.sentiment.label:negative'
    if query:
        kql += f' and "{query}"'
    g = f"(time:(from:{_rison(since.strftime('%Y-%m-%dT%H:%M:%SZ'))},to:now))"
    a = (
        f"(dataSource:(dataViewId:{_rison(kibana.data_view)},type:dataView),"
        f"query:(language:kuery,query:{_rison(kql)}))"
    )
    return {
        "kibana": f"{base}/app/discover#/?_g={quote(g, safe='(),:')}&_a={quote(a, safe='(),:')}"
    }


def _rison(text: str) -> str:
    """A string in Rison, the notation of Kibana's URLs."""
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def authors_of(mentions: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Who wrote them, influencers first, then the most prolific and the most followed."""
    counts: Counter[str] = Counter()
    info: dict[str, dict[str, Any]] = {}
    for m in mentions:
        name = m.get("author") or (f"@{m['handle']}" if m.get("handle") else None)
        if not name:
            continue
        counts[name] += 1
        seen = info.setdefault(name, {"name": name, "influencer": False, "followers": None})
        seen["influencer"] = seen["influencer"] or bool(m.get("influencer"))
        if m.get("followers") is not None:
            seen["followers"] = max(seen["followers"] or 0, m["followers"])
        seen.setdefault("url", m.get("url"))
    ranked = sorted(
        info.values(),
        key=lambda a: (not a["influencer"], -counts[a["name"]], -(a["followers"] or 0), a["name"]),
    )
    return [{**a, "mentions": counts[a["name"]]} for a in ranked[:limit]]


def explain(
    rule: Rule,
    brand: str,
    verdict: Verdict,
    since: datetime,
    detected: datetime,
    buckets: BucketStore,
    *,
    top: int = 5,
    kibana: KibanaLink | None = None,
    headline: str | None = None,
    query: str | None = None,
    lang: str = "en",
) -> Why:
    """The why of an alert of ``rule`` on ``brand``, from the worker's own recent state."""
    window = verdict.window * buckets.step
    why = Why.of(
        rule,
        brand,
        "",
        since,
        detected,
        observed=verdict.window_observed,
        expected=verdict.window_expected,
        window_minutes=_minutes(window),
        ratio=verdict.ratio,
        score=verdict.score,
        per_week=verdict.per_week,
        lang=lang,
    )
    # Show what the incident is made of: from its first unusual bucket (and the window before).
    start = min(since, detected - window)
    negatives = buckets.negatives(brand, start)
    why.mentions = negatives[:top]
    why.authors = authors_of(negatives, top)
    why.sites = [
        {"site": s, "mentions": n}
        for s, n in Counter(m["site"] for m in negatives).most_common(top)
    ]
    why.terms = [
        _term(t) for t in emerging_terms(buckets, brand, start, detected, rule.terms_window)
    ]
    why.search = search_link(brand, start, kibana, query)
    why.headline = headline or spike_headline(brand, rule.metric, why)
    return why


def emerging_terms(
    buckets: BucketStore,
    brand: str,
    start: datetime,
    end: datetime,
    window: timedelta,
    *,
    min_count: int = 3,
    threshold: float = 3.0,
) -> list[Term]:
    """Words unusual in ``brand``'s negative mentions over [start, end) (at least ``window``)
    against its mentions of the week before."""
    # Words are counted by the hour: the recent hours, against the week of hours before them.
    first = epoch(min(start, end - window))
    first -= first % 3600
    last = epoch(end) + (-epoch(end)) % 3600
    recent, recent_docs = buckets.term_counts(brand, first, last, "negative")
    baseline, baseline_docs = buckets.term_counts(brand, first - 7 * 86400, first, "total")
    return emerging(
        recent, recent_docs, baseline, baseline_docs, min_count=min_count, threshold=threshold
    )


def _term(term: Term) -> dict[str, Any]:
    return {
        "term": term.term,
        "mentions": term.count,
        "share": round(term.share, 3),
        "baseline": round(term.baseline, 4),
        "score": round(term.score, 1),
    }
