"""One SQLite file shared by threads and processes: the embedded backends' common ground.

The local log, the SQLite store, the crawlers' state, the counters and the alerts state all keep
their data in SQLite files that several threads and processes use at once. This module owns how:

- WAL journal, so readers never block the writer and a crash never corrupts the file;
- one connection per thread (sqlite3 connections must not be shared while in use);
- writes in ``BEGIN IMMEDIATE`` transactions, which take the write lock up front, so two writers
  wait for each other instead of deadlocking;
- set-up (`SqliteFile.setup`): a file is stamped as Veille's (``PRAGMA application_id``) with a
  fingerprint of its owner's schema (``PRAGMA user_version``); a file already set up is only
  read when it is opened, so opening it never takes the write lock, and a SQLite file that holds
  another program's tables is refused, never written to;
- read-only access (inside `ingest.access.read_only`): the file is opened ``mode=ro``, write
  blocks run in deferred transactions (statements that find everything in place, such as
  ``CREATE TABLE IF NOT EXISTS``, then take no lock), and a missing file, or one without
  tables, reads as an empty file in memory;
- privacy: a new file is created 0600, in directories created 0700 (existing ones keep their
  mode); SQLite gives the ``-wal`` and ``-shm`` files the mode of the database file;
- errors, by what the caller should do (`SqliteFile.failed`): a file that is locked, full,
  read-only or cannot be opened raises the caller's `TransientError` subclass (the bus raises
  `BusUnavailable`, the store `StoreUnavailable`), so the stage runner retries; a damaged or
  foreign file raises its `Broken` subclass, so the worker stops; an error about one value (a
  constraint, a type, a value too big) is raised unchanged, for the runner to dead-letter the
  record. Each message names the file and what to do.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.access import reading_only
from ingest.errors import Broken, TransientError, VeilleError

log = logging.getLogger(__name__)

APPLICATION_ID = 0x5645494C
"""The ``application_id`` of every file Veille sets up ("VEIL" in ASCII)."""

# SQLite's primary result codes (https://sqlite.org/rescode.html) that say what to do.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
_ABOUT_A_VALUE = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    sqlite3.NotSupportedError,
    sqlite3.InterfaceError,
)
"""Errors about the values a statement was given (a constraint, a type, a value too big): about
one record, not the file."""


def about_a_value(exc: BaseException) -> bool:
    """Whether a sqlite3 error is about the values of one statement rather than the file."""
    return isinstance(exc, _ABOUT_A_VALUE)


def fingerprint(schema: str) -> int:
    """A positive 31-bit fingerprint of a schema's text, for ``PRAGMA user_version``."""
    return zlib.crc32(schema.encode()) & 0x7FFFFFFF or 1


