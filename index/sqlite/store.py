"""The embedded `Store`: mentions in one SQLite file, searched with FTS5 (``sqlite://path``).

`SqliteStore` owns the mentions (tables: `index.sqlite.schema`; queries: `index.sqlite.query`)
and holds the two indexes enrich keeps in the same file, `SqliteAuthors` and `SqliteClusters`,
as its ``author_index`` and ``cluster_index``. Writes are upserts by mention id in one
``BEGIN IMMEDIATE`` transaction per batch.

Errors (`ingest.sqlite`): a store file that is locked, full or read-only raises
`StoreUnavailable`, and the runner waits and retries; a damaged or foreign file raises
`StoreBroken`, and the worker stops without dead-lettering anything. Opened inside
`ingest.access.read_only` (``veille search``, ``status``...), the store only reads: no set-up,
no migration, no lock.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from index.base import (
    SIGNIFICANT_MIN_COUNT,
    SIGNIFICANT_SAMPLE,
    BaseStore,
    chi_square,
    chunks,
    epoch_ms,
    from_epoch_ms,
)
from index.settings import StoreSettings
from index.sqlite import schema
from index.sqlite.authors import SqliteAuthors
from index.sqlite.clusters import SqliteClusters
from index.sqlite.query import filters_where, rank_expression
from index.sqlite.schema import FTS_TABLE
from ingest.errors import ConfigError, StoreBroken, StoreUnavailable
from ingest.record import Mention
from ingest.sqlite import SqliteFile
from ingest.store import (
    Bucket,
    Distinct,
    Facet,
    Filters,
    Rejected,
    SearchPage,
    SignificantTerm,
    SortOrder,
    Store,
    TermCount,
)
from ingest.text import fold, index_text

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


_FACET_COLUMNS = {
    "sentiment": "COALESCE(m.sentiment, 'unknown')",
    "source": "m.source_label",
    "site": "m.site",
    "author": "m.author_display",
    "lang": "m.lang",
}


def _row(m: Mention) -> tuple[Any, ...]:
    author = m.author
    sentiment = m.enrichment.sentiment.label if m.enrichment and m.enrichment.sentiment else None
    return (
        m.id,
        epoch_ms(m.published),
        epoch_ms(m.fetched),
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


class SqliteStore(BaseStore[SqliteAuthors, SqliteClusters]):
    """A `Store` in one SQLite file. Thread-safe: each thread gets its own connection."""

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.db = SqliteFile(
            self.path,
            kind="the store",
            unavailable=StoreUnavailable,
            broken=StoreBroken,
            setting="store.url",
            lock_timeout=lock_timeout,
        )
        super().__init__(SqliteAuthors(self.db), SqliteClusters(self.db))

    @classmethod
    def from_url(cls, url: str, settings: StoreSettings | None = None, **tuning: Any) -> Self:
        """The store in the file of ``sqlite://PATH``, set up; it has no settings of its own
        (``tuning`` sets the constructor's ``lock_timeout``)."""
        path = url.split("://", 1)[1]
        if not path:
            raise ConfigError(f"store URL '{url}' needs a file path, as in sqlite://data/veille.db")
        store = cls(path, **tuning)
        store.setup()
        return store

    def setup(self) -> None:
        """Create or migrate the tables (`index.sqlite.schema`); a store set up already is only
        read."""
        self.db.setup(schema.FINGERPRINT, schema.create, marker="mentions")

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
            for chunk in chunks(written):
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

    def get(self, mention_id: str) -> Mention | None:
        rows = self.db.read("SELECT doc FROM mentions WHERE id = ?", (mention_id,))
        return Mention.model_validate_json(rows[0][0]) if rows else None

    def count(self, filters: Filters, *, distinct: Distinct = None) -> int:
        where, params = filters_where(filters)
        sql = f"SELECT {_count(distinct)} FROM mentions m WHERE {where}"
        return int(self.db.read(sql, params)[0][0])

    def search(
        self, filters: Filters, *, sort: SortOrder = "date", page: int = 1, size: int = 20
    ) -> SearchPage:
        where, params = filters_where(filters)
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
        where, params = filters_where(filters)
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
        where, params = filters_where(filters)
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
            Bucket(from_epoch_ms(start), counts.get(start, {}))
            for start in range(first, last + step, step)
        ]

    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]:
        where, params = filters_where(filters)
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

    def significant_terms(
        self, filters: Filters, background: Filters | None = None, limit: int = 10
    ) -> list[SignificantTerm]:
        where, params = filters_where(filters)
        rows = self.db.read(
            f"SELECT f.title, f.body FROM mentions m JOIN {FTS_TABLE} f ON f.rowid = m.rowid"
            f" WHERE {where} ORDER BY m.published DESC LIMIT ?",
            [*params, SIGNIFICANT_SAMPLE],
        )
        inside: Counter[str] = Counter()
        for title, body in rows:
            inside.update(set(f"{title} {body}".split()))
        candidates = [term for term, n in inside.items() if n >= SIGNIFICANT_MIN_COUNT]
        if not candidates:
            return []
        # Background document frequencies of the candidates, straight from the FTS5 index.
        with self.db.guard():
            vocabulary = schema.vocabulary(self.db.connection())
        bg_where, bg_params = filters_where(background or Filters())
        counts = self.db.read(
            f"SELECT term, COUNT(DISTINCT doc) FROM {vocabulary} WHERE term IN"
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
            schema.drop(conn)
            self.db.reset(conn)

    def close(self) -> None:
        self.db.close()


if TYPE_CHECKING:  # SqliteStore implements the whole protocol
    _store: type[Store] = SqliteStore
