"""Settings the crawlers own: feed sources, Google News searches, and how to fetch politely."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, field_validator

from ingest.record import SourceKind
from ingest.settings import Duration, Strict

DEFAULT_USER_AGENT = (
    "Veille/0.1 (e-reputation monitoring; +https://github.com/veille-project/veille)"
)


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"expected an http:// or https:// URL, not '{value}'")
    return value


class FeedSource(Strict):
    """An RSS, Atom or JSON Feed to poll."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    url: str
    kind: SourceKind = SourceKind.BLOG
    lang: str | None = None
    interval: Duration = timedelta(minutes=15)
    respect_robots: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class GoogleNewsSource(Strict):
    """A Google News RSS search built from a brand's query (see `crawlers.feeds.google`)."""

    brand: str
    lang: str = "fr"
    country: str = "FR"
    interval: Duration = timedelta(minutes=30)


class HttpSettings(Strict):
    """How Veille fetches: who it says it is, how long it waits, how much it reads."""

    user_agent: str = DEFAULT_USER_AGENT
    proxy: str | None = None
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=30)
    total_timeout: Duration = timedelta(seconds=60)
    max_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    host_delay: Duration = timedelta(seconds=1)
    robots_cache: Duration = timedelta(hours=12)


class FeedPollerSettings(Strict):
    """Feed-poller behaviour: backoff after failures, how long seen ids are remembered."""

    max_backoff: Duration = timedelta(hours=6)
    hard_failure_delay: Duration = timedelta(hours=24)
    forget_after: Duration = timedelta(days=30)


class SourcesSettings(Strict):
    feeds: list[FeedSource] = []
    google_news: list[GoogleNewsSource] = []
    http: HttpSettings = HttpSettings()
    poller: FeedPollerSettings = FeedPollerSettings()

    @field_validator("feeds")
    @classmethod
    def _unique(cls, feeds: list[FeedSource]) -> list[FeedSource]:
        names = [f.name for f in feeds]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feed names must be unique; repeated: {', '.join(dupes)}")
        return feeds
