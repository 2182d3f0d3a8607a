"""robots.txt, fetched once per host and cached, interpreted as RFC 9309 says.

- 2xx: the rules apply (parsed with Protego, the parser Scrapy uses);
- 4xx (but 429): there are no rules, everything is allowed;
- 429, 5xx or unreachable: assume everything is disallowed, and ask again later.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from crawlers.fetch import Fetcher, FetchStatus

_MAX_ROBOTS_BYTES = 512 * 1024
_RETRY_UNREACHABLE_S = 300.0


@dataclass(frozen=True)
class _Entry:
    rules: Protego | None
    allow_all: bool
    expires: float


class RobotsCache:
    def __init__(self, fetcher: Fetcher, *, ttl_seconds: float, user_agent: str) -> None:
        self.fetcher = fetcher
        self.ttl = ttl_seconds
        self.agent = user_agent.split("/", 1)[0]
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            entry = self._cache.get(origin)
        if entry is None or entry.expires < time.monotonic():
            entry = self._fetch(origin)
            with self._lock:
                self._cache[origin] = entry
        if entry.rules is None:
            return entry.allow_all
        return bool(entry.rules.can_fetch(url, self.agent))

    def _fetch(self, origin: str) -> _Entry:
        result = self.fetcher.get(
            f"{origin}/robots.txt", accept="text/plain, */*;q=0.5", max_bytes=_MAX_ROBOTS_BYTES
        )
        now = time.monotonic()
        if result.status is FetchStatus.OK:
            text = result.body.decode("utf-8", errors="replace")
            return _Entry(Protego.parse(text), True, now + self.ttl)
        if (
            result.http_status is not None
            and 400 <= result.http_status < 500
            and (result.http_status != 429)
        ):
            return _Entry(None, True, now + self.ttl)
        return _Entry(None, False, now + _RETRY_UNREACHABLE_S)
