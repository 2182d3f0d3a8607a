"""The SQLite store's cluster index (`ClusterIndex`), the reference for Elasticsearch's.

Each signature is a row of ``dup_signatures`` (by mention id, with its cluster); its keys count
in ``dup_postings``, one row per key and cluster with how many of the cluster's signatures
carry the key. An assignment reads the postings of the batch's keys, decides in memory
(`index.clusters.assign`) and writes the new signatures and what the postings gain, in one
``BEGIN IMMEDIATE`` transaction, which serialises enrich workers across processes: every
signature sees every one stored before it, and a copy enriched at the same moment by another
worker lands in the same cluster. What a batch reads and writes depends on its keys and on the
clusters that carry them, not on how many copies those clusters hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from index.base import chunks
from index.clusters import Postings, assign, batch_keys
from ingest.sqlite import SqliteFile
from ingest.store import Signature


class SqliteClusters:
    """A `ClusterIndex` in the store's SQLite file (tables: `index.sqlite.schema`)."""

    def __init__(self, db: SqliteFile) -> None:
        self.db = db

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        if not signatures:
            return {}
        with self.db.write() as conn:
            assigned: dict[str, str] = {}
            for chunk in chunks(list(dict.fromkeys(s.mention_id for s in signatures))):
                assigned.update(
                    conn.execute(
                        f"SELECT mention_id, cluster FROM dup_signatures WHERE mention_id IN"
                        f" ({', '.join('?' * len(chunk))})",
                        chunk,
                    ).fetchall()
                )
            postings: Postings = {}
            for keys in chunks(sorted(batch_keys(signatures, assigned))):
                for key, cluster, count in conn.execute(
                    f"SELECT key, cluster, signatures FROM dup_postings WHERE key IN"
                    f" ({', '.join('?' * len(keys))})",
                    keys,
                ):
                    postings.setdefault(key, {})[cluster] = count
            decided = assign(signatures, assigned, postings)
            conn.executemany(
                "INSERT INTO dup_signatures (mention_id, cluster) VALUES (?, ?)",
                [(s.mention_id, cluster) for s, cluster in decided.new],
            )
            conn.executemany(
                "INSERT INTO dup_postings VALUES (?, ?, ?) ON CONFLICT (key, cluster)"
                " DO UPDATE SET signatures = signatures + excluded.signatures",
                # In key order: each B-tree page is visited once, in turn.
                sorted((key, cluster, n) for (key, cluster), n in decided.added.items()),
            )
        return decided.clusters
