"""What a source already published, remembered in a table of (scope, key, last_seen) rows of a
`ingest.sqlite.SqliteFile`: the feed poller's entries per feed, the spiders' mentions per site."""

from __future__ import annotations

from collections.abc import Iterable

from ingest.sqlite import SqliteFile


class SeenSet:
    def __init__(self, db: SqliteFile, table: str, scope: str, key: str) -> None:
        self.db = db
        self.table = table
        self.scope = scope
        self.key = key

    def unseen(self, scope: str, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` were never marked for ``scope``."""
        wanted = list(dict.fromkeys(keys))
        seen: set[str] = set()
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            marks = ",".join("?" * len(chunk))
            seen.update(
                r[0]
                for r in self.db.read(
                    f"SELECT {self.key} FROM {self.table} WHERE {self.scope} = ?"
                    f" AND {self.key} IN ({marks})",
                    (scope, *chunk),
                )
            )
        return set(wanted) - seen

    def mark(self, scope: str, keys: Iterable[str], now: float) -> None:
        with self.db.write() as conn:
            conn.executemany(
                f"INSERT INTO {self.table} VALUES (?, ?, ?) ON CONFLICT ({self.scope}, {self.key})"
                " DO UPDATE SET last_seen = excluded.last_seen",
                [(scope, k, now) for k in keys],
            )

    def forget_before(self, cutoff: float) -> int:
        """Forget what was not seen again since ``cutoff``."""
        with self.db.write() as conn:
            return conn.execute(f"DELETE FROM {self.table} WHERE last_seen < ?", (cutoff,)).rowcount
