"""Each connector's memory, in one SQLite file under ``state_dir`` (``networks.db``): its cursors,
schedule, health, the platform's last rate-limit state, requests spent, the mentions it
published (so a page read twice publishes nothing twice) and the deletions it published (so a
deletion reported twice is published once).

The runner publishes a poll's mentions first and saves the cursors after, so a crash in
between reads those pages again (and publishes nothing that is marked seen) rather than losing
them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from crawlers.statefile import StateFile

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS connectors (
        name TEXT PRIMARY KEY,
        platform TEXT NOT NULL,
        cursors TEXT NOT NULL DEFAULT '{}',
        next_poll REAL NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        last_status TEXT,
        last_error TEXT,
        last_attempt REAL,
        last_success REAL,
        polls INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        mentions INTEGER NOT NULL DEFAULT 0,
        deletions INTEGER NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0,
        rate_limit INTEGER,
        rate_remaining INTEGER,
        rate_reset REAL)""",
    """CREATE TABLE IF NOT EXISTS deleted (
        connector TEXT NOT NULL,
        mention TEXT NOT NULL,
        at REAL NOT NULL,
        PRIMARY KEY (connector, mention)) WITHOUT ROWID""",
]


@dataclass(frozen=True)
class ConnectorState:
    name: str
    platform: str
    cursors: str = "{}"
    """The connector's cursors, as JSON (see `cursor_map`)."""
    next_poll: float = 0.0
    failures: int = 0
    last_status: str | None = None
    last_error: str | None = None
    last_attempt: float | None = None
    last_success: float | None = None
    polls: int = 0
    errors: int = 0
    mentions: int = 0
    deletions: int = 0
    requests: int = 0
    rate_limit: int | None = None
    rate_remaining: int | None = None
    rate_reset: float | None = None

    def cursor_map(self) -> dict[str, str]:
        try:
            value = json.loads(self.cursors)
        except ValueError:
            return {}
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items()}


class NetworkStateStore(StateFile):
    """The ``connectors`` table, one `ConnectorState` a row; the mentions each published; the
    deletions each published to ``mentions.deleted``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA, seen=("connector", "mention"))

    def get(self, name: str, platform: str) -> ConnectorState:
        rows = self.rows(ConnectorState, "connectors", "WHERE name = ?", (name,))
        if not rows or rows[0].platform != platform:
            return ConnectorState(name, platform)
        return rows[0]

    def all(self) -> list[ConnectorState]:
        return self.rows(ConnectorState, "connectors", "ORDER BY name")

    def save(self, state: ConnectorState) -> None:
        self.replace("connectors", state)

    def record_deleted(self, connector: str, mentions: list[str], now: float) -> None:
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO deleted VALUES (?, ?, ?)",
                [(connector, m, now) for m in mentions],
            )

    def not_deleted(self, connector: str, mentions: list[str]) -> list[str]:
        """Those of ``mentions`` whose deletion ``connector`` has not published yet, in order."""
        wanted = list(dict.fromkeys(mentions))
        done = {
            r[0]
            for r in self.db.read(
                "SELECT mention FROM deleted WHERE connector = ?"
                " AND mention IN (SELECT value FROM json_each(?))",
                (connector, json.dumps(wanted)),
            )
        }
        return [m for m in wanted if m not in done]

    def deleted(self) -> list[str]:
        """The ids of every mention a platform said was deleted, oldest first."""
        return [r[0] for r in self.db.read("SELECT mention FROM deleted ORDER BY at", ())]
