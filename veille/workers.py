"""Running Veille's loops: worker threads in one process, enrich worker processes, and stopping
them cleanly on Ctrl-C or SIGTERM.

- `stop_on_signals`: a stop event set by the first SIGINT or SIGTERM (the batch in flight
  finishes or is replayed at the next start); a second signal quits at once;
- `run_workers`: ``veille run``, every loop in a thread of this process; after a stop, the
  threads have `STOP_WITHIN_S` in all to finish (the feed poller cuts its fetches and takes about
  a second), then the process goes on without them;
- `run_enrich_processes`: ``veille enrich --workers N``, N processes in one consumer group.

The command line (`veille.cli`) decides what to run; this module owns how it runs.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ingest.errors import VeilleError

if TYPE_CHECKING:
    from veille.app import Worker

log = logging.getLogger("veille")

STOP_WITHIN_S = 60.0
"""How long `run_workers` waits, in all, for its threads to stop once asked to."""


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


def _enrich_process(config: str | None, log_level: str | None, once: bool) -> None:
    """One enrich worker process: a member of the ``enrich`` consumer group. SIGTERM (from the
    parent) stops it between batches; Ctrl-C reaches the parent, which relays it."""
    from veille.app import App
    from veille.logs import setup_logging
    from veille.settings import load_settings, secret_values

    stop = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    settings = load_settings(config)
    setup_logging(log_level or settings.log_level, secret_values(settings))
    with App(settings) as app:
        app.runner("enrich").run(stop, until_idle=once)


def run_enrich_processes(
    config: str | None, log_level: str | None, workers: int, once: bool
) -> int:
    """Run ``workers`` enrich processes on the settings file ``config`` until stopped (or, with
    ``once``, until idle); each loads its models once. Return 1 if one of them failed."""
    # No lock or event is shared with the children (one that dies holding it would hang the
    # others): they are told to stop by SIGTERM.
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=_enrich_process, args=(config, log_level, once), name=f"enrich-{i + 1}"
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    log.info("running %d enrich processes; Ctrl-C to stop", workers)
    with stop_on_signals() as stopping:
        while any(p.is_alive() for p in processes) and not stopping.is_set():
            if any(p.exitcode not in (None, 0) for p in processes):
                log.error("an enrich process failed; stopping the others")
                break
            stopping.wait(0.5)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                log.warning("%s did not stop within 60 s; killing it", process.name)
                process.kill()
                process.join()
    return 1 if any(p.exitcode not in (0, -signal.SIGTERM) for p in processes) else 0
