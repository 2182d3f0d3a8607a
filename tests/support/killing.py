"""Killing a worker with SIGKILL at random moments while its local server keeps publishing, for
the connectors' crash tests: start the publisher (`keep_publishing`), kill and restart the
worker (`Restarted`), then read what reached ``mentions.raw`` (`raw_ids`); the whole run is
`killed_while_publishing`."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ingest.locallog import LocalLogBus
from ingest.record import Mention
from tests.support.waiting import wait_for


@contextmanager
def keep_publishing(post: Callable[[int], None], every: float = 0.01) -> Iterator[None]:
    """Call ``post(n)`` (n = 1, 2...) every ``every`` seconds in a thread until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        n = 0
        while not stop.wait(every):
            n += 1
            post(n)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


class Restarted:
    """``command`` run as a subprocess (output appended to ``log_path``), to be killed with
    SIGKILL and started again; killed for good when the ``with`` block ends."""

    def __init__(
        self, command: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.command = list(command)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._log = log_path.open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=self.env
        )

    def kill_at_random_moments(
        self, kills: int = 10, *, seed: int = 14, between: tuple[float, float] = (0.2, 2.5)
    ) -> None:
        """SIGKILL it ``kills`` times, each after a random moment, starting it again each
        time."""
        rng = random.Random(seed)
        for _ in range(kills):
            time.sleep(rng.uniform(*between))
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = self._start()

    def stop_cleanly(self) -> None:
        """Ctrl-C it: it must exit 0 (the end of its log is the failure message)."""
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(30) == 0, self.log_path.read_text()[-3000:]

    def __enter__(self) -> Restarted:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


def raw_ids(bus_path: Path, topic: str = "mentions.raw") -> list[str]:
    """The ids of every mention on ``topic`` of the local bus at ``bus_path``, in order."""
    bus = LocalLogBus(bus_path)
    try:
        return [Mention.from_json(m.value).id for m in bus.peek(topic, 1_000_000)]
    finally:
        bus.close()


def killed_while_publishing(
    command: Sequence[str],
    directory: Path,
    post: Callable[[int], None],
    ready: Callable[[], bool],
    expected: Collection[str] | Callable[[], Collection[str]],
    *,
    every: float = 0.01,
) -> list[str]:
    """Run ``command`` (its log in ``directory/run.log``, its data in ``directory/data``);
    once ``ready`` (it reached its server), keep calling ``post`` every ``every`` seconds while
    it is killed with SIGKILL ten times at random moments and restarted; wait until every id
    ``expected`` gives (which ``post`` fills, or a function that reads them from the server once
    publishing stopped) is on ``mentions.raw``; stop it cleanly. Returns the ids on
    ``mentions.raw``, in order, repeats included."""
    bus_path = directory / "data" / "bus.db"
    with Restarted(command, directory / "run.log") as run:
        wait_for(ready, 60, "the first request")
        with keep_publishing(post, every):
            run.kill_at_random_moments()
        wanted = set(expected() if callable(expected) else expected)
        wait_for(lambda: wanted <= set(raw_ids(bus_path)), 90, "every post after the kills")
        published = raw_ids(bus_path)
        run.stop_cleanly()
    return published
