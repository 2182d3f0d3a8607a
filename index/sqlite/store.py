"""The embedded `Store`: mentions in SQLite, searched with FTS5 (``sqlite://path``).

One row per mention in ``mentions`` (the record as JSON, plus the columns that filters and
aggregations need), its brands in ``mention_brands``, its entities in ``mention_entities``, and
its folded words in the FTS5 table ``mentions_fts`` (same rowid). Writes are upserts by mention
id in one transaction per batch.

What enrich keeps here: ``author_activity`` (one row per mention, by id) aggregated into
``authors``; ``dup_signatures`` and their ``dup_keys`` for near-duplicate clusters. Each write
is one ``BEGIN IMMEDIATE`` transaction, which serialises enrich workers across processes.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from index.sqlite.query import FTS_TABLE, compile_where, rank_expression
from ingest.errors import ConfigError, StoreUnavailable
from ingest.record import Mention
from ingest.sqlite import SqliteFile
from ingest.store import (
    AuthorActivity,
    AuthorEdge,
    AuthorScore,
    AuthorStats,
    Bucket,
    Distinct,
    Facet,
    Filters,
    RankedAuthor,
    Rejected,
    SearchPage,
    Signature,
    SignificantTerm,
    SortOrder,
    Store,
    TermCount,
)
from ingest.text import fold, index_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS mentions (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        published INTEGER NOT NULL,
        fetched INTEGER NOT NULL,
        source_kind TEXT NOT NULL,
        source_key TEXT NOT NULL,
        source_label TEXT NOT NULL,
        site TEXT NOT NULL,
        lang TEXT NOT NULL,
        author_name TEXT,
        author_handle TEXT,
        author_display TEXT,
        sentiment TEXT,
        cluster TEXT,
        author_key TEXT,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS mentions_published ON mentions (published)",
    "CREATE INDEX IF NOT EXISTS mentions_site ON mentions (site)",
    """CREATE TABLE IF NOT EXISTS mention_brands (
        brand TEXT NOT NULL COLLATE NOCASE,
        mention INTEGER NOT NULL,
        PRIMARY KEY (brand, mention)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS mention_brands_mention ON mention_brands (mention)",
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        title, body, tokenize = 'unicode61 remove_diacritics 0')""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
]

