"""Running the spiders: one crawl of some sites, now (`CrawlRunner.crawl`), or every site on its
schedule until told to stop (`CrawlRunner.run`).

A crawl runs one Scrapy crawler per site, side by side, in the reactor's thread
(`crawlers.crawl.reactor`), and waits for them. Each site's outcome (pages fetched, mentions
published, errors, what was refused) is recorded in the crawl state, for ``veille status``, and
decides when the site is crawled again: after its ``interval``, or later and later while it is
unreachable.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, replace
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerRunner
from twisted.internet.defer import Deferred, DeferredList

from crawlers.crawl import reactor
from crawlers.crawl.progress import CrawlState
from crawlers.crawl.scrapy_settings import scrapy_settings
from crawlers.crawl.spiders import spider_for
from crawlers.crawl.spiders.base import CrawlContext, VeilleSpider
from crawlers.crawl.urls import search_urls
from crawlers.settings import CrawlSettings, HttpSettings, Site
from ingest.bus import Bus
from ingest.clock import Clock, SystemClock
from ingest.counters import Counters, MemoryCounters

log = logging.getLogger(__name__)

SCOPE = "crawl"
_MAX_BACKOFF_S = 6 * 3600.0


@dataclass(frozen=True)
class CrawlOutcome:
    site: str
    status: str
    """ok, limited (stopped at max_pages), unreachable, stopped, bus_unavailable, failed."""
    pages: int = 0
    new: int = 0
    errors: int = 0
    refused: int = 0
    """Links not followed: traps, limits, robots.txt."""
    seconds: float = 0.0
    note: str | None = None
    stats: dict[str, Any] | None = None


def _outcome(
    site: str, stats: dict[str, Any], spider: VeilleSpider | None, seconds: float
) -> CrawlOutcome:
    def n(key: str) -> int:
        value = stats.get(key, 0)
        return int(value) if isinstance(value, int | float) else 0

    pages = max(0, n("response_received_count") - n("robotstxt/response_count"))
    refused = n("veille/robots_forbidden") + sum(
        int(v) for k, v in stats.items() if k.startswith("veille/refused/")
    )
    # A page a spider could not handle (a bug, or markup nobody foresaw) is an error too.
    errors = n("veille/errors") + sum(
        int(v) for k, v in stats.items() if k.startswith("spider_exceptions/")
    )
    reason = stats.get("finish_reason", "failed")
    note = spider.last_error if spider is not None else None
    if reason == "bus_unavailable" or n("veille/bus_unavailable"):
        status = "bus_unavailable"
    elif reason == "shutdown":
        status = "stopped"
    elif pages == 0 and (errors or n("veille/robots_unavailable")):
        status = "unreachable"
        if n("veille/robots_unavailable") and not note:
            note = "robots.txt unreachable: nothing fetched"
    elif reason == "closespider_pagecount":
        status = "limited"
        note = note or "stopped at max_pages"
    elif reason == "finished":
        status = "ok"
    else:
        status = "failed"
        note = note or str(reason)
    if status == "ok" and n("veille/robots_forbidden") and not pages:
        note = "robots.txt disallows everything"
    return CrawlOutcome(
        site=site,
        status=status,
        pages=pages,
        new=n("veille/published"),
        errors=errors,
        refused=refused,
        seconds=seconds,
        note=note,
        stats=stats,
    )


class CrawlRunner:
    def __init__(
        self,
        sites: Sequence[Site],
        *,
        bus: Bus,
        topic: str,
        state: CrawlState,
        http: HttpSettings,
        crawl: CrawlSettings,
        search_terms: Sequence[str] = (),
        clock: Clock | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.sites = list(sites)
        self.bus = bus
        self.topic = topic
        self.state = state
        self.http = http
        self.crawl_settings = crawl
        self.search_terms = list(search_terms)
        self.clock = clock or SystemClock()
        self.counters = counters or MemoryCounters()

    def site(self, name: str) -> Site:
        for site in self.sites:
            if site.name == name:
                return site
        names = ", ".join(s.name for s in self.sites) or "none configured"
        raise KeyError(f"no blog or forum named '{name}' (sites: {names})")

    # -- scheduling ----------------------------------------------------------------------------

    def due(self) -> list[Site]:
        now = self.clock.now().timestamp()
        return [s for s in self.sites if self.state.site(s.name).next_crawl <= now]

    def seconds_until_due(self) -> float:
        if not self.sites:
            return 60.0
        now = self.clock.now().timestamp()
        return max(0.0, min(self.state.site(s.name).next_crawl for s in self.sites) - now)

    def run(self, stop: threading.Event) -> None:
        """Crawl each site when it is due, until ``stop`` is set."""
        while not stop.is_set():
            due = self.due()
            if due:
                self.crawl(due, stop)
            if self.clock.sleep(min(30.0, max(0.5, self.seconds_until_due())), stop):
                return

    # -- crawling ------------------------------------------------------------------------------

    def _settings(self, sites: Sequence[Site]) -> dict[str, Any]:
        settings = scrapy_settings(self.http, self.crawl_settings, sites)
        settings["VEILLE_BATCH_SIZE"] = self.crawl_settings.batch_size
        return settings

    def crawl(
        self, sites: Sequence[Site] | None = None, stop: threading.Event | None = None
    ) -> list[CrawlOutcome]:
        """Crawl ``sites`` (default: all) now, side by side; return how each went."""
        sites = list(sites if sites is not None else self.sites)
        if not sites:
            return []
        started = time.monotonic()
        start_ts = self.clock.now().timestamp()
        crawlers: list[tuple[Site, Crawler]] = []
        runner_box: list[CrawlerRunner] = []
        closed: dict[str, dict[str, Any]] = {}

        def launch() -> Deferred[Any]:
            runner = CrawlerRunner(self._settings(sites))
            runner_box.append(runner)
            deferreds = []
            for site in sites:
                crawler = runner.create_crawler(spider_for(site))
                if site.max_pages is not None:
                    crawler.settings.set("CLOSESPIDER_PAGECOUNT", site.max_pages, "spider")
                if site.max_depth is not None:
                    crawler.settings.set("VEILLE_MAX_DEPTH", site.max_depth, "spider")

                def on_closed(spider: Any, reason: str, crawler: Crawler = crawler) -> None:
                    closed[spider.name] = dict(crawler.stats.get_stats())
                    closed[spider.name].setdefault("finish_reason", reason)

                crawler.signals.connect(on_closed, signal=signals.spider_closed, weak=False)
                context = CrawlContext(
                    site=site,
                    state=self.state,
                    bus=self.bus,
                    topic=self.topic,
                    clock=self.clock,
                    searches=search_urls(getattr(site, "search", []), self.search_terms),
                )
                crawlers.append((site, crawler))
                deferreds.append(runner.crawl(crawler, context=context))
            return DeferredList(deferreds, consumeErrors=True)

        future = reactor.call(launch)
        stopping = False
        while True:
            try:
                results = future.result(timeout=0.2)
                break
            except FutureTimeout:
                if stop is not None and stop.is_set() and not stopping and runner_box:
                    stopping = True
                    log.info("stopping the crawl (pages in flight finish first)")
                    reactor.call(runner_box[0].stop)
        outcomes = []
        for (site, crawler), (ok, result) in zip(crawlers, results, strict=True):
            spider = crawler.spider if isinstance(crawler.spider, VeilleSpider) else None
            stats = closed.get(site.name)
            if not ok or stats is None:
                error = getattr(result, "value", result)
                log.error("%s: the crawl failed: %s", site.name, error)
                outcomes.append(CrawlOutcome(site.name, "failed", note=str(error)))
                continue
            outcomes.append(_outcome(site.name, stats, spider, time.monotonic() - started))
        for site, outcome in zip(sites, outcomes, strict=True):
            self._record(site, outcome, start_ts)
        keep = self.crawl_settings.forget_after.total_seconds()
        self.state.forget_before(self.clock.now().timestamp() - keep)
        return outcomes

    def _record(self, site: Site, outcome: CrawlOutcome, start_ts: float) -> None:
        previous = self.state.site(site.name)
        now = self.clock.now().timestamp()
        failing = outcome.status in ("unreachable", "failed", "bus_unavailable")
        failures = previous.failures + 1 if failing else 0
        interval = site.interval.total_seconds()
        delay = min(interval * 2 ** min(failures, 10), max(interval, _MAX_BACKOFF_S))
        if outcome.status == "bus_unavailable":
            delay = min(60.0, interval)
        self.state.save_site(
            replace(
                previous,
                next_crawl=now + delay * random.uniform(0.95, 1.05),
                last_start=start_ts,
                last_end=now,
                last_status=outcome.status,
                last_error=outcome.note,
                failures=failures,
                crawls=previous.crawls + 1,
                pages=previous.pages + outcome.pages,
                mentions=previous.mentions + outcome.new,
                errors=previous.errors + outcome.errors,
                last_pages=outcome.pages,
                last_mentions=outcome.new,
                last_errors=outcome.errors,
            )
        )
        self.counters.add(
            SCOPE,
            {
                "pages": outcome.pages,
                "published": outcome.new,
                "errors": outcome.errors,
                "refused": outcome.refused,
                f"status:{outcome.status}": 1,
            },
        )
        level = logging.WARNING if failing else logging.INFO
        log.log(
            level,
            "%s: %s, %d pages, %d new mentions, %d errors%s",
            site.name,
            outcome.status,
            outcome.pages,
            outcome.new,
            outcome.errors,
            f" ({outcome.note})" if outcome.note else "",
        )
