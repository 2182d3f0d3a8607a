"""robots.txt for the spiders, as RFC 9309 says (`crawlers.robots.robots_policy`): a 4xx means
no rules, but a 5xx, a 429 or no answer means *disallow everything*, where Scrapy's own
``RobotsTxtMiddleware`` would allow everything.

This middleware takes the place of Scrapy's and keeps its interface: ``ROBOTSTXT_OBEY``,
``ROBOTSTXT_PARSER`` and ``ROBOTSTXT_USER_AGENT``, the ``dont_obey_robotstxt`` meta key, the
``robots_parsed`` signal and the ``robotstxt/`` stats. It is built on public hooks only
(``from_crawler``, ``process_request``, the engine's ``download_async``, the parser's
``from_crawler``), so it does not depend on how Scrapy's own middleware is written inside.

Each host's robots.txt is fetched once per crawl, before any other request to that host leaves;
those requests wait for it. One that could not be read disallows the host for the rest of the
crawl, and the next crawl asks again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import load_object

from crawlers.crawl.stats import count
from crawlers.robots import RobotsVerdict, robots_policy

log = logging.getLogger(__name__)

Rules = RobotParser | bool
"""A host's robots.txt: its parsed rules, or whether everything is allowed."""


class RobotsPolicyMiddleware:
    DOWNLOAD_PRIORITY = 1000
    """robots.txt goes before the pages waiting for it (Scrapy's own priority for it)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        self.crawler = crawler
        self.robots_agent: str | None = settings.get("ROBOTSTXT_USER_AGENT") or None
        self.default_agent: str = settings.get("USER_AGENT")
        self.parser: type[RobotParser] = load_object(settings.get("ROBOTSTXT_PARSER"))
        self.hosts: dict[str, asyncio.Future[Rules]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if request.meta.get("dont_obey_robotstxt") or request.url.startswith(("data:", "file:")):
            return
        url = urlparse_cached(request)
        pending = self.hosts.get(url.netloc)
        if pending is None:
            pending = asyncio.ensure_future(self._read(url.scheme, url.netloc, request))
            self.hosts[url.netloc] = pending
        # Shielded: a request cancelled while it waits must not cancel its host's robots.txt,
        # which other requests wait for too.
        rules = await asyncio.shield(pending)
        if isinstance(rules, bool):
            allowed = rules
        else:
            agent = self.robots_agent or request.headers.get(b"User-Agent") or self.default_agent
            allowed = rules.allowed(request.url, agent)
        if not allowed:
            log.debug("Forbidden by robots.txt: %s", request)
            self.crawler.stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest("Forbidden by robots.txt")

    async def _read(self, scheme: str, host: str, first: Request) -> Rules:
        """The rules of ``host``'s robots.txt, as the policy reads its answer (or its silence);
        ``first`` is the request that asked for them."""
        robots = Request(
            f"{scheme}://{host}/robots.txt",
            priority=self.DOWNLOAD_PRIORITY,
            meta={"dont_obey_robotstxt": True},
            callback=NO_CALLBACK,
        )
        engine = self.crawler.engine
        assert engine is not None
        try:
            response = await engine.download_async(robots)
            rules = await self._answered(host, response, first)
        except Exception as exc:
            rules = self._unanswered(host, exc)
        self.crawler.stats.inc_value("robotstxt/request_count")
        return rules

    async def _answered(self, host: str, response: Response, first: Request) -> Rules:
        stats = self.crawler.stats
        stats.inc_value("robotstxt/response_count")
        stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        verdict = robots_policy(response.status)
        if verdict is RobotsVerdict.RULES:
            parser = self.parser.from_crawler(self.crawler, response.body)
            await self.crawler.signals.send_catch_log_async(
                signal=signals.robots_parsed, robotparser=parser, request=first
            )
            return parser
        if verdict is RobotsVerdict.ALLOW_ALL:
            return True
        return self._unavailable(host, f"answered {response.status}")

    def _unanswered(self, host: str, exc: Exception) -> Rules:
        """No answer, which the policy reads as ``robots_policy(None)``: disallow everything."""
        if isinstance(exc, IgnoreRequest):
            # A middleware dropped it on purpose (the site asked to wait past this crawl): the
            # site is not unreachable.
            return False
        self.crawler.stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        return self._unavailable(host, f"unreachable ({type(exc).__name__}: {exc})")

    def _unavailable(self, host: str, why: str) -> Rules:
        count(self.crawler, "robots_unavailable")
        log.warning("%s: robots.txt %s; nothing is fetched from it until the next crawl", host, why)
        return False
