"""One SQLite file shared by threads and processes: the embedded backends' common ground.

The local log, the SQLite store, the crawlers' state and the counters all keep their data in
SQLite files that several threads and processes use at once. This module owns how:

- WAL journal, so readers never block the writer and a crash never corrupts the file;
- one connection per thread (sqlite3 connections must not be shared while in use);
- writes in ``BEGIN IMMEDIATE`` transactions, which take the write lock up front, so two writers
  wait for each other instead of deadlocking;
- a file that stays locked or unwritable raises the caller's `TransientError` subclass (the bus
  raises `BusUnavailable`, the store `StoreUnavailable`), so the stage runner retries.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.errors import TransientError


class SqliteFile:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        unavailable: type[TransientError] = TransientError,
        synchronous: str = "NORMAL",
        lock_timeout: float = 30.0,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._unavailable = unavailable
        self._synchronous = synchronous
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, in autocommit mode (transactions are explicit)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=self._lock_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def failed(self, exc: sqlite3.Error) -> TransientError:
        return self._unavailable(f"{self.path}: {exc}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed if the block succeeds, rolled back if it raises."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self.failed(exc) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise self.failed(exc) from exc
            raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self.connection().execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            raise self.failed(exc) from exc

    def close(self) -> None:
        """Close every thread's connection (at shutdown, when no thread uses them any more)."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
