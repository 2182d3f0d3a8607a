"""Links a spider follows, kept within bounds: each is put in its request form
(`crawlers.crawl.urls.request_url`), checked against the trap rules and the site's allow and deny
patterns, and against the depth and pagination limits. What is refused is counted.

A spider middleware: it sees the requests a spider yields (its start requests too) before the
scheduler does. The spiders mark their requests with the meta keys below.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response

from crawlers.crawl.stats import count
from crawlers.crawl.urls import request_url, trap

log = logging.getLogger(__name__)

META_EXEMPT = "veille_exempt"
"""A request the spider built on purpose (a feed, a sitemap, an API call, a configured start):
the trap rules do not apply to it."""
META_HOPS = "veille_hops"
"""Links followed from a start URL; pagination does not count."""
META_PAGE = "veille_page"
"""Pages followed in the current list or thread."""


class UrlPolicyMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.trap_params = tuple(settings.getlist("VEILLE_TRAP_PARAMS"))
        self.max_depth = settings.getint("VEILLE_MAX_DEPTH", 6)
        self.max_pagination = settings.getint("VEILLE_MAX_PAGINATION", 100)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def _patterns(self, spider: Spider) -> tuple[list[re.Pattern[str]], list[re.Pattern[str]]]:
        site = getattr(spider, "site", None)
        allow = [re.compile(p) for p in getattr(site, "allow", [])]
        deny = [re.compile(p) for p in getattr(site, "deny", [])]
        return allow, deny

    def _refused(self, request: Request) -> str | None:
        if request.meta.get(META_EXEMPT):
            return None
        spider = self.crawler.spider
        assert spider is not None
        reason = trap(request.url, self.trap_params)
        if reason:
            return f"trap: {reason}"
        allow, deny = self._patterns(spider)
        if any(p.search(request.url) for p in deny):
            return "denied by the site's settings"
        if allow and not any(p.search(request.url) for p in allow):
            return "not allowed by the site's settings"
        if request.meta.get(META_HOPS, 0) > self.max_depth:
            return "depth limit"
        if request.meta.get(META_PAGE, 0) > self.max_pagination:
            return "pagination limit"
        return None

    def _filter(self, output: Any) -> Any | None:
        if not isinstance(output, Request):
            return output
        url = request_url(output.url)
        if url != output.url:
            output = output.replace(url=url)
        reason = self._refused(output)
        if reason is None:
            return output
        key = reason.split(":", 1)[0].replace(" ", "_")
        count(self.crawler, f"refused/{key}")
        log.debug("not following %s (%s)", output.url, reason)
        return None

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in start:
            kept = self._filter(output)
            if kept is not None:
                yield kept

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        for output in result:
            kept = self._filter(output)
            if kept is not None:
                yield kept

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for output in result:
            kept = self._filter(output)
            if kept is not None:
                yield kept
