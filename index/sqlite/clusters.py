"""The SQLite store's cluster index (`ClusterIndex`), the reference for Elasticsearch's.

Each signature is a row of ``dup_signatures`` (by mention id, with its cluster), its LSH keys rows
of ``dup_keys``. An assignment is one ``BEGIN IMMEDIATE`` transaction, which serialises enrich
workers across processes: every signature sees every one stored before it, and a copy enriched
at the same moment by another worker lands in the same cluster.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.base import chunks
from ingest.sqlite import SqliteFile
from ingest.store import Signature


class SqliteClusters:
    """A `ClusterIndex` in the store's SQLite file (tables: `index.sqlite.schema`)."""

    def __init__(self, db: SqliteFile) -> None:
        self.db = db

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        out: dict[str, str] = {}
        if not signatures:
            return out
        with self.db.write() as conn:
            for chunk in chunks([s.mention_id for s in signatures]):
                out.update(
                    conn.execute(
                        f"SELECT mention_id, cluster FROM dup_signatures WHERE mention_id IN"
                        f" ({', '.join('?' * len(chunk))})",
                        chunk,
                    ).fetchall()
                )
            for signature in signatures:
                if signature.mention_id in out:  # assigned before: redelivered
                    continue
                keys = list(dict.fromkeys(signature.keys))
                best = None
                if signature.joins and keys:
                    best = conn.execute(
                        f"SELECT s.cluster FROM dup_keys k JOIN dup_signatures s"
                        f" ON s.rowid = k.signature WHERE k.key IN ({', '.join('?' * len(keys))})"
                        f" GROUP BY s.cluster ORDER BY COUNT(*) DESC, s.cluster LIMIT 1",
                        keys,
                    ).fetchone()
                cluster = best[0] if best else signature.mention_id
                rowid = conn.execute(
                    "INSERT INTO dup_signatures (mention_id, cluster) VALUES (?, ?)"
                    " RETURNING rowid",
                    (signature.mention_id, cluster),
                ).fetchone()[0]
                conn.executemany(
                    "INSERT OR IGNORE INTO dup_keys VALUES (?, ?)", [(k, rowid) for k in keys]
                )
                out[signature.mention_id] = cluster
        return out