# Version 2: entities, authors and near-duplicate signatures.
_SCHEMA_2 = [
    """CREATE TABLE IF NOT EXISTS mention_entities (
        entity TEXT NOT NULL,
        name TEXT NOT NULL,
        label TEXT NOT NULL,
        mention INTEGER NOT NULL,
        PRIMARY KEY (entity, label, mention)) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS mention_entities_mention ON mention_entities (mention)",
    "CREATE INDEX IF NOT EXISTS mentions_author_key ON mentions (author_key)",
    """CREATE TABLE IF NOT EXISTS author_activity (
        mention_id TEXT PRIMARY KEY,
        author_key TEXT NOT NULL,
        name TEXT,
        handle TEXT,
        url TEXT,
        site TEXT NOT NULL,
        published INTEGER NOT NULL,
        reach INTEGER NOT NULL,
        engagement INTEGER NOT NULL,
        parent TEXT,
        thread TEXT,
        position INTEGER,
        brands TEXT NOT NULL) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS author_activity_author ON author_activity (author_key, published)",
    "CREATE INDEX IF NOT EXISTS author_activity_parent ON author_activity (parent)",
    "CREATE INDEX IF NOT EXISTS author_activity_thread ON author_activity (thread, position)",
    """CREATE TABLE IF NOT EXISTS author_mentioned (
        mention_id TEXT NOT NULL,
        target TEXT NOT NULL,
        PRIMARY KEY (mention_id, target)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS authors (
        key TEXT PRIMARY KEY,
        name TEXT,
        handle TEXT,
        url TEXT,
        mentions INTEGER NOT NULL,
        reach INTEGER NOT NULL,
        engagement INTEGER NOT NULL,
        sites TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        pagerank REAL NOT NULL DEFAULT 0,
        score REAL NOT NULL DEFAULT 0) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS authors_score ON authors (score)",
    """CREATE TABLE IF NOT EXISTS dup_signatures (
        rowid INTEGER PRIMARY KEY,
        mention_id TEXT NOT NULL UNIQUE,
        cluster TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS dup_keys (
        key INTEGER NOT NULL,
        signature INTEGER NOT NULL,
        PRIMARY KEY (key, signature)) WITHOUT ROWID""",
]

_TABLES = (
    "meta",
    "mentions",
    "mention_brands",
    "mention_entities",
    FTS_TABLE,
    "author_activity",
    "author_mentioned",
    "authors",
    "dup_signatures",
    "dup_keys",
)
"""Every table `_SCHEMA` and `_SCHEMA_2` create (their indices go with them)."""

_UPSERT = """
INSERT INTO mentions (id, published, fetched, source_kind, source_key, source_label, site, lang,
                      author_name, author_handle, author_display, sentiment, cluster, author_key,
                      doc)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    published = excluded.published, fetched = excluded.fetched,
    source_kind = excluded.source_kind, source_key = excluded.source_key,
    source_label = excluded.source_label,
    site = excluded.site, lang = excluded.lang, author_name = excluded.author_name,
    author_handle = excluded.author_handle, author_display = excluded.author_display,
    sentiment = excluded.sentiment, cluster = excluded.cluster, author_key = excluded.author_key,
    doc = excluded.doc
WHERE excluded.fetched >= mentions.fetched
RETURNING rowid
"""


SIGNIFICANT_SAMPLE = 5_000
_VOCAB = "temp.mentions_vocab"


def chi_square(subset_freq: int, subset_size: int, superset_freq: int, superset_size: int) -> float:
    """Elasticsearch's ``chi_square`` significance heuristic (the background includes the
    subset; negatives excluded), so that both stores rank emerging terms alike. 0 when there is
    no contrast to measure, -inf when the word is rarer in the subset than outside it."""
    outside = superset_size - subset_size
    outside_freq = superset_freq - subset_freq
    without_term = superset_size - superset_freq
    if min(subset_size, outside, superset_freq, without_term) <= 0:
        return 0.0
    if subset_freq / subset_size < outside_freq / outside:
        return float("-inf")
    inside_without = subset_size - subset_freq
    outside_without = outside - outside_freq
    spread = (subset_freq * outside_without - inside_without * outside_freq) ** 2
    return superset_size * spread / (subset_size * superset_freq * without_term * outside)


_FACET_COLUMNS = {
    "sentiment": "COALESCE(m.sentiment, 'unknown')",
    "source": "m.source_label",
    "site": "m.site",
    "author": "m.author_display",
    "lang": "m.lang",
}


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _from_ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, UTC)


def _row(m: Mention) -> tuple[Any, ...]:
    author = m.author
    sentiment = m.enrichment.sentiment.label if m.enrichment and m.enrichment.sentiment else None
    return (
        m.id,
        _ms(m.published),
        _ms(m.fetched),
        m.source.kind.value,
        fold(m.source.name),
        m.source.name,
        m.site,
        m.effective_lang,
        fold(author.name) if author and author.name else None,
        fold(author.handle) if author and author.handle else None,
        author.display if author and author.display else None,
        sentiment,
        m.enrichment.cluster if m.enrichment else None,
        m.enrichment.influence.author_key if m.enrichment and m.enrichment.influence else None,
        m.model_dump_json(exclude_none=True),
    )


def _count(distinct: Distinct) -> str:
    return "COUNT(DISTINCT COALESCE(m.cluster, m.id))" if distinct == "cluster" else "COUNT(*)"


def _chunks(values: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    """Slices small enough for an ``IN (...)`` list (SQLite binds at most 32,766 values)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


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
        first_seen=_from_ms(row[8]),
        last_seen=_from_ms(row[9]),
        pagerank=row[10],
        score=row[11],
    )


