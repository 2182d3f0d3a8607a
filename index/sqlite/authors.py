"""The SQLite store's author index (`AuthorIndex`), the reference for Elasticsearch's.

Each mention's `AuthorActivity` is a row of ``author_activity`` (by mention id, so a redelivered
mention replaces its row) with the authors it @-mentions in ``author_mentioned``. Every write
brings the authors it touched up to date in ``authors`` (one row per author with activity: the
latest name, handle and profile URL, counts and sums, sites by use from ``author_sites``, and
the scores enrich saved), in the same ``BEGIN IMMEDIATE`` transaction, which serialises enrich
workers across processes. New mentions are added to their author's counts, so a batch costs the
same whether its authors wrote ten mentions or a hundred thousand; an author who loses or
changes a mention (a redelivery) is recounted from their activity.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Sequence
from typing import Any

from index.base import chunks, epoch_ms, from_epoch_ms, nearest_rank
from index.sqlite.query import filters_where
from index.sqlite.schema import deleted_among
from ingest.sqlite import SqliteFile
from ingest.store import AuthorActivity, AuthorEdge, AuthorScore, AuthorStats, Filters, RankedAuthor

# One author's record from their activity: the latest name, handle and profile URL the sources
# gave, counts and sums, and their sites, most used first.
_LATEST = (
    "(SELECT {0} FROM author_activity WHERE author_key = :key AND {0} IS NOT NULL"
    " ORDER BY published DESC LIMIT 1)"
)
_AGGREGATE_AUTHOR = f"""
SELECT {_LATEST.format("name")}, {_LATEST.format("handle")}, {_LATEST.format("url")},
    COUNT(*), MAX(reach), SUM(engagement),
    (SELECT json_group_array(site) FROM (SELECT site FROM author_activity WHERE author_key = :key
        GROUP BY site ORDER BY COUNT(*) DESC, site)),
    MIN(published), MAX(published)
FROM author_activity WHERE author_key = :key
"""

# The same record, from a known author's and the new mentions' (which are in the activity).
_ADD_TO_AUTHOR = f"""
UPDATE authors SET name = {_LATEST.format("name")}, handle = {_LATEST.format("handle")},
    url = {_LATEST.format("url")}, mentions = mentions + :n, reach = MAX(reach, :reach),
    engagement = engagement + :engagement,
    sites = (SELECT json_group_array(site) FROM (SELECT site FROM author_sites
        WHERE author_key = :key ORDER BY n DESC, site)),
    first_seen = MIN(first_seen, :first), last_seen = MAX(last_seen, :last)
