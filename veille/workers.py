"""Running Veille's loops: worker threads in one process, enrich worker processes, and stopping
them cleanly on Ctrl-C or SIGTERM.

- `stop_on_signals`: a stop event set by the first SIGINT or SIGTERM (the batch in flight
  finishes or is replayed at the next start); a second signal quits at once;
- `run_workers`: ``veille run``, every loop in a thread of this process; after a stop, the
  threads have `STOP_WITHIN_S` in all to finish (the feed poller cuts its fetches and takes about
  a second), then the process goes on without them;
- `Processes`: N processes running one loop, started and stopped together: ``veille run``
  supervises its enrich processes (each a member of the enrich consumer group) from one of its
  threads, ``veille enrich`` from its main thread (`run_processes`);
  `enrich_process_count` says how many (``enrich.workers``, one per core by default).

The rule when a worker stops on its own (an error, or a process killed from outside): every
worker stops and the command exits with 1, for a service manager to restart it (systemd
``Restart=on-failure``, compose's ``restart: unless-stopped``). Nothing is restarted in place:
a worker that fails at start (a missing model, a bad store URL) would fail again, and delivery
is at least once, so whatever a dead worker had in flight is replayed by the next start.

The command line (`veille.cli`) decides what to run; this module owns how it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from ingest.errors import VeilleError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from veille.app import Worker
    from veille.settings import Settings

log = logging.getLogger("veille")

STOP_WITHIN_S = 60.0
"""How long `run_workers` waits, in all, for its threads to stop once asked to."""
KILL_AFTER_S = STOP_WITHIN_S - 5.0
"""How long `Processes` waits for its processes to finish their batch once asked to stop,
before it kills them: within `STOP_WITHIN_S`, so that ``veille run`` leaves none behind."""


class WorkerFailed(Exception):
    """A worker stopped on its own, or did not stop cleanly when asked to."""


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM while the block runs; a second signal exits at once."""
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(130)
        log.info("stopping (signal %d); press Ctrl-C again to quit at once", signum)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_workers(workers: list[Worker], stop: threading.Event) -> int:
    """Run each worker in a thread until ``stop``; if one fails, stop all and return 1."""
    failed: list[str] = []

    def guard(worker: Worker) -> None:
        try:
            worker.target(stop)
        except Exception as exc:
            if isinstance(exc, VeilleError):  # it says what went wrong and what to do
                log.error("%s stopped: %s; stopping every worker", worker.name, exc)
            else:
                log.exception("%s stopped on an error; stopping every worker", worker.name)
            failed.append(worker.name)
            stop.set()

    threads = [threading.Thread(target=guard, args=(w,), name=w.name, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    log.info("running %s; Ctrl-C to stop", ", ".join(w.name for w in workers))
    while not stop.is_set():
        stop.wait(0.5)
    deadline = time.monotonic() + STOP_WITHIN_S
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("%s did not stop within %.0f s; leaving it", thread.name, STOP_WITHIN_S)
    return 1 if failed else 0


def cores() -> int:
    """The cores this process may run on: its CPU affinity, which ``taskset`` and container
    runtimes' ``--cpuset-cpus`` narrow."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def enrich_process_count(settings: Settings) -> tuple[int, str]:
    """How many enrich processes to start, and why (said at start): ``enrich.workers``, or for
    ``auto`` and 0 one per core, at most one per partition of the bus (a member of the consumer
    group without a partition idles, with a copy of the models in memory)."""
    configured = settings.enrich.workers
    partitions = settings.bus.partitions
    if isinstance(configured, int) and configured > 0:
        idle = configured - partitions
        note = f"; {idle} will idle, bus.partitions is {partitions}" if idle > 0 else ""
        return configured, f"enrich.workers: {configured}{note}"
    count = cores()
    if count > partitions:
        return partitions, f"enrich.workers: auto, {count} cores, one per bus partition"
    return count, f"enrich.workers: auto, {count} core{'s' if count > 1 else ''}"


def _stop_with_parent(stop: threading.Event) -> None:
    """Set ``stop`` when the parent process ends, even killed with SIGKILL: an orphan would
    otherwise go on consuming beside the workers of the next start."""
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        if not stop.is_set():
            log.warning("the parent process ended; stopping after this batch")
            stop.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class ProcessTarget(Protocol):
    """What runs in each of `Processes`' processes, until ``stop`` (or, with ``until_idle``,
    until its input is drained). A function of a module, so that it can be named to a spawned
    interpreter; ``args`` travel pickled."""

    def __call__(self, stop: threading.Event, until_idle: bool, *args: Any) -> None: ...


def _process_main(target: ProcessTarget, args: tuple[Any, ...], until_idle: bool) -> None:
    """The start of each of `Processes`' processes: SIGTERM (from the parent) sets the stop
    event, and so does the parent's end; Ctrl-C reaches the parent, which relays it."""
    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    _stop_with_parent(stop)
    try:
        target(stop, until_idle, *args)
    except Exception:
        # Through logging, which masks secrets (the target sets it up first), rather than the
        # bare traceback multiprocessing would print.
        log.exception("%s stopped on an error", multiprocessing.current_process().name)
        sys.exit(1)


class Processes:
    """``count`` processes that each run ``target(stop, until_idle, *args)``, started and
    stopped together: ``veille run`` runs its enrich workers so, and ``veille enrich
    --workers N``. A `veille.app.Loop`."""

    def __init__(
        self, name: str, count: int, target: ProcessTarget, args: tuple[Any, ...] = ()
    ) -> None:
        self.name = name
        self.count = count
        self.target = target
        self.args = args

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        """Run the processes until ``stop`` is set (with ``until_idle``: until each has
        processed what was waiting), then stop them: each finishes its batch (SIGTERM), or is
        killed after `KILL_AFTER_S`. Raise `WorkerFailed` when one stopped on its own (with
        ``until_idle``: with an error) or did not stop cleanly; the others are stopped first."""
        # Spawned, not forked: a fresh interpreter, with no copy of this process's threads,
        # connections and locks. No lock or event is shared with them (one that dies holding it
        # would hang the others): they are told to stop by SIGTERM.
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(
                target=_process_main,
                args=(self.target, self.args, until_idle),
                name=f"{self.name}-{i + 1}",
            )
            for i in range(self.count)
        ]
        for process in processes:
            process.start()
        failed: list[str] = []
        try:
            while not stop.is_set():
                ended = [p for p in processes if p.exitcode is not None]
                failed = [_ended(p) for p in ended if p.exitcode != 0 or not until_idle]
                if failed or len(ended) == len(processes):
                    break
                stop.wait(0.5)
        finally:
            failed += _stop(processes)
        if failed:
            raise WorkerFailed(f"{self.name} processes: {'; '.join(failed)}")


def _stop(processes: Sequence[BaseProcess]) -> list[str]:
    """Stop what still runs; say what did not stop cleanly."""
    running = [p for p in processes if p.exitcode is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + KILL_AFTER_S
    problems = []
    for process in running:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
        if process.exitcode is None:
            log.warning("%s did not stop within %.0f s; killing it", process.name, KILL_AFTER_S)
            process.kill()
            process.join()
        if process.exitcode not in (0, -signal.SIGTERM):
            problems.append(_ended(process))
    return problems


def _ended(process: BaseProcess) -> str:
    code = process.exitcode
    how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return f"{process.name} ended ({how})"


def run_processes(processes: Processes, once: bool, why: str = "") -> int:
    """Run ``processes`` from this (main) thread until Ctrl-C or SIGTERM (or, with ``once``,
    until idle); 1 if one of them failed. ``why``: where their number came from."""
    log.info(
        "running %d %s processes%s; Ctrl-C to stop",
        processes.count,
        processes.name,
        f" ({why})" if why else "",
    )
    with stop_on_signals() as stop:
        try:
            processes.run(stop, until_idle=once)
        except WorkerFailed as exc:
            log.error("%s; stopped the others", exc)
            return 1
    return 0