class SqliteStore:
    """A `Store` in one SQLite file. Thread-safe: each thread gets its own connection."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.db = SqliteFile(self.path, unavailable=StoreUnavailable, lock_timeout=lock_timeout)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SqliteStore:
        path = url.split("://", 1)[1]
        if not path:
            raise ConfigError(f"store URL '{url}' needs a file path, as in sqlite://data/veille.db")
        store = cls(path, **options)
        store.setup()
        return store

    def setup(self) -> None:
        with self.db.write() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(mentions)")}
            if "author_key" not in columns:  # a version 1 store
                conn.execute("ALTER TABLE mentions ADD COLUMN author_key TEXT")
            for statement in _SCHEMA_2:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE"
                " SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    # -- writes --------------------------------------------------------------------------------

    def upsert(self, mentions: Sequence[Mention]) -> list[Rejected]:
        if not mentions:
            return []
        with self.db.write() as conn:
            by_rowid: dict[int, Mention] = {}  # one entry per row, if a batch repeats a mention
            for mention in mentions:
                row = conn.execute(_UPSERT, _row(mention)).fetchone()
                if row is not None:  # None: the stored copy was fetched later, keep it
                    by_rowid[row[0]] = mention
            written = list(by_rowid.items())
            for i in range(0, len(written), 500):
                chunk = written[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rowids = [rowid for rowid, _ in chunk]
                conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", rowids)
                conn.execute(f"DELETE FROM mention_brands WHERE mention IN ({marks})", rowids)
                conn.execute(f"DELETE FROM mention_entities WHERE mention IN ({marks})", rowids)
            conn.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)",
                [(rowid, index_text(m.heading), index_text(m.text)) for rowid, m in written],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO mention_brands VALUES (?, ?)",
                [
                    (brand, rowid)
                    for rowid, m in written
                    for brand in (m.enrichment.brands if m.enrichment else ())
                ],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO mention_entities VALUES (?, ?, ?, ?)",
                [
                    (fold(e.kb_id or e.text), e.kb_id or e.text, e.label, rowid)
                    for rowid, m in written
                    for e in (m.enrichment.entities if m.enrichment else ())
                    if fold(e.kb_id or e.text)
                ],
            )
        return []

    # -- reads ---------------------------------------------------------------------------------

    def _where(self, filters: Filters) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if filters.query is not None:
            sql, query_params = compile_where(filters.query)
            clauses.append(sql)
            params += query_params
        if filters.brand:
            clauses.append("m.rowid IN (SELECT mention FROM mention_brands WHERE brand = ?)")
            params.append(filters.brand)
        if filters.sentiment:
            clauses.append("m.sentiment = ?")
            params.append(filters.sentiment)
        if filters.source:
            clauses.append("(m.source_key = ? OR m.source_kind = ?)")
            params += [fold(filters.source), filters.source.lower()]
        if filters.lang:
            clauses.append("m.lang = ?")
            params.append(filters.lang.lower())
        if filters.since:
            clauses.append("m.published >= ?")
            params.append(_ms(filters.since))
        if filters.until:
            clauses.append("m.published < ?")
            params.append(_ms(filters.until))
        if filters.entity:
            clauses.append("m.rowid IN (SELECT mention FROM mention_entities WHERE entity = ?)")
            params.append(fold(filters.entity))
        return (" AND ".join(clauses) or "1"), params

    def get(self, mention_id: str) -> Mention | None:
        rows = self.db.read("SELECT doc FROM mentions WHERE id = ?", (mention_id,))
        return Mention.model_validate_json(rows[0][0]) if rows else None

    def count(self, filters: Filters, *, distinct: Distinct = None) -> int:
        where, params = self._where(filters)
        sql = f"SELECT {_count(distinct)} FROM mentions m WHERE {where}"
        return int(self.db.read(sql, params)[0][0])

    def search(
        self, filters: Filters, *, sort: SortOrder = "date", page: int = 1, size: int = 20
    ) -> SearchPage:
        where, params = self._where(filters)
        rank = rank_expression(filters.query) if filters.query is not None else None
        join, order, join_params = "", "m.published DESC, m.id", []
        if sort == "relevance" and rank:
            join = (
                f" LEFT JOIN (SELECT rowid, bm25({FTS_TABLE}, 2.0, 1.0) AS score FROM"
                f" {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?) r ON r.rowid = m.rowid"
            )
            join_params = [rank]
            order = "COALESCE(r.score, 0) ASC, m.published DESC, m.id"
        rows = self.db.read(
            f"SELECT m.doc FROM mentions m{join} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
            [*join_params, *params, size, (max(1, page) - 1) * size],
        )
        return SearchPage(
            total=self.count(filters),
            hits=[Mention.model_validate_json(r[0]) for r in rows],
            page=page,
            size=size,
        )

    def scan(self, filters: Filters, *, batch: int = 500) -> Iterator[list[Mention]]:
        where, params = self._where(filters)
        after: list[Any] = []
        while True:
            keyset = " AND (m.published > ? OR (m.published = ? AND m.id > ?))" if after else ""
            rows = self.db.read(
                f"SELECT m.published, m.id, m.doc FROM mentions m WHERE {where}{keyset}"
                " ORDER BY m.published, m.id LIMIT ?",
                [*params, *after, batch],
            )
            if rows:
                yield [Mention.model_validate_json(r[2]) for r in rows]
            if len(rows) < batch:
                return
            after = [rows[-1][0], rows[-1][0], rows[-1][1]]

    def timeline(
        self, filters: Filters, interval: timedelta, *, distinct: Distinct = None
    ) -> list[Bucket]:
        step = int(interval.total_seconds() * 1000)
        if step <= 0:
            raise ValueError("the timeline interval must be positive")
        where, params = self._where(filters)
        rows = self.db.read(
            f"SELECT (m.published / ?) * ? AS b, COALESCE(m.sentiment, 'unknown'),"
            f" {_count(distinct)}"
            f" FROM mentions m WHERE {where} GROUP BY b, 2 ORDER BY b",
            [step, step, *params],
        )
        counts: dict[int, dict[str, int]] = {}
        for start, label, n in rows:
            counts.setdefault(start, {})[label] = n
        if not counts:
            return []
        first, last = min(counts), max(counts)
        return [
            Bucket(_from_ms(start), counts.get(start, {}))
            for start in range(first, last + step, step)
        ]

    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]:
        where, params = self._where(filters)
        count = _count(distinct)
        if facet == "brand":
            sql = (
                f"SELECT b.brand, {count} AS n FROM mention_brands b JOIN mentions m"
                f" ON m.rowid = b.mention WHERE {where} GROUP BY b.brand ORDER BY n DESC, 1"
                f" LIMIT ?"
            )
        elif facet == "entity":
            # A mention names an entity once, whatever labels it was found under.
            count = count if distinct else "COUNT(DISTINCT m.rowid)"
            sql = (
                f"SELECT MIN(e.name), {count} AS n FROM mention_entities e JOIN mentions m"
                f" ON m.rowid = e.mention WHERE {where} GROUP BY e.entity ORDER BY n DESC, 1"
                f" LIMIT ?"
            )
        else:
            column = _FACET_COLUMNS[facet]
            sql = (
                f"SELECT {column} AS k, {count} AS n FROM mentions m WHERE {where}"
                f" AND k IS NOT NULL GROUP BY k ORDER BY n DESC, k LIMIT ?"
            )
        return [TermCount(key, n) for key, n in self.db.read(sql, [*params, limit])]

    # -- authors -------------------------------------------------------------------------------

    def record_authors(self, activity: Sequence[AuthorActivity]) -> list[AuthorStats]:
        if not activity:
            return []
        latest = list({a.mention_id: a for a in activity}.values())  # a batch may repeat one
        ids = [a.mention_id for a in latest]
        with self.db.write() as conn:
            touched: dict[str, None] = {}
            for chunk in _chunks(ids):
                # Redelivered, or its author changed: the previous author is recounted too.
                for (key,) in conn.execute(
                    f"SELECT author_key FROM author_activity WHERE mention_id IN"
                    f" ({', '.join('?' * len(chunk))})",
                    chunk,
                ):
                    touched[key] = None
                conn.execute(
                    f"DELETE FROM author_mentioned WHERE mention_id IN"
                    f" ({', '.join('?' * len(chunk))})",
                    chunk,
                )
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
                        _ms(a.published),
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
            for key in touched:
                self._aggregate_author(conn, key)
            return self._authors(conn, list(touched))

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
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT {_AUTHOR_COLUMNS} FROM authors WHERE key IN ({marks})", chunk
            ).fetchall()
            out += [_author(r) for r in rows]
        order = {k: i for i, k in enumerate(keys)}
        return sorted(out, key=lambda a: order[a.key])

    def authors(self, keys: Sequence[str]) -> list[AuthorStats]:
        try:
            return self._authors(self.db.connection(), list(keys))
        except sqlite3.OperationalError as exc:
            raise self.db.failed(exc) from exc

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
        rank = max(1, math.ceil(min(100.0, max(0.0, percentile)) / 100 * total))
        rows = self.db.read("SELECT score FROM authors ORDER BY score LIMIT 1 OFFSET ?", [rank - 1])
        return float(rows[0][0])

    def top_authors(self, filters: Filters, limit: int = 10) -> list[RankedAuthor]:
        where, params = self._where(filters)
        columns = ", ".join(f"a.{c.strip()}" for c in _AUTHOR_COLUMNS.split(","))
        rows = self.db.read(
            f"SELECT {columns}, COUNT(*) AS n FROM mentions m JOIN authors a"
            f" ON a.key = m.author_key WHERE {where} GROUP BY a.key"
            f" ORDER BY a.score DESC, n DESC, a.key LIMIT ?",
            [*params, limit],
        )
        return [RankedAuthor(_author(r[:-1]), r[-1]) for r in rows]

    # -- near-duplicates -----------------------------------------------------------------------

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        out: dict[str, str] = {}
        if not signatures:
            return out
        with self.db.write() as conn:
            for chunk in _chunks([s.mention_id for s in signatures]):
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

    def significant_terms(
        self, filters: Filters, background: Filters | None = None, limit: int = 10
    ) -> list[SignificantTerm]:
        where, params = self._where(filters)
        rows = self.db.read(
            f"SELECT f.title, f.body FROM mentions m JOIN {FTS_TABLE} f ON f.rowid = m.rowid"
            f" WHERE {where} ORDER BY m.published DESC LIMIT ?",
            [*params, SIGNIFICANT_SAMPLE],
        )
        inside: Counter[str] = Counter()
        for title, body in rows:
            inside.update(set(f"{title} {body}".split()))
        candidates = [term for term, n in inside.items() if n >= 2]
        if not candidates:
            return []
        # Background document frequencies of the candidates, straight from the FTS5 index.
        self.db.connection().execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {_VOCAB} USING fts5vocab(main, {FTS_TABLE},"
            f" instance)"
        )
        bg_where, bg_params = self._where(background or Filters())
        counts = self.db.read(
            f"SELECT term, COUNT(DISTINCT doc) FROM {_VOCAB} WHERE term IN"
            f" (SELECT value FROM json_each(?)) AND doc IN (SELECT m.rowid FROM mentions m"
            f" WHERE {bg_where}) GROUP BY term",
            [json.dumps(candidates), *bg_params],
        )
        total = self.count(background or Filters())
        scored = [
            SignificantTerm(term, inside[term], n, chi_square(inside[term], len(rows), n, total))
            for term, n in counts
        ]
        found = [t for t in scored if t.score > 0]
        found.sort(key=lambda t: (-t.score, t.key))
        return found[:limit]

    # -- administration ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Nothing to do: every committed write is visible to every reader at once."""

    def drop(self) -> None:
        """Delete every table the store created; `setup` creates them again, empty."""
        with self.db.write() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {_VOCAB}")
            for table in _TABLES:
                conn.execute(f"DROP TABLE IF EXISTS {table}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if TYPE_CHECKING:  # SqliteStore implements the whole protocol
    _store: type[Store] = SqliteStore
