"""Per-feed state, persisted in SQLite: validators, schedule, failures, and the entries seen.

The poller publishes a feed's new entries first and records them as seen after, so a crash in
between replays them (and the store writes them once, by id) rather than losing them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crawlers.seen import SeenSet
from ingest.sqlite import SqliteFile

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS feeds (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT,
        last_modified TEXT,
        next_poll REAL NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_status TEXT,
        last_error TEXT,
        last_http INTEGER,
        last_attempt REAL,
        last_success REAL,
        polls INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        entries INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS seen (
        feed TEXT NOT NULL, entry TEXT NOT NULL, last_seen REAL NOT NULL,
        PRIMARY KEY (feed, entry)) WITHOUT ROWID""",
]

_SELECT = (
    "SELECT name, url, etag, last_modified, next_poll, failures, last_status, last_error,"
    " last_http, last_attempt, last_success, polls, errors, entries FROM feeds"
)


@dataclass(frozen=True)
class FeedState:
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    next_poll: float = 0.0
    failures: int = 0
    last_status: str | None = None
    last_error: str | None = None
    last_http: int | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    polls: int = 0
    errors: int = 0
    entries: int = 0


class FeedStateStore:
    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path)
        with self.db.write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
        self.seen = SeenSet(self.db, "seen", "feed", "entry")

    def get(self, name: str, url: str) -> FeedState:
        rows = self.db.read(f"{_SELECT} WHERE name = ?", (name,))
        row = rows[0] if rows else None
        if row is None:
            return FeedState(name, url)
        state = FeedState(*row)
        if state.url != url:  # the feed was re-pointed: its validators no longer apply
            return FeedState(
                name, url, polls=state.polls, errors=state.errors, entries=state.entries
            )
        return state

    def all(self) -> list[FeedState]:
        rows = self.db.read(f"{_SELECT} ORDER BY name")
        return [FeedState(*row) for row in rows]

    def save(self, state: FeedState) -> None:
        with self.db.write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO feeds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    state.name,
                    state.url,
                    state.etag,
                    state.last_modified,
                    state.next_poll,
                    state.failures,
                    state.last_status,
                    state.last_error,
                    state.last_http,
                    state.last_attempt,
                    state.last_success,
                    state.polls,
                    state.errors,
                    state.entries,
                ),
            )

    def unseen(self, feed: str, entries: Iterable[str]) -> set[str]:
        return self.seen.unseen(feed, entries)

    def mark_seen(self, feed: str, entries: Iterable[str], now: float) -> None:
        self.seen.mark(feed, entries, now)

    def touch(self, feed: str, now: float) -> None:
        """The feed did not change (304): its entries are still in it, keep remembering them."""
        with self.db.write() as conn:
            conn.execute("UPDATE seen SET last_seen = ? WHERE feed = ?", (now, feed))

    def forget_before(self, cutoff: float) -> int:
        """Forget entries not seen in any poll since ``cutoff`` (they left their feeds)."""
        return self.seen.forget_before(cutoff)

    def close(self) -> None:
        self.db.close()
