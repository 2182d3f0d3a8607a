"""Which connector serves which ``type`` of ``sources.networks``: the one place a new platform is
added. Each platform's module is imported only when a connector of its type is built."""

from __future__ import annotations

from collections.abc import Sequence

from crawlers.networks.base import Connector
from crawlers.networks.settings import (
    BlueskySettings,
    ConnectorSettings,
    HackerNewsSettings,
    MastodonSettings,
    RedditSettings,
    XSettings,
    YoutubeSettings,
)
from crawlers.settings import HttpSettings
from ingest.clock import Clock
from ingest.settings import Brand


def build_connector(
    settings: ConnectorSettings,
    http: HttpSettings,
    clock: Clock | None = None,
    brands: Sequence[Brand] = (),
) -> Connector:
    """The connector that ``settings`` describes. ``brands``: for the connectors that read a
    whole stream and keep what matches a brand's query (Bluesky)."""
    if isinstance(settings, MastodonSettings):
        from crawlers.networks.mastodon import MastodonConnector

        return MastodonConnector(settings, http, clock)
    if isinstance(settings, BlueskySettings):
        from crawlers.networks.bluesky import BlueskyConnector

        return BlueskyConnector(settings, http, clock, brands)
    if isinstance(settings, RedditSettings):
        from crawlers.networks.reddit import RedditConnector

        return RedditConnector(settings, http, clock)
    if isinstance(settings, HackerNewsSettings):
        from crawlers.networks.hackernews import HackerNewsConnector

        return HackerNewsConnector(settings, http, clock)
    if isinstance(settings, YoutubeSettings):
        from crawlers.networks.youtube import YoutubeConnector

        return YoutubeConnector(settings, http, clock)
    if isinstance(settings, XSettings):
        from crawlers.networks.x import XConnector

        return XConnector(settings, http, clock)
    raise ValueError(f"unknown network type '{settings.type}'")
