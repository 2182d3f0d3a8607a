"""The embedded `Store`: mentions in SQLite, searched with FTS5 (``sqlite://path``).

One row per mention in ``mentions`` (the record as JSON, plus the columns that filters and
aggregations need), its brands in ``mention_brands``, and its folded words in the FTS5 table
``mentions_fts`` (same rowid). Writes are upserts by mention id in one transaction per batch.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from index.fts import FTS_TABLE, compile_where, rank_expression
from ingest.errors import ConfigError, StoreUnavailable
from ingest.record import Mention
from ingest.sqlite import SqliteFile
from ingest.store import (
    Bucket,
    Facet,
    Filters,
    Rejected,
    SearchPage,
    SignificantTerm,
    SortOrder,
    TermCount,
)
from ingest.text import fold, index_text

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

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

_UPSERT = """
INSERT INTO mentions (id, published, fetched, source_kind, source_key, source_label, site, lang,
                      author_name, author_handle, author_display, sentiment, cluster, doc)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    published = excluded.published, fetched = excluded.fetched,
    source_kind = excluded.source_kind, source_key = excluded.source_key,
    source_label = excluded.source_label,
    site = excluded.site, lang = excluded.lang, author_name = excluded.author_name,
    author_handle = excluded.author_handle, author_display = excluded.author_display,
    sentiment = excluded.sentiment, cluster = excluded.cluster, doc = excluded.doc
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
        m.model_dump_json(exclude_none=True),
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
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
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
        return (" AND ".join(clauses) or "1"), params

    def get(self, mention_id: str) -> Mention | None:
        rows = self.db.read("SELECT doc FROM mentions WHERE id = ?", (mention_id,))
        return Mention.model_validate_json(rows[0][0]) if rows else None

    def count(self, filters: Filters) -> int:
        where, params = self._where(filters)
        return int(self.db.read(f"SELECT COUNT(*) FROM mentions m WHERE {where}", params)[0][0])

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

    def timeline(self, filters: Filters, interval: timedelta) -> list[Bucket]:
        step = int(interval.total_seconds() * 1000)
        if step <= 0:
            raise ValueError("the timeline interval must be positive")
        where, params = self._where(filters)
        rows = self.db.read(
            f"SELECT (m.published / ?) * ? AS b, COALESCE(m.sentiment, 'unknown'), COUNT(*)"
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

    def top(self, filters: Filters, facet: Facet, limit: int = 10) -> list[TermCount]:
        where, params = self._where(filters)
        if facet == "brand":
            sql = (
                f"SELECT b.brand, COUNT(*) AS n FROM mention_brands b JOIN mentions m"
                f" ON m.rowid = b.mention WHERE {where} GROUP BY b.brand ORDER BY n DESC, 1"
                f" LIMIT ?"
            )
        else:
            column = _FACET_COLUMNS[facet]
            sql = (
                f"SELECT {column} AS k, COUNT(*) AS n FROM mentions m WHERE {where}"
                f" AND k IS NOT NULL GROUP BY k ORDER BY n DESC, k LIMIT ?"
            )
        return [TermCount(key, n) for key, n in self.db.read(sql, [*params, limit])]

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

    def close(self) -> None:
        self.db.close()
