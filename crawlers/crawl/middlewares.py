"""The crawl's manners, as Scrapy middlewares.

Downloader middlewares (between the engine and the network):

- `ProxyMiddleware`: every request, robots.txt included, goes through ``sources.http.proxy``
  when one is set;
- `RobotsPolicyMiddleware`: robots.txt as RFC 9309 says, which Scrapy's middleware does not
  quite: a 4xx means no rules, but a 5xx, a 429 or no answer means *disallow everything* (and the
  site is tried again at the next crawl), where Scrapy would allow everything;
- `PoliteRetryMiddleware`: 429 and 5xx answers and network errors are retried after a wait that
  doubles each time (``sources.crawl.backoff``), never shorter than ``Retry-After``; while a site
  asks to wait, none of its requests leave. A site that asks for more than
  ``max_retry_after`` is left for the next crawl: its other requests are dropped.

Spider middleware (between the spider and the scheduler):

- `UrlPolicyMiddleware`: each link a spider follows is put in its request form
  (`crawlers.crawl.urls.request_url`), checked against the trap rules and the site's allow and deny
  patterns, and against the depth and pagination limits. What is refused is counted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable
from typing import Any, Self

from protego import Protego
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.robotstxt import ProtegoRobotParser
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawlers.crawl.urls import request_url, trap
from crawlers.fetch import retry_after_seconds

log = logging.getLogger(__name__)

META_EXEMPT = "veille_exempt"
"""A request the spider built on purpose (a feed, a sitemap, an API call, a configured start):
the trap rules do not apply to it."""
META_HOPS = "veille_hops"
"""Links followed from a start URL; pagination does not count."""
META_PAGE = "veille_page"
"""Pages followed in the current list or thread."""


def _stat(crawler: Crawler, key: str, n: int = 1) -> None:
    crawler.stats.inc_value(f"veille/{key}", n)


class ProxyMiddleware:
    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        proxy = crawler.settings.get("VEILLE_PROXY")
        if not proxy:
            raise NotConfigured
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)


class _Parser(ProtegoRobotParser):
    """A robots.txt parser built from text we choose (allow all, or disallow all)."""

    def __init__(self, text: str) -> None:
        self.rp = Protego.parse(text)


_ALLOW_ALL = "User-agent: *\nAllow: /\n"
_DISALLOW_ALL = "User-agent: *\nDisallow: /\n"


class RobotsPolicyMiddleware(RobotsTxtMiddleware):
    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        status = response.status
        if 200 <= status < 300:
            await super()._parse_robots(response, netloc, request)
            return
        self._stats.inc_value("robotstxt/response_count")
        self._stats.inc_value(f"robotstxt/response_status_count/{status}")
        if 400 <= status < 500 and status != 429:
            text = _ALLOW_ALL
        else:
            text = _DISALLOW_ALL
            _stat(self.crawler, "robots_unavailable")
            log.warning(
                "%s: robots.txt answered %d; nothing is fetched from it until the next crawl",
                netloc,
                status,
            )
        self._install(netloc, _Parser(text))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            _stat(self.crawler, "robots_unavailable")
        self._install(netloc, _Parser(_DISALLOW_ALL))

    def _install(self, netloc: str, parser: _Parser) -> None:
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred) and not pending.called:
            pending.callback(parser)


class PoliteRetryMiddleware(RetryMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler.settings)
        self.crawler = crawler
        self.backoff = crawler.settings.getfloat("VEILLE_BACKOFF", 2.0)
        self.max_wait = crawler.settings.getfloat("VEILLE_MAX_RETRY_AFTER", 600.0)
        self.not_before: dict[str, float] = {}
        self.given_up: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    @staticmethod
    def _host(request: Request) -> str:
        return urlparse_cached(request).netloc

    async def process_request(self, request: Request) -> None:
        if self._host(request) in self.given_up:
            raise IgnoreRequest("the site asked to wait past this crawl (Retry-After)")
        wait = self.not_before.get(self._host(request), 0.0) - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def _pause(self, request: Request, seconds: float) -> None:
        host = self._host(request)
        self.not_before[host] = max(self.not_before.get(host, 0.0), time.monotonic() + seconds)

    def _wait_for(self, request: Request, retry_after: float | None) -> float:
        attempt = int(request.meta.get("retry_times", 0))
        wait: float = self.backoff * 2.0**attempt
        return max(wait, retry_after or 0.0)

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        header = response.headers.get(b"Retry-After")
        retry_after = retry_after_seconds(header.decode("latin-1") if header else None)
        wait = self._wait_for(request, retry_after)
        if wait > self.max_wait:
            _stat(self.crawler, "retry_after_too_long")
            log.warning(
                "%s asks to wait %.0f s (Retry-After); leaving it for the next crawl",
                self._host(request),
                wait,
            )
            self.given_up.add(self._host(request))
            return response
        retry = self._retry(request, f"HTTP {response.status}")
        if retry is None:
            return response
        self._pause(request, wait)
        _stat(self.crawler, "retries")
        return retry

    def process_exception(
        self, request: Request, exception: Exception, spider: Spider | None = None
    ) -> Request | Response | None:
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            self._pause(request, self._wait_for(request, None))
            _stat(self.crawler, "retries")
        return retry


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
        _stat(self.crawler, f"refused/{key}")
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
