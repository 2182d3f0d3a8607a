"""A networks poller for the connector tests: the connectors built from their settings, into a
local bus and a state file in a directory, so that a new one on the same directory is a
restart. `harnesses` and `servers` make the tests' fixtures: what they start is stopped at the
end. `command_line` runs ``veille`` on a connector's configuration (`tests.support.killing` kills
it at random moments)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

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
from veille.demo.loopback import LoopbackServer

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


@contextmanager
def harnesses(directory: Path, clock: Clock) -> Iterator[Callable[..., Harness]]:
    """``make(*connectors)``: a `Harness` on ``directory``; all are closed on leaving."""
    made: list[Harness] = []

    def make(*connectors: dict[str, Any]) -> Harness:
        made.append(Harness(directory, list(connectors), clock))
        return made[-1]

    try:
        yield make
    finally:
        for harness in made:
            harness.close()


Server = TypeVar("Server", bound=LoopbackServer)


@contextmanager
def servers(build: Callable[..., Server]) -> Iterator[Callable[..., Server]]:
    """``start(**options)``: a server ``build(**options)`` makes, started; all are stopped on
    leaving."""
    started: list[Server] = []

    def start(**options: Any) -> Server:
        started.append(build(**options).start())
        return started[-1]

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def command_line(directory: Path, connector: str, secret: str) -> Callable[..., tuple[int, str]]:
    """``veille`` as a user runs it, on a configuration in ``directory`` whose
    ``sources.networks`` is the YAML ``connector`` (indented as an item of it): each call gives
    the exit code and what it printed, and fails the test if ``secret`` shows in it."""
    from click.testing import CliRunner

    from veille.cli import cli

    path = directory / "veille.yaml"
    path.write_text(
        f"data_dir: {directory / 'data'}\n"
        "brands: [{name: Acme, query: acme}]\n"
        f"sources:\n  networks:\n{connector}"
    )

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["--config", str(path), *args])
        assert secret not in result.output
        return result.exit_code, result.output

    return run
