"""Twisted's reactor, for Scrapy, started once per process in a thread of its own.

A reactor can start only once per process, and `scrapy.crawler.CrawlerProcess` wants to run it
in the main thread until the crawl ends. Veille runs crawls again and again (``veille crawl``
on its schedule), beside other work (``veille run`` threads, ``veille demo``, the tests). So the
reactor, Scrapy's default asyncio one, runs in a daemon thread from the first crawl to the end
of the process, without signal handlers (the caller's thread handles Ctrl-C and stops crawls
through `call`). Every crawl of the process goes through it.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from ingest.errors import ConfigError

log = logging.getLogger(__name__)

ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

T = TypeVar("T")

_lock = threading.Lock()
_started: list[threading.Thread] = []  # the reactor's thread, once started


def _run(ready: threading.Event, errors: list[BaseException]) -> None:
    try:
        from scrapy.utils.reactor import install_reactor

        install_reactor(ASYNCIO_REACTOR)
        from twisted.python import log as twisted_log

        twisted_log.PythonLoggingObserver("twisted").start()  # type: ignore[no-untyped-call]
        running = _installed()
        running.callWhenRunning(ready.set)
    except BaseException as exc:
        errors.append(exc)
        ready.set()
        return
    running.run(installSignalHandlers=False)


def _installed() -> Any:
    from twisted.internet import reactor as installed

    return installed


def _stop() -> None:
    running = _installed()
    for thread in _started:
        if thread.is_alive():
            running.callFromThread(running.stop)
            thread.join(timeout=5)


def reactor() -> Any:
    """The running reactor (started on first use)."""
    with _lock:
        if not _started:
            ready = threading.Event()
            errors: list[BaseException] = []
            thread = threading.Thread(
                target=_run, args=(ready, errors), name="scrapy-reactor", daemon=True
            )
            thread.start()
            ready.wait(60)
            if errors:
                raise ConfigError(
                    f"cannot start Twisted's reactor for Scrapy: {errors[0]} (something in "
                    "this process installed another reactor first)"
                )
            _started.append(thread)
            atexit.register(_stop)
    return _installed()


def call(function: Callable[[], Deferred[T] | T]) -> Future[T]:
    """Run ``function`` in the reactor's thread; the future holds its (Deferred's) result."""
    future: Future[T] = Future()

    def invoke() -> None:
        try:
            result = function()
        except BaseException as exc:
            future.set_exception(exc)
            return
        if isinstance(result, Deferred):

            def failed(failure: Failure) -> None:
                future.set_exception(failure.value)

            result.addCallbacks(future.set_result, failed)
        else:
            future.set_result(result)

    reactor().callFromThread(invoke)
    return future
