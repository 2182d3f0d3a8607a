"""Helpers for the crawler tests: a crawl of sites served by `veille.demo.web.Web`, into a local
bus and a crawl state in a temporary directory, with what each crawl published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from crawlers.crawl.progress import CrawlState
from crawlers.crawl.runner import CrawlOutcome, CrawlRunner
from crawlers.settings import BlogSite, CrawlSettings, ForumSite, HttpSettings
from ingest.clock import Clock
from ingest.locallog import LocalLogBus
from ingest.record import Mention
from veille.demo.web import Web

TOPIC = "mentions.raw"


class Harness:
    """Crawls sites on ``web`` into ``directory``; each `crawl` returns what it published."""

    def __init__(
        self,
        directory: Path,
        web: Web | None,
        *,
        crawl: CrawlSettings | None = None,
        http: dict[str, Any] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.directory = directory
        self.web = web
        self.bus = LocalLogBus(directory / "bus.db")
        self.bus.ensure_topics([TOPIC])
        self.crawl_settings = crawl or CrawlSettings(backoff=timedelta(seconds=0.1))
        options = {"host_delay": "0s", **(http or {})}
        if web is not None:
            options.setdefault("proxy", web.proxy)
        self.http = HttpSettings(**options)
        self.clock = clock
        self.seen: set[tuple[int, int]] = set()
        self.outcomes: list[CrawlOutcome] = []

    def runner(
        self, sites: Sequence[BlogSite | ForumSite], search_terms: Sequence[str] = ()
    ) -> CrawlRunner:
        """A runner with a fresh state connection, as after a restart."""
        return CrawlRunner(
            sites,
            bus=self.bus,
            topic=TOPIC,
            state=CrawlState(self.directory / "crawl.db"),
            http=self.http,
            crawl=self.crawl_settings,
            search_terms=search_terms,
            clock=self.clock,
        )

    def crawl(
        self, *sites: BlogSite | ForumSite, search_terms: Sequence[str] = ()
    ) -> list[Mention]:
        """Crawl ``sites`` once; the mentions this crawl published, in order."""
        runner = self.runner(sites, search_terms)
        self.outcomes = runner.crawl()
        runner.state.close()
        new = []
        for message in self.bus.peek(TOPIC, 100_000):
            if (message.partition, message.offset) not in self.seen:
                self.seen.add((message.partition, message.offset))
                new.append(Mention.from_json(message.value))
        return new

    def requests(self, since: int = 0) -> list[tuple[str, str]]:
        assert self.web is not None
        return self.web.requests[since:]

    def close(self) -> None:
        self.bus.close()
