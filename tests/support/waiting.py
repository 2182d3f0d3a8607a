"""Waiting in tests for what another thread or process does."""

from __future__ import annotations

import time
from collections.abc import Callable

from ingest.errors import TransientError


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s until it holds; fail with ``what`` after ``timeout`` s. A
    passing failure while asking (a busy Elasticsearch answering 503) counts as not yet, as the
    workers themselves would retry."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except TransientError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
