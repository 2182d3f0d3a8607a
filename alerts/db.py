"""The alerts worker's durable state: one SQLite file (``<state_dir>/alerts.db``).

Everything the worker must not forget lives here, so that one transaction can move it together:
the bucket counts and the ids already counted (`alerts.buckets`), the recent negative mentions and
term counts that explain an alert, each rule's detector and incident state, and the alert history
with its pending notifications (`alerts.history`). A crash between two transactions replays the
batch (the bus redelivers it); ids already counted are skipped, so nothing is counted twice.

The file is set up once (`ingest.sqlite.SqliteFile.setup`): opening it again only reads, so the
``veille alerts`` commands that only read (inside `ingest.access.read_only`) never take its
write lock while the worker runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingest.errors import TransientError
from ingest.sqlite import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    brand TEXT NOT NULL, mention TEXT NOT NULL, bucket INTEGER NOT NULL,
    PRIMARY KEY (brand, mention)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_bucket ON seen (bucket);
CREATE TABLE IF NOT EXISTS clusters (
    brand TEXT NOT NULL, cluster TEXT NOT NULL, bucket INTEGER NOT NULL,
    neg_bucket INTEGER, neg_reach REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, cluster)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS clusters_bucket ON clusters (bucket);
CREATE TABLE IF NOT EXISTS buckets (
    brand TEXT NOT NULL, bucket INTEGER NOT NULL, total INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0, reach REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS terms (
    brand TEXT NOT NULL, hour INTEGER NOT NULL, term TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0, negative INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, hour, term)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS negatives (
    brand TEXT NOT NULL, mention TEXT NOT NULL, published INTEGER NOT NULL,
    reach REAL NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (brand, mention)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watches (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, detector TEXT NOT NULL,
    incident TEXT NOT NULL, alert TEXT);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, rule TEXT NOT NULL, brand TEXT NOT NULL, kind TEXT NOT NULL,
    metric TEXT NOT NULL, severity TEXT NOT NULL, status TEXT NOT NULL,
    opened INTEGER NOT NULL, since INTEGER NOT NULL, detected INTEGER NOT NULL,
    resolved INTEGER, acked INTEGER, acked_by TEXT, score REAL NOT NULL,
    observed REAL NOT NULL, expected REAL NOT NULL, paged INTEGER NOT NULL DEFAULT 0,
    dedup TEXT NOT NULL UNIQUE, why TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alerts_opened ON alerts (opened);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY, alert TEXT NOT NULL, channel TEXT NOT NULL, event TEXT NOT NULL,
    created INTEGER NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL, last_error TEXT, sent INTEGER, payload TEXT NOT NULL,
    unknown INTEGER NOT NULL DEFAULT 0, sending INTEGER);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt);
"""

ADDED_COLUMNS = {
    "deliveries": {
        "unknown": "INTEGER NOT NULL DEFAULT 0",
        "sending": "INTEGER",
    },
}
"""Columns added since the first release, added to a state file written before them."""


def _create(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    for table, columns in ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for column, definition in columns.items():
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


class AlertsUnavailable(TransientError):
    """Raised when the alerts state file is locked or cannot be written for now."""


class AlertsDb:
    """The state file, shared by the worker's threads and by the ``veille alerts`` commands."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = SqliteFile(path, kind="the alerts state file", unavailable=AlertsUnavailable)
        # The added columns are part of what the file must have: a file set up before them is
        # set up again, once, and gets them.
        self.file.setup(f"{SCHEMA}\n-- added: {ADDED_COLUMNS!r}", _create, marker="alerts")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything in it is kept, or nothing is. Nested, it joins the
        transaction around it."""
        conn = self.file.connection()
        if conn.in_transaction:
            yield conn
            return
        with self.file.write() as conn:
            yield conn

    def query(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        """Read in this thread's connection (inside its transaction, if one is open)."""
        return self.file.read(sql, params)

    def get_meta(self, key: str) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        self.file.close()
