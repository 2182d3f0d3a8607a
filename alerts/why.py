"""The why of an alert: what it reports and what it shows, gathered once when the alert fires.

- what: the brand and metric, the observed count against the expected one, how unusual that is
  (the score and the probability it stands for, and how often the series saw as much lately),
  since when it has been going on;
- what it shows: the top negative mentions with their links, their authors (influencers first),
  the emerging terms and the sites;
- where to look: a Kibana Discover link when Kibana is configured, otherwise the
  ``veille search`` command that lists the same mentions.

The why is a typed record (`alerts.notification.Why`, with its rows), stored with the alert and
rendered by every channel.
"""

from __future__ import annotations

import shlex
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit, urlunsplit

from alerts.buckets import BucketStore, epoch
from alerts.detectors import Verdict
from alerts.notification import AuthorRow, MentionRow, SiteRow, TermRow, Why
from alerts.phrases import number, say
from alerts.settings import KibanaLink, Rule
from alerts.terms import Term, emerging


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def when(t: datetime | None) -> str:
    """A time as notifications show it: ``2026-11-20 14:05 UTC``."""
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else ""


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


def authors_of(mentions: Iterable[MentionRow], limit: int) -> list[AuthorRow]:
    """Who wrote them, influencers first, then the most prolific and the most followed."""
    by_name: dict[str, list[MentionRow]] = {}
    for m in mentions:
        name = m.author or (f"@{m.handle}" if m.handle else None)
        if name:
            by_name.setdefault(name, []).append(m)
    authors = [
        AuthorRow(
            name=name,
            influencer=any(m.influencer for m in wrote),
            followers=max((m.followers for m in wrote if m.followers is not None), default=None),
            url=wrote[0].url,
            mentions=len(wrote),
        )
        for name, wrote in by_name.items()
    ]
    authors.sort(key=lambda a: (not a.influencer, -a.mentions, -(a.followers or 0), a.name))
    return authors[:limit]


def sites_of(mentions: Iterable[MentionRow], limit: int) -> list[SiteRow]:
    """Where they were published, the most frequent first."""
    counts = Counter(m.site for m in mentions)
    return [SiteRow(site=s, mentions=n) for s, n in counts.most_common(limit)]


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
    # Show what the incident is made of: from its first unusual bucket (and the window before).
    start = min(since, detected - window)
    negatives = buckets.negatives(brand, start)
    terms = emerging_terms(buckets, brand, start, detected, rule.terms_window)
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
        mentions=negatives[:top],
        authors=authors_of(negatives, top),
        terms=[TermRow.of(t) for t in terms],
        sites=sites_of(negatives, top),
        search=search_link(brand, start, kibana, query),
        lang=lang,
    )
    return replace(why, headline=headline or spike_headline(brand, rule.metric, why))


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