def private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each 0700; existing ones keep their mode."""
    missing: list[Path] = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)


class SqliteFile:
    """A SQLite file, its connections (one per thread), its transactions and its errors.

    ``kind`` says what the file is in messages ("the store", "the bus"), and ``setting`` which
    setting names it, if one does; ``unavailable`` and ``broken`` are the errors raised when the
    file is unusable for now, or for good. With ``read_only`` None, the file is read-only inside
    `ingest.access.read_only`. ``cache_mib`` sets each connection's page cache.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        kind: str = "this state file",
        unavailable: type[TransientError] = TransientError,
        broken: type[Broken] = Broken,
        setting: str | None = None,
        synchronous: str = "NORMAL",
        cache_mib: int | None = None,
        lock_timeout: float = 30.0,
        read_only: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self.kind = kind
        self.setting = setting
        self.read_only = reading_only() if read_only is None else read_only
        self._unavailable = unavailable
        self._broken = broken
        self._synchronous = synchronous
        self._cache_mib = cache_mib
        self._lock_timeout = lock_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._memory: str | None = None
        if self.read_only:
            if not self.path.exists():
                self._in_memory()
        else:
            private_dirs(self.path.parent)
            try:
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            except FileExistsError:
                pass
            except OSError as exc:
                raise self._unavailable(
                    f"{self.path}: cannot create {self.kind} ({exc.strerror}): check that its "
                    f"directory is writable"
                ) from exc

    def _in_memory(self) -> None:
        """Read an empty database in memory instead of the file (read-only: a missing file, or
        one without tables), shared by this object's connections."""
        self.close()
        self._memory = f"file:veille-{uuid.uuid4().hex}?mode=memory&cache=shared"

    # -- connections ---------------------------------------------------------------------------

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, in autocommit mode (transactions are explicit)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = self._connect()
            except sqlite3.Error as exc:
                raise self.failed(exc) from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._open(self._memory, uri=True)
        if self.read_only:
            # mode=ro: the file itself can never be written (temporary tables still can).
            conn = self._open(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            setting = "SELECT COUNT(*) FROM sqlite_master"  # fails now if it is not a database
        else:
            conn = self._open(str(self.path), uri=False)
            setting = "PRAGMA journal_mode=WAL"
        try:
            conn.execute(setting).fetchone()
            if not self.read_only:
                conn.execute(f"PRAGMA synchronous={self._synchronous}")
            if self._cache_mib is not None:  # SQLite's default is 2 MiB per connection
                conn.execute(f"PRAGMA cache_size=-{int(self._cache_mib) * 1024}")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    def _open(self, target: str, *, uri: bool) -> sqlite3.Connection:
        return sqlite3.connect(
            target,
            timeout=self._lock_timeout,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )

    def _forget(self) -> None:
        """Close this thread's connection: the next use opens the file again (it may have been
        replaced, or made writable, since)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        with contextlib.suppress(sqlite3.Error):  # closing a broken connection
            conn.close()

    # -- errors --------------------------------------------------------------------------------

    def failed(self, exc: sqlite3.Error) -> VeilleError:
        """The Veille error for ``exc``: `Broken` (the owner's subclass) for a damaged or
        foreign file, a plain `VeilleError` for a write refused to a read-only command, and the
        owner's `TransientError` subclass for anything else, such as a lock held too long, a
        full disk, a read-only file system, a file that cannot be opened."""
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        where = f"{self.path}: {exc}"
        if primary in (_READONLY, _IOERR, _CORRUPT, _CANTOPEN, _NOTADB):
            self._forget()  # the file may be replaced or repaired: open it again next time
        if primary in (_CORRUPT, _NOTADB):
            return self._broken(
                f"{where}: {self.kind} is damaged, or is not a SQLite file. Restore it from a "
                f"backup, or move it aside and Veille starts an empty one ('sqlite3 {self.path} "
                f".recover' saves what can still be read)"
            )
        if primary == _READONLY and self.read_only:
            return VeilleError(
                f"{where}: this command only reads, and {self.kind} must be set up or upgraded "
                f"first: run 'veille index setup', or start a worker once"
            )
        hints: dict[int | None, str] = {
            _BUSY: f"another process holds the write lock for more than {self._lock_timeout:g} s",
            _LOCKED: "another connection holds the lock",
            _FULL: "free space on its disk; Veille goes on when it can write again",
            _READONLY: "the file or its file system is read-only: check its permissions and how "
            "the disk is mounted",
            _IOERR: "the disk failed to read or write: check it and its file system",
            _CANTOPEN: "check that the file and its directory exist and are readable and writable",
        }
        hint = hints.get(primary)
        return self._unavailable(f"{where} ({hint})" if hint else where)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Turn sqlite3 errors raised in the block into Veille's (`failed`), except those about
        one value, which go through unchanged."""
        try:
            yield
        except sqlite3.Error as exc:
            if about_a_value(exc):
                raise
            raise self.failed(exc) from exc

    # -- transactions --------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed if the block succeeds, rolled back if it raises.

        Read-only, the transaction is deferred: a statement that would write raises instead."""
        conn = self.connection()
        with self.guard():
            conn.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:  # the connection is broken: it is opened again next time
                self._forget()
            if isinstance(exc, sqlite3.Error) and not about_a_value(exc):
                raise self.failed(exc) from exc
            raise

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.guard():
            return self.connection().execute(sql, params).fetchall()

    def stream(self, sql: str, params: Sequence[Any] = (), size: int = 500) -> Iterator[list[Any]]:
        """The rows of one read, ``size`` at a time, however many: one statement, on a
        connection of its own, closed when the rows run out or the caller stops. It reads one
        snapshot of the file however long it lasts, and leaves this thread's connection free
        (a statement left open on it would hold its snapshot, and make its next write fail)."""
        with self.guard():
            conn = self._connect()
        try:
            with self.guard():
                cursor = conn.execute(sql, params)
            while True:
                with self.guard():
                    rows = cursor.fetchmany(size)
                if rows:
                    yield rows
                if len(rows) < size:
                    return
        finally:
            conn.close()

    def setup(
        self,
        schema: str,
        create: Callable[[sqlite3.Connection], None] | None = None,
        *,
        marker: str,
    ) -> None:
        """Create or upgrade the owner's tables, unless the file is set up already.

        ``schema`` is the owner's DDL; ``create`` runs it (by default, each of its statements),
        idempotently, in one write transaction. The file is then stamped as Veille's with a
        fingerprint of ``schema`` (``user_version``), and a file that bears this fingerprint is
        only read: a change to the schema sets the file up again, once. ``marker`` is a table
        that every file of this kind holds: a SQLite file with tables, but not this one, is
        another program's (or another kind of Veille file) and is refused with `Broken`."""
        stamp = fingerprint(schema)
        with self.guard():
            conn = self.connection()
            (app,) = conn.execute("PRAGMA application_id").fetchone()
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                )
            ]
        if app not in (0, APPLICATION_ID) or (tables and marker not in tables):
            shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
            raise self._broken(
                f"{self.path} is a SQLite database, but not {self.kind} of Veille (it holds "
                f"{shown or 'another application id'}): "
                + (f"point {self.setting} at another file, or " if self.setting else "")
                + "move this one aside"
            )
        if app == APPLICATION_ID and current == stamp:
            return
        if self.read_only and self._memory is None:
            if tables:
                return  # set up by another version: read it as it is, a worker upgrades it
            self._in_memory()

        def statements(conn: sqlite3.Connection) -> None:
            for statement in schema.split(";"):
                if statement.strip():
                    conn.execute(statement)

        with self.write() as conn:
            (create or statements)(conn)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {stamp}")

    def reset(self, conn: sqlite3.Connection) -> None:
        """Forget the set-up (in the caller's transaction, after its tables were dropped), so
        that the next `setup` creates them again."""
        conn.execute("PRAGMA user_version = 0")

    def close(self) -> None:
        """Close every thread's connection (at shutdown, when no thread uses them any more)."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
