"""Counters that outlive the process: what each stage consumed, emitted, dropped and dead-lettered.

`veille status` reads them. They are counts for people, not for correctness: a crash between a
batch's commit and the counter update can miss one batch's counts, never a record; a counters
file that is busy, or damaged, loses increments (logged once), never stops a stage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from ingest.errors import TransientError, VeilleError
from ingest.sqlite import SqliteFile

log = logging.getLogger(__name__)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters (scope TEXT NOT NULL, name TEXT NOT NULL,"
    " value INTEGER NOT NULL, PRIMARY KEY (scope, name)) WITHOUT ROWID"
)


class Counters(Protocol):
    def add(self, scope: str, counts: Mapping[str, int]) -> None: ...

    def read(self, scope: str | None = None) -> dict[str, dict[str, int]]: ...


class MemoryCounters:
    def __init__(self) -> None:
        self._counts: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def add(self, scope: str, counts: Mapping[str, int]) -> None:
        with self._lock:
            bucket = self._counts.setdefault(scope, {})
            for name, n in counts.items():
                bucket[name] = bucket.get(name, 0) + n

    def read(self, scope: str | None = None) -> dict[str, dict[str, int]]:
        with self._lock:
            return {s: dict(c) for s, c in self._counts.items() if scope in (None, s)}


class SqliteCounters:
    """Counters in a SQLite file, shared by every process on the machine."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path, kind="the counters file")
        self._warned = False
        self.db.setup(_SCHEMA, marker="counters")

    def add(self, scope: str, counts: Mapping[str, int]) -> None:
        rows = [(scope, name, n) for name, n in counts.items() if n]
        if not rows:
            return
        try:
            with self.db.write() as conn:
                conn.executemany(
                    "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (scope, name)"
                    " DO UPDATE SET value = value + excluded.value",
                    rows,
                )
        except TransientError:
            # Counting must never stop the pipeline; a busy file loses one increment.
            return
        except VeilleError as exc:
            if not self._warned:
                self._warned = True
                log.error("counters are not kept: %s", exc)

    def read(self, scope: str | None = None) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for s, name, value in self.db.read(
            "SELECT scope, name, value FROM counters ORDER BY scope, name"
        ):
            if scope in (None, s):
                out.setdefault(s, {})[name] = value
        return out

    def close(self) -> None:
        self.db.close()
