"""robots.txt as RFC 9309 says, for both ways Veille fetches: one policy (`robots_policy`) that
the feed fetcher's `RobotsCache` and the spiders' middleware
(`crawlers.crawl.middlewares.robotstxt`) both follow.

- 2xx: the rules apply (parsed with Protego, the parser Scrapy uses);
- 4xx (but 429): there are no rules, everything is allowed;
- 429, 5xx or unreachable: assume everything is disallowed, and ask again later.

The policy's one decision is kept, but why is recorded (`RobotsDecision.unavailable`): a host
whose robots.txt could not be read (down, refusing, timing out, answering 5xx) is a passing
failure, which the feed poller retries with backoff, not a site that disallows Veille.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

from protego import Protego

from crawlers.fetch import Fetcher, FetchStatus

_MAX_ROBOTS_BYTES = 512 * 1024
_RETRY_UNREACHABLE_S = 300.0


class RobotsVerdict(Enum):
    RULES = "rules"
    """The file's rules apply."""
    ALLOW_ALL = "allow_all"
    """There is no file: nothing is disallowed."""
    DISALLOW_ALL = "disallow_all"
    """The file could not be read: everything is disallowed until it is asked for again."""


def robots_policy(status: int | None) -> RobotsVerdict:
    """What a robots.txt answer means, from its HTTP status (None: no answer, or none whole)."""
    if status is not None and 200 <= status < 300:
        return RobotsVerdict.RULES
    if status is not None and 400 <= status < 500 and status != 429:
        return RobotsVerdict.ALLOW_ALL
    return RobotsVerdict.DISALLOW_ALL


@dataclass(frozen=True)
class RobotsDecision:
    allowed: bool
    unavailable: str | None = None
    """Why robots.txt could not be read, when it could not ("host unreachable: ..."): the
    policy disallows everything for now, but the site has not said no."""


@dataclass(frozen=True)
class _Entry:
    rules: Protego | None
    allow_all: bool
    expires: float
    unavailable: str | None = None


class RobotsCache:
    """robots.txt for the feed poller and ``veille extract``: fetched once per origin and kept
    ``ttl_seconds``, or five minutes when it could not be read."""

    def __init__(self, fetcher: Fetcher, *, ttl_seconds: float, user_agent: str) -> None:
        self.fetcher = fetcher
        self.ttl = ttl_seconds
        self.agent = user_agent.split("/", 1)[0]
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        return self.decide(url).allowed

    def decide(self, url: str) -> RobotsDecision:
        """Whether ``url`` may be fetched, and if not because robots.txt could not be read,
        why."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            entry = self._cache.get(origin)
        if entry is None or entry.expires < time.monotonic():
            entry = self._fetch(origin)
            with self._lock:
                self._cache[origin] = entry
        if entry.rules is None:
            return RobotsDecision(entry.allow_all, entry.unavailable)
        return RobotsDecision(bool(entry.rules.can_fetch(url, self.agent)))

    def _fetch(self, origin: str) -> _Entry:
        result = self.fetcher.get(
            f"{origin}/robots.txt", accept="text/plain, */*;q=0.5", max_bytes=_MAX_ROBOTS_BYTES
        )
        now = time.monotonic()
        status = result.http_status
        if result.status is not FetchStatus.OK and status is not None and 200 <= status < 300:
            status = None  # a 2xx whose body did not come whole (too large, too slow)
        verdict = robots_policy(status)
        if verdict is RobotsVerdict.RULES:
            text = result.body.decode("utf-8", errors="replace")
            return _Entry(Protego.parse(text), True, now + self.ttl)
        if verdict is RobotsVerdict.ALLOW_ALL:
            return _Entry(None, True, now + self.ttl)
        if result.http_status is None:
            why = f"host unreachable: robots.txt not fetched ({result.error})"
        elif status is None:
            why = f"robots.txt not read whole ({result.error})"
        else:
            why = f"robots.txt answered HTTP {status}; nothing is fetched until it answers"
        return _Entry(None, False, now + _RETRY_UNREACHABLE_S, why)
