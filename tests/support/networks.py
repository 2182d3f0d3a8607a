"""A networks poller for the connector tests: the connectors built from their settings, into a
local bus and a state file in a directory, so that a new one on the same directory is a
restart. `harnesses` and `servers` make the tests' fixtures: what they start is stopped at the
end. `Killed` and `killed_at_random` run ``veille networks run`` and kill it at random moments;
`command_line` runs ``veille`` on a connector's configuration."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
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
from tests.support.waiting import wait_for
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


class Killed:
    """``command`` run in the background (its output appended to ``log``), to be killed with
    SIGKILL at random moments and started again, then stopped with SIGINT."""

    def __init__(self, command: list[str], log: Path) -> None:
        self.command = command
        self.log = log.open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT)

    def kill_and_restart(self, times: int, rng: random.Random, most: float) -> None:
        """``times`` times: wait up to ``most`` seconds, SIGKILL, start again."""
        for _ in range(times):
            time.sleep(rng.uniform(0.2, most))
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = self._start()

    def stop(self) -> int:
        """SIGINT, and the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


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


@contextmanager
def killed_at_random(
    command: list[str],
    log: Path,
    *,
    ready: Callable[[], bool],
    publish: Callable[[int], None],
    kills: int = 10,
    seed: int = 14,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (``veille networks run``) once ``ready`` says the platform saw it, call
    ``publish(n)`` every 20 ms from a thread, kill it with SIGKILL ``kills`` times at random
    moments (restarting it each time), stop publishing, and yield the last run; it is
    interrupted (SIGINT, which must end it cleanly) or killed when the block ends."""
    stop = threading.Event()

    def publisher() -> None:
        n = 0
        while not stop.wait(0.02):
            n += 1
            publish(n)

    rng = random.Random(seed)
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        thread = threading.Thread(target=publisher, daemon=True)
        try:
            wait_for(ready, 60, "the first request")
            thread.start()
            for _ in range(kills):
                time.sleep(rng.uniform(0.2, 2.0))
                process.send_signal(signal.SIGKILL)
                process.wait(10)
                process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
            stop.set()
            thread.join(5)
            yield process
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == 0, log.read_text()[-3000:]
        finally:
            stop.set()
            if process.poll() is None:
                process.kill()
                process.wait(10)


def published_ids(data_dir: Path, until: Callable[[list[str]], bool]) -> list[str]:
    """The ids of the mentions in ``mentions.raw`` of the local bus in ``data_dir``, once
    ``until`` says they are all there (a minute at most)."""
    bus = LocalLogBus(data_dir / "bus.db")
    try:

        def ids() -> list[str]:
            return [Mention.from_json(m.value).id for m in bus.peek(TOPIC, 10**6)]

        wait_for(lambda: until(ids()), 60, "every post after the restarts")
        return ids()
    finally:
        bus.close()
