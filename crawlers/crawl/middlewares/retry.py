"""Failures retried politely: 429 and 5xx answers and network errors are retried after a wait
that doubles each time (``sources.crawl.backoff``), never shorter than ``Retry-After``; while a
site asks to wait, none of its requests leave. A site that asks for more than
``max_retry_after`` is left for the next crawl: its other requests are dropped.

It takes the place of Scrapy's ``RetryMiddleware``, which retries at once, and reads the same
settings (``RETRY_ENABLED``, ``RETRY_TIMES``, ``RETRY_HTTP_CODES``, ``RETRY_EXCEPTIONS``,
``RETRY_PRIORITY_ADJUST``, ``RETRY_GIVE_UP_LOG_LEVEL``) and request meta keys (``dont_retry``,
``max_retry_times``...). Each retry is built by Scrapy's public `get_retry_request`, which
counts it in Scrapy's ``retry/`` stats and logs when it gives up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object

from crawlers.crawl.stats import count
from crawlers.fetch import retry_after_seconds

log = logging.getLogger(__name__)


class PoliteRetryMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(code) for code in settings.getlist("RETRY_HTTP_CODES")}
        self.priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.give_up_log_level = settings["RETRY_GIVE_UP_LOG_LEVEL"]
        self.retry_exceptions: tuple[type[Exception], ...] = tuple(
            load_object(e) if isinstance(e, str) else e
            for e in settings.getlist("RETRY_EXCEPTIONS")
        )
        self.backoff = settings.getfloat("VEILLE_BACKOFF", 2.0)
        self.max_wait = settings.getfloat("VEILLE_MAX_RETRY_AFTER", 600.0)
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

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        header = response.headers.get(b"Retry-After")
        retry_after = retry_after_seconds(header.decode("latin-1") if header else None)
        wait = self._wait_for(request, retry_after)
        if wait > self.max_wait:
            count(self.crawler, "retry_after_too_long")
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
        count(self.crawler, "retries")
        return retry

    def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.retry_exceptions
        ):
            return None
        retry = self._retry(request, exception)
        if retry is not None:
            self._pause(request, self._wait_for(request, None))
            count(self.crawler, "retries")
        return retry

    def _retry(self, request: Request, reason: str | Exception) -> Request | None:
        """The request again, or None once it was tried ``RETRY_TIMES`` times."""
        spider = self.crawler.spider
        assert spider is not None
        meta: dict[str, Any] = request.meta
        return get_retry_request(
            request,
            spider=spider,
            reason=reason,
            max_retry_times=meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=meta.get("priority_adjust", self.priority_adjust),
            give_up_log_level=meta.get("give_up_log_level", self.give_up_log_level),
        )

    def _pause(self, request: Request, seconds: float) -> None:
        host = self._host(request)
        self.not_before[host] = max(self.not_before.get(host, 0.0), time.monotonic() + seconds)

    def _wait_for(self, request: Request, retry_after: float | None) -> float:
        attempt = int(request.meta.get("retry_times", 0))
        wait: float = self.backoff * 2.0**attempt
        return max(wait, retry_after or 0.0)
