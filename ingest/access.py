"""Read-only access: the block in which a command that only reads opens every backend.

``veille status``, ``search``, ``report``, ``dead`` and ``alerts list`` read while the workers
write. They run inside `read_only()`, and every backend opened in the block, in this thread,
only reads:

- SQLite files (`ingest.sqlite`) are opened read-only, so they never take the write lock and
  never wait for the workers' transactions (WAL readers); their set-up writes nothing (a file
  that lacks its tables reads as empty, and a missing file is not created);
- the stores set nothing up: no schema, no migration, no Elasticsearch template.

A worker opens the same files for writing, outside any such block, and sets them up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_read_only: ContextVar[bool] = ContextVar("veille_read_only", default=False)


@contextmanager
def read_only() -> Iterator[None]:
    """Open every backend in this block, in this thread, for reading only."""
    token = _read_only.set(True)
    try:
        yield
    finally:
        _read_only.reset(token)


def reading_only() -> bool:
    """Whether this thread is inside `read_only()`."""
    return _read_only.get()
