"""Which connector serves which ``type`` of ``sources.networks``: the one place a new platform is
added. Each platform's module is imported only when a connector of its type is built."""

from __future__ import annotations

from crawlers.networks.base import Connector
from crawlers.networks.settings import ConnectorSettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock


def build_connector(
    settings: ConnectorSettings, http: HttpSettings, clock: Clock | None = None
) -> Connector:
    """The connector that ``settings`` describes."""
    if settings.type == "mastodon":
        from crawlers.networks.mastodon import MastodonConnector

        return MastodonConnector(settings, http, clock)
    raise ValueError(f"unknown network type '{settings.type}'")
