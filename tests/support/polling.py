"""A feed poller for the tests: into a local bus, a state file and counters in a temporary
directory, fetching with the given `HttpSettings` (through a `veille.demo.web.Web` proxy, or
straight to loopback servers)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from crawlers.feeds.poller import FeedPoller
from crawlers.feeds.state import FeedStateStore
from crawlers.fetch import Fetcher
from crawlers.robots import RobotsCache
from crawlers.settings import FeedPollerSettings, FeedSource, HttpSettings
from ingest.clock import Clock
from ingest.counters import MemoryCounters
from ingest.locallog import LocalLogBus
from ingest.record import Mention

TOPIC = "mentions.raw"


class PollHarness:
    def __init__(
        self,
        directory: Path,
        feeds: Sequence[FeedSource],
        *,
        http: HttpSettings,
        clock: Clock | None = None,
        settings: FeedPollerSettings | None = None,
    ) -> None:
        self.bus = LocalLogBus(directory / "bus.db")
        self.counters = MemoryCounters()
        self.http = http
        self.fetcher = Fetcher(http)
        self.state = FeedStateStore(directory / "feeds.db")
        self.poller = FeedPoller(
            feeds,
            bus=self.bus,
            topic=TOPIC,
            state=self.state,
            fetcher=self.fetcher,
            robots=RobotsCache(self.fetcher, ttl_seconds=3600, user_agent=http.user_agent),
            settings=settings or FeedPollerSettings(),
            http=http,
            clock=clock,
            counters=self.counters,
        )

    def close(self) -> None:
        self.fetcher.close()
        self.state.close()
        self.bus.close()

    def published(self) -> list[Mention]:
        return [Mention.from_json(m.value) for m in self.bus.peek(TOPIC, 10_000)]

    def counts(self) -> dict[str, int]:
        return self.counters.read().get("poll", {})
