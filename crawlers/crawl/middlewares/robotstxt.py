"""robots.txt as RFC 9309 says, which Scrapy's middleware does not quite: a 4xx means no rules,
but a 5xx, a 429 or no answer means *disallow everything* (and the site is tried again at the
next crawl), where Scrapy would allow everything.
"""

from __future__ import annotations

import logging

from protego import Protego
from scrapy import Request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.robotstxt import ProtegoRobotParser
from twisted.internet.defer import Deferred

from crawlers.crawl.stats import count

log = logging.getLogger(__name__)


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
            count(self.crawler, "robots_unavailable")
            log.warning(
                "%s: robots.txt answered %d; nothing is fetched from it until the next crawl",
                netloc,
                status,
            )
        self._install(netloc, _Parser(text))

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if not isinstance(exc, IgnoreRequest):
            self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
            count(self.crawler, "robots_unavailable")
        self._install(netloc, _Parser(_DISALLOW_ALL))

    def _install(self, netloc: str, parser: _Parser) -> None:
        pending = self._parsers.get(netloc)
        self._parsers[netloc] = parser
        if isinstance(pending, Deferred) and not pending.called:
            pending.callback(parser)
