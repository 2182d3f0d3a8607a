"""A SQLite file that several threads use, each through its own connection (WAL mode), for the
state the crawlers keep between runs."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path


class ThreadLocalSqlite:
    """Opens ``path``, creates the ``schema`` statements, and gives each thread a connection."""

    def __init__(self, path: Path, schema: Sequence[str]) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            for statement in schema:
                conn.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def _unseen(
        self, table: str, scope: tuple[str, str], key: str, keys: Iterable[str]
    ) -> set[str]:
        """Which of ``keys`` have no row in ``table`` for ``scope`` (column, value)."""
        wanted = list(dict.fromkeys(keys))
        seen: set[str] = set()
        conn = self._conn()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            seen.update(
                r[0]
                for r in conn.execute(
                    f"SELECT {key} FROM {table} WHERE {scope[0]} = ? AND {key} IN ({marks})",
                    (scope[1], *chunk),
                )
            )
        return set(wanted) - seen

    def _mark_seen(
        self, table: str, scope: tuple[str, str], key: str, keys: Iterable[str], now: float
    ) -> None:
        """Record ``keys`` for ``scope`` as seen at ``now`` (a table of scope, key, last_seen)."""
        with self._conn() as conn:
            conn.executemany(
                f"INSERT INTO {table} VALUES (?, ?, ?) ON CONFLICT ({scope[0]}, {key})"
                " DO UPDATE SET last_seen = excluded.last_seen",
                [(scope[1], k, now) for k in keys],
            )

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
