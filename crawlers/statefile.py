"""A crawler's memory in one SQLite file (`ingest.sqlite.SqliteFile`): what the feed poller's
state (`crawlers.feeds.state`) and the spiders' (`crawlers.crawl.progress`) share.

- records: each table has the columns of a dataclass, named and ordered as its fields, so rows
  are read into that dataclass (`rows`) and written from it (`replace`) by its fields;
- what a source already published: a ``seen`` table of (scope, key, last_seen) rows, the
  poller's entries per feed, the spiders' mentions per site (`unseen`, `mark_seen`,
  `forget_before`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ingest.sqlite import SqliteFile

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Record = TypeVar("Record", bound="DataclassInstance")


def _columns(record: DataclassInstance | type[DataclassInstance]) -> list[str]:
    return [f.name for f in fields(record)]


class StateFile:
    def __init__(self, path: Path, schema: Sequence[str], *, seen: tuple[str, str]) -> None:
        """Open ``path``, creating the tables of ``schema`` and the ``seen`` table, whose
        columns ``seen`` names: the scope (a feed, a site) and the key (an entry, a mention)."""
        self.db = SqliteFile(path)
        self._scope, self._key = seen
        with self.db.write() as conn:
            for statement in schema:
                conn.execute(statement)
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS seen ({self._scope} TEXT NOT NULL,"
                f" {self._key} TEXT NOT NULL, last_seen REAL NOT NULL,"
                f" PRIMARY KEY ({self._scope}, {self._key})) WITHOUT ROWID"
            )

    def close(self) -> None:
        self.db.close()

    # -- records -------------------------------------------------------------------------------

    def rows(
        self, record: type[Record], table: str, where: str = "", params: Sequence[Any] = ()
    ) -> list[Record]:
        """The rows of ``table`` that ``where`` (with its ``params``) selects, as records."""
        select = f"SELECT {', '.join(_columns(record))} FROM {table} {where}"
        return [record(*row) for row in self.db.read(select, params)]

    def replace(self, table: str, record: DataclassInstance) -> None:
        """Write ``record`` to ``table``, in place of the row with its key."""
        columns = _columns(record)
        with self.db.write() as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO {table} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                [getattr(record, column) for column in columns],
            )

    # -- what was published --------------------------------------------------------------------

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
                    f"SELECT {self._key} FROM seen WHERE {self._scope} = ?"
                    f" AND {self._key} IN ({marks})",
                    (scope, *chunk),
                )
            )
        return set(wanted) - seen

    def mark_seen(self, scope: str, keys: Iterable[str], now: float) -> None:
        with self.db.write() as conn:
            conn.executemany(
                f"INSERT INTO seen VALUES (?, ?, ?) ON CONFLICT ({self._scope}, {self._key})"
                " DO UPDATE SET last_seen = excluded.last_seen",
                [(scope, k, now) for k in keys],
            )

    def forget_before(self, cutoff: float) -> int:
        """Forget what was not seen again since ``cutoff`` (it left its feed or site)."""
        with self.db.write() as conn:
            return conn.execute("DELETE FROM seen WHERE last_seen < ?", (cutoff,)).rowcount
