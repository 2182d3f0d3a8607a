"""A ``veille`` command run as a crash would treat it: killed with SIGKILL at random moments and
started again, for the tests that check nothing is lost and nothing doubled across crashes."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

from ingest.locallog import LocalLogBus
from ingest.record import Mention
from tests.support.waiting import wait_for


class Publishing:
    """``one(n)`` for n = 1, 2, 3... every 10 ms in a thread, as a server keeps publishing,
    from `start` until `stop`."""

    def __init__(self, one: Callable[[int], None]) -> None:
        self.one = one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publishing", daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(0.01):
            n += 1
            self.one(n)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)


class KilledRuns:
    """``veille --config CONFIG ARGS...`` in a subprocess, its output appended to ``log``; a
    ``with`` block kills what is left running at its end."""

    def __init__(
        self, config: Path, args: list[str], log: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.command = [sys.executable, "-m", "veille.cli", "--config", str(config), *args]
        self.log_path = log
        self.env = dict(env) if env is not None else None
        self._log = log.open("ab")
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command, stdout=self._log, stderr=subprocess.STDOUT, env=self.env
        )

    def kill_and_restart(self, times: int = 10, seed: int = 14) -> None:
        """SIGKILL the run ``times`` times, 0.2 to 2.5 s apart, starting it again each time."""
        rng = random.Random(seed)
        for _ in range(times):
            time.sleep(rng.uniform(0.2, 2.5))
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = self._start()

    def finish(
        self, publishing: Publishing, bus_path: Path, expected: list[str], what: str
    ) -> list[str]:
        """Stop ``publishing``; once every one of ``expected`` is on ``mentions.raw``, stop
        the last run as a user does (SIGINT: it must exit cleanly); the ids published, in
        order, with repeats."""
        publishing.stop()
        published = published_ids(bus_path, expected, what)
        self.process.send_signal(signal.SIGINT)
        assert self.process.wait(30) == 0, self.log_path.read_text()[-3000:]
        return published

    def __enter__(self) -> KilledRuns:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._log.close()


def published_ids(bus_path: Path, expected: list[str], what: str) -> list[str]:
    """The ids on ``mentions.raw`` once every one of ``expected`` is there (in order, with
    repeats)."""
    bus = LocalLogBus(bus_path)
    try:

        def ids() -> list[str]:
            return [Mention.from_json(m.value).id for m in bus.peek("mentions.raw", 100_000)]

        wait_for(lambda: set(expected) <= set(ids()), 60, what)
        return ids()
    finally:
        bus.close()
