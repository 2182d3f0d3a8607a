"""``veille status``: the state of the bus, the store, the sources and the stages, in one report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ingest.store import Filters
from veille.app import PIPELINE, App
from veille.logs import redact
from veille.output import table
from veille.settings import secret_values


def _when(epoch: float | None) -> str | None:
    """A stored time for the report; one that no date can hold (state written before delays
    were capped, a hand edit) says so instead of stopping the report."""
    if not epoch:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError, TypeError):
        return f"invalid ({epoch!r})"


def collect_status(app: App) -> dict[str, Any]:
    settings = app.settings
    secrets = secret_values(settings)
    topics: dict[str, Any] = {}
    for topic in app.topics.all():
        topics[topic] = {"records": sum(app.bus.end_offsets(topic).values()), "lag": {}}
    for step in PIPELINE:
        source = app.topics.named(step.reads)
        topics[source]["lag"][step.name] = app.bus.lag(source, app.topics.group(step.name))
    figures = app.store.figures(Filters(), facets=("brand", "sentiment"), limit=50)
    undated = app.store.figures(Filters(undated=True), facets=("source",), limit=50)
    feed_states = [
        {
            "name": f.name,
            "status": f.last_status or "never polled",
            "failures": f.failures,
            "errors": f.errors,
            "entries": f.entries,
            "last_success": _when(f.last_success),
            "next_poll": _when(f.next_poll),
            "last_error": f.last_error,
        }
        for f in app.feed_state.all()
    ]
    crawls = [
        {
            "name": c.name,
            "status": c.last_status or "never crawled",
            "failures": c.failures,
            "last_pages": c.last_pages,
            "last_new": c.last_mentions,
            "mentions": c.mentions,
            "errors": c.errors,
            "last_crawl": _when(c.last_end),
            "next_crawl": _when(c.next_crawl),
            "last_error": c.last_error,
        }
        for c in app.crawl_state.sites()
    ]
    configured = {n.name for n in settings.sources.networks}
    networks = [
        {
            "name": n.name,
            "platform": n.platform,
            "status": n.last_status or "never polled",
            "failures": n.failures,
            "errors": n.errors,
            "mentions": n.mentions,
            "deletions": n.deletions,
            "requests": n.requests,
            "last_success": _when(n.last_success),
            "next_poll": _when(n.next_poll),
            "rate_limit": {
                "limit": n.rate_limit,
                "remaining": n.rate_remaining,
                "reset": _when(n.rate_reset),
            },
            "quota": _quota(n.cursor_map()),
            "last_error": redact(n.last_error, secrets) if n.last_error else None,
        }
        for n in app.network_state.all()
        if n.name in configured
    ]
    return {
        "bus": {"url": redact(settings.bus_url), "topics": topics},
        "crawls": crawls,
        "store": {
            "url": redact(settings.store_url),
            "mentions": figures.total,
            "brands": {t.key: t.count for t in figures.tops["brand"]},
            "sentiment": {t.key: t.count for t in figures.tops["sentiment"]},
            # Mentions whose source gave no date Veille could read, by source.
            "undated": {t.key: t.count for t in undated.tops["source"]},
        },
        "feeds": feed_states,
        "networks": networks,
        "stages": app.counters.read(),
    }


def _rate(limit: dict[str, Any]) -> str:
    """``12/300 until 2026-12-02T14:05:00+00:00``: what the platform said was left of its rate
    limit, and when it is renewed."""
    if limit["remaining"] is None and limit["limit"] is None:
        return "-"
    remaining = "?" if limit["remaining"] is None else limit["remaining"]
    left = f"{remaining}/{limit['limit'] or '?'}"
    return f"{left} until {limit['reset']}" if limit["reset"] else left


def _quota(cursors: dict[str, str]) -> dict[str, Any] | None:
    """What a connector with a budget (YouTube's daily units, X's monthly posts) spent of it in
    the current period: none yet when the period it last counted is over."""
    from crawlers.networks.quota import quota_of

    quota = quota_of(cursors)
    if quota is None:
        return None
    renewed = quota.reset <= datetime.now(UTC).timestamp()
    return {
        "used": 0 if renewed else quota.used,
        "budget": quota.budget,
        "unit": quota.unit,
        "reset": None if renewed else _when(quota.reset),
    }


def _spent(quota: dict[str, Any] | None) -> str:
    """``101/10000 units until 2026-12-03T08:00:00+00:00``."""
    if quota is None:
        return "-"
    spent = f"{quota['used']}/{quota['budget']} {quota['unit']}"
    return f"{spent} until {quota['reset']}" if quota["reset"] else spent


def render_status(report: dict[str, Any]) -> str:
    out = [f"Bus  {report['bus']['url']}"]
    rows = [
        [topic, info["records"], ", ".join(f"{g}: {lag}" for g, lag in info["lag"].items())]
        for topic, info in report["bus"]["topics"].items()
    ]
    out += [table(rows, ["topic", "records", "lag by group"]), ""]
    store = report["store"]
    out.append(f"Store  {store['url']}: {store['mentions']} mentions")
    if store["undated"]:
        out.append(
            "  without a date (placed where first seen, not counted by alerts): "
            + ", ".join(f"{s} {n}" for s, n in store["undated"].items())
        )
    if store["brands"]:
        out.append("  by brand: " + ", ".join(f"{b} {n}" for b, n in store["brands"].items()))
        out.append(
            "  by sentiment: " + ", ".join(f"{s} {n}" for s, n in store["sentiment"].items())
        )
    out.append("")
    feeds = report["feeds"]
    if feeds:
        rows = [
            [
                f["name"],
                f["status"],
                f["failures"],
                f["entries"],
                f["last_success"] or "-",
                f["last_error"] or "",
            ]
            for f in feeds
        ]
        out += [
            table(rows, ["feed", "status", "failing", "entries", "last success", "last error"]),
            "",
        ]
    networks = report.get("networks") or []
    if networks:
        rows = [
            [
                n["name"],
                n["platform"],
                n["status"],
                n["failures"],
                n["mentions"],
                n["last_success"] or "-",
                _rate(n["rate_limit"]),
                _spent(n.get("quota")),
                n["last_error"] or "",
            ]
            for n in networks
        ]
        headers = ["network", "platform", "status", "failing", "mentions", "last success"]
        out += [table(rows, [*headers, "rate limit", "quota", "last error"]), ""]
    crawls = report.get("crawls") or []
    if crawls:
        rows = [
            [
                c["name"],
                c["status"],
                c["failures"],
                c["last_pages"],
                c["last_new"],
                c["mentions"],
                c["last_crawl"] or "-",
                c["last_error"] or "",
            ]
            for c in crawls
        ]
        headers = ["site", "status", "failing", "pages", "new", "mentions", "last crawl", "note"]
        out += [table(rows, headers), ""]
    stages = report["stages"]
    if stages:
        rows = [
            [scope, ", ".join(f"{k}={v}" for k, v in sorted(c.items()))]
            for scope, c in sorted(stages.items())
        ]
        out.append(table(rows, ["stage", "counters"], flex=1))
    return "\n".join(out)
