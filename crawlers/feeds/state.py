"""Per-feed state, persisted in SQLite: validators, schedule, failures, and the entries seen.

The poller publishes a feed's new entries first and records them as seen after, so a crash in
between replays them (and the store writes them once, by id) rather than losing them.

A row is repaired as it is read (`_repaired`): a time that is not a number, not finite, or past
what a `datetime` holds (a ``next_poll`` of 1e20 written before delays were capped, a hand edit)
reads as unknown, and an unknown ``next_poll`` as "due now"; the next poll saves a sane one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from crawlers.statefile import StateFile

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
]


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


_LATEST = datetime(9999, 1, 1, tzinfo=UTC).timestamp()


def _timestamp(value: object) -> float | None:
    """A stored time, if it is one that a `datetime` can hold."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return float(value) if math.isfinite(value) and 0 <= value <= _LATEST else None


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _repaired(state: FeedState) -> FeedState:
    return replace(
        state,
        next_poll=_timestamp(state.next_poll) or 0.0,
        last_attempt=_timestamp(state.last_attempt),
        last_success=_timestamp(state.last_success),
        failures=_count(state.failures),
        polls=_count(state.polls),
        errors=_count(state.errors),
        entries=_count(state.entries),
    )


class FeedStateStore(StateFile):
    """The ``feeds`` table, one `FeedState` a row, and the entries seen, per feed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA, seen=("feed", "entry"))

    def get(self, name: str, url: str) -> FeedState:
        rows = self.rows(FeedState, "feeds", "WHERE name = ?", (name,))
        if not rows:
            return FeedState(name, url)
        state = _repaired(rows[0])
        if state.url != url:  # the feed was re-pointed: its validators no longer apply
            return FeedState(
                name, url, polls=state.polls, errors=state.errors, entries=state.entries
            )
        return state

    def all(self) -> list[FeedState]:
        return [_repaired(state) for state in self.rows(FeedState, "feeds", "ORDER BY name")]

    def save(self, state: FeedState) -> None:
        self.replace("feeds", state)

    def touch(self, feed: str, now: float) -> None:
        """The feed did not change (304): its entries are still in it, keep remembering them."""
        with self.db.write() as conn:
            conn.execute("UPDATE seen SET last_seen = ? WHERE feed = ?", (now, feed))