WHERE key = :key
"""

_AUTHOR_COLUMNS = (
    "key, name, handle, url, mentions, reach, engagement, sites, first_seen, last_seen, pagerank,"
    " score"
)


def _author(row: Sequence[Any]) -> AuthorStats:
    return AuthorStats(
        key=row[0],
        name=row[1],
        handle=row[2],
        url=row[3],
        mentions=row[4],
        reach=row[5],
        engagement=row[6],
        sites=tuple(json.loads(row[7])),
        first_seen=from_epoch_ms(row[8]),
        last_seen=from_epoch_ms(row[9]),
        pagerank=row[10],
        score=row[11],
    )


class SqliteAuthors:
    """An `AuthorIndex` in the store's SQLite file (tables: `index.sqlite.schema`)."""

    def __init__(self, db: SqliteFile) -> None:
        self.db = db

    def record_authors(self, activity: Sequence[AuthorActivity]) -> list[AuthorStats]:
        if not activity:
            return []
        latest = list({a.mention_id: a for a in activity}.values())  # a batch may repeat one
        with self.db.write() as conn:
            # A mention deleted on its platform and enriched late adds nothing to its author.
            gone = deleted_among(conn, [a.mention_id for a in latest])
            latest = [a for a in latest if a.mention_id not in gone]
            ids = [a.mention_id for a in latest]
            replaced: list[tuple[str, str]] = []
            for chunk in chunks(ids):
                marks = ", ".join("?" * len(chunk))
                replaced += conn.execute(
                    f"SELECT author_key, site FROM author_activity WHERE mention_id IN ({marks})",
                    chunk,
                ).fetchall()
                conn.execute(f"DELETE FROM author_mentioned WHERE mention_id IN ({marks})", chunk)
            # Redelivered, or its author changed: the previous author is recounted too.
            recount = dict.fromkeys(key for key, _ in replaced)
            touched = dict(recount)
            touched.update((a.author_key, None) for a in latest)
            conn.executemany(
                f"INSERT OR REPLACE INTO author_activity VALUES ({', '.join('?' * 13)})",
                [
                    (
                        a.mention_id,
                        a.author_key,
                        a.name,
                        a.handle,
                        a.url,
                        a.site,
                        epoch_ms(a.published),
                        a.reach,
                        a.engagement,
                        a.parent,
                        a.thread,
                        a.position,
                        json.dumps(list(a.brands)),
                    )
                    for a in latest
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO author_mentioned VALUES (?, ?)",
                [
                    (a.mention_id, target)
                    for a in latest
                    for target in a.mentioned
                    if target != a.author_key
                ],
            )
            self._count_sites(conn, latest, replaced)
            added: dict[str, list[AuthorActivity]] = {}
            for a in latest:
                if a.author_key not in recount:
                    added.setdefault(a.author_key, []).append(a)
            for key in recount:
                self._aggregate_author(conn, key)
            for key, rows in added.items():
                if not self._add_to_author(conn, key, rows):  # a new author
                    self._aggregate_author(conn, key)
            return self._authors(conn, list(touched))

    def forget(self, conn: sqlite3.Connection, mention_ids: Sequence[str]) -> None:
        """Remove what these mentions added to their authors, and recount those authors (in
        the caller's write transaction: the store's `delete`)."""
        removed: list[tuple[str, str]] = []
        for chunk in chunks(list(mention_ids)):
            marks = ", ".join("?" * len(chunk))
            removed += conn.execute(
                f"SELECT author_key, site FROM author_activity WHERE mention_id IN ({marks})",
                chunk,
            ).fetchall()
            conn.execute(f"DELETE FROM author_activity WHERE mention_id IN ({marks})", chunk)
            conn.execute(f"DELETE FROM author_mentioned WHERE mention_id IN ({marks})", chunk)
        self._count_sites(conn, [], removed)
        for key in dict.fromkeys(key for key, _ in removed):
            self._aggregate_author(conn, key)

    @staticmethod
    def _count_sites(
        conn: sqlite3.Connection,
        latest: Sequence[AuthorActivity],
        replaced: Sequence[tuple[str, str]],
    ) -> None:
        """Keep ``author_sites`` equal to the activity's count by author and site."""
        counts = Counter((a.author_key, a.site) for a in latest)
        counts.subtract(Counter(replaced))
        conn.executemany(
            "INSERT INTO author_sites VALUES (?, ?, ?) ON CONFLICT (author_key, site)"
            " DO UPDATE SET n = n + excluded.n",
            [(key, site, n) for (key, site), n in counts.items() if n],
        )
        conn.executemany(
            "DELETE FROM author_sites WHERE author_key = ? AND site = ? AND n <= 0",
            [pair for pair, n in counts.items() if n < 0],
        )

    @staticmethod
    def _add_to_author(conn: sqlite3.Connection, key: str, rows: Sequence[AuthorActivity]) -> bool:
        """Add new mentions to a known author's record, from their values and a few seeks,
        whatever the author's history; False for an author not recorded yet."""
        return (
            conn.execute(
                _ADD_TO_AUTHOR,
                {
                    "key": key,
                    "n": len(rows),
                    "reach": max(a.reach for a in rows),
                    "engagement": sum(a.engagement for a in rows),
                    "first": min(epoch_ms(a.published) for a in rows),
                    "last": max(epoch_ms(a.published) for a in rows),
                },
            ).rowcount
            == 1
        )

    @staticmethod
    def _aggregate_author(conn: sqlite3.Connection, key: str) -> None:
        row = conn.execute(_AGGREGATE_AUTHOR, {"key": key}).fetchone()
        if not row[3]:  # no activity left: the mention moved to another author
            conn.execute("DELETE FROM authors WHERE key = ?", (key,))
            return
        conn.execute(
            "INSERT INTO authors (key, name, handle, url, mentions, reach, engagement, sites,"
            " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET name = excluded.name, handle = excluded.handle,"
            " url = excluded.url, mentions = excluded.mentions, reach = excluded.reach,"
            " engagement = excluded.engagement, sites = excluded.sites,"
            " first_seen = excluded.first_seen, last_seen = excluded.last_seen",
            (key, *row),
        )

    @staticmethod
    def _authors(conn: sqlite3.Connection, keys: Sequence[str]) -> list[AuthorStats]:
        out: list[AuthorStats] = []
        for chunk in chunks(keys):
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {_AUTHOR_COLUMNS} FROM authors WHERE key IN ({marks})", chunk
            ).fetchall()
            out += [_author(r) for r in rows]
        order = {k: i for i, k in enumerate(keys)}
        return sorted(out, key=lambda a: order[a.key])

    def authors(self, keys: Sequence[str]) -> list[AuthorStats]:
        with self.db.guard():
            return self._authors(self.db.connection(), list(keys))

    def save_author_scores(self, scores: Sequence[AuthorScore]) -> None:
        if not scores:
            return
        with self.db.write() as conn:
            conn.executemany(
                "UPDATE authors SET pagerank = ?, score = ? WHERE key = ?",
                [(s.pagerank, s.score, s.key) for s in scores],
            )

    def author_edges(self) -> list[AuthorEdge]:
        replies = (
            "SELECT a.author_key AS s, p.author_key AS t FROM author_activity a"
            " JOIN author_activity p ON p.mention_id = a.parent"
        )
        openers = (
            "SELECT o.thread, o.author_key, o.position FROM author_activity o"
            " WHERE o.thread IS NOT NULL AND o.position = (SELECT MIN(position)"
            " FROM author_activity WHERE thread = o.thread)"
        )
        threads = (
            f"SELECT a.author_key AS s, o.author_key AS t FROM author_activity a"
            f" JOIN ({openers}) o ON o.thread = a.thread"
            f" WHERE a.parent IS NULL AND a.position > o.position"
        )
        mentions = (
            "SELECT a.author_key AS s, am.target AS t FROM author_mentioned am"
            " JOIN author_activity a ON a.mention_id = am.mention_id"
            " JOIN authors known ON known.key = am.target"
        )
        rows = self.db.read(
            f"SELECT s, t, COUNT(*) FROM ({replies} UNION ALL {threads} UNION ALL {mentions})"
            f" WHERE s != t GROUP BY s, t ORDER BY s, t"
        )
        return [AuthorEdge(s, t, n) for s, t, n in rows]

    def author_score_at(self, percentile: float) -> float | None:
        total = int(self.db.read("SELECT COUNT(*) FROM authors", [])[0][0])
        if not total:
            return None
        rank = nearest_rank(percentile, total)
        # OFFSET walks the index: from the nearer end (influencers are the top few).
        if rank > total // 2:
            sql, offset = (
                "SELECT score FROM authors ORDER BY score DESC LIMIT 1 OFFSET ?",
                total - rank,
            )
        else:
            sql, offset = "SELECT score FROM authors ORDER BY score LIMIT 1 OFFSET ?", rank - 1
        return float(self.db.read(sql, [offset])[0][0])

    def top_authors(self, filters: Filters, limit: int = 10) -> list[RankedAuthor]:
        where, params = filters_where(filters)
        columns = ", ".join(f"a.{c.strip()}" for c in _AUTHOR_COLUMNS.split(","))
        rows = self.db.read(
            f"SELECT {columns}, COUNT(*) AS n FROM mentions m JOIN authors a"
            f" ON a.key = m.author_key WHERE {where} GROUP BY a.key"
            f" ORDER BY a.score DESC, n DESC, a.key LIMIT ?",
            [*params, limit],
        )
        return [RankedAuthor(_author(r[:-1]), r[-1]) for r in rows]
