"""A networks poller for the connector tests: the connectors built from their settings, into a
local bus and a state file in a directory, so that a new one on the same directory is a
restart."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from crawlers.networks.poller import NetworkPoller
from crawlers.networks.registry import build_connector
from crawlers.networks.settings import ConnectorSettings
from crawlers.networks.state import NetworkStateStore
from crawlers.settings import FeedPollerSettings, HttpSettings
from ingest.clock import Clock
from ingest.counters import MemoryCounters
from ingest.locallog import LocalLogBus
from ingest.record import Mention
from ingest.settings import Brand

TOPIC = "mentions.raw"
CONNECTORS: TypeAdapter[ConnectorSettings] = TypeAdapter(ConnectorSettings)


class Harness:
    """A networks poller on the connectors ``connectors`` describe (``sources.networks``
    entries), matching ``brands`` where a connector filters by them."""

    def __init__(
        self,
        directory: Path,
        connectors: list[dict[str, Any]],
        clock: Clock,
        brands: Sequence[Brand] = (),
    ) -> None:
        self.clock = clock
        self.bus = LocalLogBus(directory / "bus.db")
        self.state = NetworkStateStore(directory / "networks.db")
        self.counters = MemoryCounters()
        self.poller = NetworkPoller(
            [
                build_connector(CONNECTORS.validate_python(c), HttpSettings(), clock, brands)
                for c in connectors
            ],
            bus=self.bus,
            topic=TOPIC,
            state=self.state,
            settings=FeedPollerSettings(),
            clock=clock,
            counters=self.counters,
        )

    def close(self) -> None:
        self.poller.close()
        self.state.close()
        self.bus.close()

    def published(self) -> list[Mention]:
        return [Mention.from_json(m.value) for m in self.bus.peek(TOPIC, 100_000)]

    def texts(self) -> list[str]:
        return sorted(m.text for m in self.published())
