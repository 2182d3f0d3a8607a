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
import sqlite3
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from zoneinfo import ZoneInfo

import orjson

from index.base import (
    DAY,
    HOUR,
    MONDAY_DAY,
    SIGNIFICANT_MIN_COUNT,
    SIGNIFICANT_SAMPLE,
    BaseStore,
    chi_square,
    chunks,
    epoch_ms,
    from_epoch_ms,
    local_days,
    regroup,
    utc_offsets,
)
from index.settings import StoreSettings
from index.sqlite import rollups, schema
from index.sqlite.authors import SqliteAuthors
from index.sqlite.clusters import SqliteClusters
from index.sqlite.query import filters_where, rank_expression
from index.sqlite.rollups import Plan
from index.sqlite.schema import FTS_TABLE, index_input, indexed_words
from ingest.errors import ConfigError, StoreBroken, StoreUnavailable
from ingest.record import Mention
from ingest.sqlite import SqliteFile, fingerprint
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
from ingest.text import fold

_UPSERT = """
INSERT INTO mentions (id, published, fetched, source_kind, source_key, source_label, site, lang,
                      author_name, author_handle, author_display, sentiment, cluster, author_key,
                      doc, rating)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET
    published = CASE WHEN {undated} THEN mentions.published ELSE excluded.published END,
    fetched = CASE WHEN {undated} THEN mentions.fetched ELSE excluded.fetched END,
    source_kind = excluded.source_kind, source_key = excluded.source_key,
    source_label = excluded.source_label,
    site = excluded.site, lang = excluded.lang, author_name = excluded.author_name,
    author_handle = excluded.author_handle, author_display = excluded.author_display,
    sentiment = excluded.sentiment, cluster = excluded.cluster, author_key = excluded.author_key,
    doc = CASE WHEN {undated}
        THEN json_set(excluded.doc, '$.fetched', json_extract(mentions.doc, '$.fetched'))
        ELSE excluded.doc END,
    rating = excluded.rating
WHERE excluded.fetched >= mentions.fetched
""".format(
    # A mention without a date sits in time where it was first seen: fetched again, it keeps
    # that time, so an old forum post found on every crawl of its page does not move forward.
    undated=f"({schema.undated('excluded.doc')} AND {schema.undated('mentions.doc')})"
)


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
        epoch_ms(m.when),
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
        m.rating.stars if m.rating else None,
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_STAMP = fingerprint(schema.FINGERPRINT)
"""The stamp of a file this version set up, whose rollups it has kept."""


def _create(conn: sqlite3.Connection) -> None:
    schema.create(conn)
    rollups.rebuild(conn)


_HOUR_MS = HOUR // timedelta(milliseconds=1)
_DAY_MS = DAY // timedelta(milliseconds=1)


def _count(distinct: Distinct) -> str:
    return "COUNT(DISTINCT COALESCE(m.cluster, m.id))" if distinct == "cluster" else "COUNT(*)"


CACHE_MIB = 64
"""Each connection's page cache, at most (SQLite allocates it as pages are read)."""


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
            # A batch's cluster and author writes land on pages all over their tables (their
            # keys are hashes): a transaction's pages, and the tables' inner pages, stay in
            # memory instead of being spilled and read again (SQLite's default is 2 MiB).
            cache_mib=CACHE_MIB,
            lock_timeout=lock_timeout,
        )
        self.use_rollups = True
        """False: every figure is counted from the mentions (what the tests compare to)."""
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
        self.db.setup(schema.FINGERPRINT, _create, marker="mentions")

    # -- writes --------------------------------------------------------------------------------

    def upsert(self, mentions: Sequence[Mention]) -> list[Rejected]:
        if not mentions:
            return []
        rows = [_row(m) for m in mentions]
        with self.db.write() as conn:
            unique = list(dict.fromkeys(row[0] for row in rows))
            ids = json.dumps(unique)
            # Deleted on its platform: a copy that comes after the deletion stays deleted.
            deleted = schema.deleted_among(conn, unique)
            if deleted:
                kept = [(r, m) for r, m in zip(rows, mentions, strict=True) if r[0] not in deleted]
                rows, mentions = [r for r, _ in kept], [m for _, m in kept]
            stored = {
                mention_id: (rowid, fetched)
                for mention_id, rowid, fetched in conn.execute(
                    "SELECT id, rowid, fetched FROM mentions WHERE id IN"
                    " (SELECT value FROM json_each(?))",
                    (ids,),
                )
            }
            # What the upsert's WHERE decides row by row, decided here for the whole batch: a
            # copy fetched earlier than the stored one is not written, and of a mention the
            # batch repeats, the last copy written wins.
            latest = {mention_id: fetched for mention_id, (_, fetched) in stored.items()}
            winners: dict[str, tuple[tuple[Any, ...], Mention]] = {}
            for row, mention in zip(rows, mentions, strict=True):
                if row[0] not in latest or row[2] >= latest[row[0]]:
                    latest[row[0]] = row[2]
                    winners[row[0]] = (row, mention)
            if not winners:
                return []
            rewritten = [stored[i][0] for i in winners if i in stored]
            rollups.add(conn, rewritten, -1)  # what they counted, before their rows change
            conn.executemany(_UPSERT, [row for row, _ in winners.values()])
            rowid_of = dict(
                conn.execute(
                    "SELECT id, rowid FROM mentions WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(winners)),),
                ).fetchall()
            )
            written = [(rowid_of[i], m) for i, (_, m) in winners.items()]
            for chunk in chunks(rewritten):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mention_brands WHERE mention IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mention_entities WHERE mention IN ({marks})", chunk)
            conn.executemany(
                f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (?, ?, ?)",
                [(rowid, index_input(m.heading), index_input(m.text)) for rowid, m in written],
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
            rollups.add(conn, [rowid for rowid, _ in written], 1)
        return []

    def delete(self, mention_ids: Sequence[str], at: datetime) -> int:
        if not mention_ids:
            return 0
        ids = list(dict.fromkeys(mention_ids))
        with self.db.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO deleted_mentions VALUES (?, ?)",
                [(i, epoch_ms(at)) for i in ids],
            )
            rowids = [
                rowid
                for (rowid,) in conn.execute(
                    "SELECT rowid FROM mentions WHERE id IN (SELECT value FROM json_each(?))",
                    (json.dumps(ids),),
                )
            ]
            rollups.add(conn, rowids, -1)  # what they counted, before their rows go
            for chunk in chunks(rowids):
                marks = ",".join("?" * len(chunk))
                conn.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mention_brands WHERE mention IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mention_entities WHERE mention IN ({marks})", chunk)
                conn.execute(f"DELETE FROM mentions WHERE rowid IN ({marks})", chunk)
            self.author_index.forget(conn, ids)
        return len(rowids)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, mention_id: str) -> Mention | None:
        rows = self.db.read("SELECT doc FROM mentions WHERE id = ?", (mention_id,))
        return Mention.model_validate_json(rows[0][0]) if rows else None

    def count(self, filters: Filters, *, distinct: Distinct = None) -> int:
        plan = self._plan(filters, distinct)
        if plan is None:
            return self._scanned_count(filters, distinct)
        sql, params = plan.counts("SUM(n)")
        total = self.db.read(sql, params)[0][0] or 0
        return int(total) + sum(self._scanned_count(e, None, by_date=True) for e in plan.edges)

    def _scanned_count(self, filters: Filters, distinct: Distinct, *, by_date: bool = False) -> int:
        where, params = filters_where(filters, by_date=by_date)
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
        for rows in self._docs(filters, batch):
            yield [Mention.model_validate_json(doc) for doc in rows]

    def fields(self, filters: Filters, *, batch: int = 500) -> Iterator[list[dict[str, Any]]]:
        """`MentionStore.fields`: the stored JSON, parsed (orjson) and not validated."""
        for rows in self._docs(filters, batch):
            yield [orjson.loads(doc) for doc in rows]

    def _docs(self, filters: Filters, batch: int) -> Iterator[list[str]]:
        """The stored JSON of what ``filters`` select, oldest first (then by id). One statement,
        read as it goes: the matches of a query or a brand are found once, not once per page,
        whatever the depth. Without a query it walks ``mentions_published_id`` in order
        (nothing to sort); a query's matches are found first, then sorted."""
        where, params = filters_where(filters, by_date=filters.query is None)
        for rows in self.db.stream(
            f"SELECT m.doc FROM mentions m WHERE {where} ORDER BY m.published, m.id",
            params,
            batch,
        ):
            yield [r[0] for r in rows]

    def timeline(
        self,
        filters: Filters,
        interval: timedelta,
        *,
        distinct: Distinct = None,
        zone: ZoneInfo | None = None,
    ) -> list[Bucket]:
        """See `MentionStore.timeline`. Local buckets are the store's hours (from the rollups)
        summed by local day when the zone's offset is whole hours over the period; with
        ``distinct``, or in a zone half an hour off (India), they are counted in one statement
        that maps every mention to its local day by the zone's UTC offsets over the period
        (`index.base.utc_offsets`)."""
        days = local_days(interval, zone)
        if zone is None or not days:
            return self._epoch_timeline(filters, interval, distinct)
        hours = self._epoch_timeline(filters, HOUR, None)
        if not hours:
            return []
        offsets = utc_offsets(zone, hours[0].start - DAY, hours[-1].start + DAY)
        if distinct is None and not any(offset % _HOUR_MS for _, offset in offsets):
            return regroup(hours, interval, zone)
        changes = " ".join("WHEN m.published < ? THEN ?" for _ in offsets[1:])
        offset = f"CASE {changes} ELSE ? END" if changes else "?"
        # Each change: before its instant, the offset of the stretch it ends.
        case_params = [v for (_, before), (at, _) in pairwise(offsets) for v in (at, before)]
        where, params = filters_where(filters)
        rows = self.db.read(
            f"SELECT d - ((d - {MONDAY_DAY}) % {days} + {days}) % {days} AS b, label,"
            f" {'COUNT(DISTINCT k)' if distinct else 'COUNT(*)'} FROM"
            f" (SELECT (m.published + {offset}) / {_DAY_MS} AS d,"
            f" COALESCE(m.sentiment, 'unknown') AS label, COALESCE(m.cluster, m.id) AS k"
            f" FROM mentions m WHERE {where}) GROUP BY b, label",
            [*case_params, offsets[-1][1], *params],
        )
        counts: dict[int, dict[str, int]] = {}
        for day, label, n in sorted(rows):
            counts.setdefault(day, {})[label] = n
        if not counts:
            return []
        epoch = date(1970, 1, 1)
        return [
            Bucket(
                datetime.combine(epoch + timedelta(days=day), time(), zone),
                counts.get(day, {}),
            )
            for day in range(min(counts), max(counts) + 1, days)
        ]

    def _epoch_timeline(
        self, filters: Filters, interval: timedelta, distinct: Distinct
    ) -> list[Bucket]:
        step = int(interval.total_seconds() * 1000)
        if step <= 0:
            raise ValueError("the timeline interval must be positive")
        plan = self._plan(filters, distinct)
        counts: dict[int, Counter[str]] = {}
        if plan is None or step % rollups.HOUR:
            edges: Sequence[Filters] = (filters,)
        else:
            edges = plan.edges
            sql, params = plan.counts(
                f"(hour * {rollups.HOUR} / ?) * ? AS b, {rollups.COUNTED['sentiment']}, SUM(n)"
            )
            self._tally(counts, self.db.read(f"{sql} GROUP BY 1, 2", [step, step, *params]))
        for edge in edges:
            where, params = filters_where(edge, by_date=plan is not None)
            self._tally(
                counts,
                self.db.read(
                    f"SELECT (m.published / ?) * ? AS b, COALESCE(m.sentiment, 'unknown'),"
                    f" {_count(distinct)} FROM mentions m WHERE {where} GROUP BY b, 2",
                    [step, step, *params],
                ),
            )
        counts = {start: +labels for start, labels in counts.items() if +labels}
        if not counts:
            return []
        first, last = min(counts), max(counts)
        return [
            Bucket(from_epoch_ms(start), dict(sorted(counts.get(start, Counter()).items())))
            for start in range(first, last + step, step)
        ]

    @staticmethod
    def _tally(counts: dict[int, Counter[str]], rows: list[Any]) -> None:
        for start, label, n in rows:
            counts.setdefault(start, Counter())[label] += n

    def top(
        self, filters: Filters, facet: Facet, limit: int = 10, *, distinct: Distinct = None
    ) -> list[TermCount]:
        plan = self._plan(filters, distinct)
        if plan is None or not plan.answers(facet):
            return self._scanned_top(filters, facet, limit, distinct)
        if facet in rollups.TERMS:
            sql, params = plan.terms(facet)
        else:
            sql, params = plan.counts(
                f"{rollups.COUNTED[facet]} AS k, SUM(n) AS n", by_brand=facet == "brand"
            )
            sql += " GROUP BY k"
        counts: Counter[str] = Counter(dict(self.db.read(sql, params)))
        for edge in plan.edges:
            edge_top = self._scanned_top(edge, facet, None, None, by_date=True)
            counts.update({t.key: t.count for t in edge_top})
        # The order SQL gives: most first, then by key (brands compare without case).
        order = (lambda key: key.translate(_ASCII_LOWER)) if facet == "brand" else str
        ranked = sorted(
            ((k, n) for k, n in counts.items() if n > 0), key=lambda t: (-t[1], order(t[0]))
        )
        return [TermCount(key, n) for key, n in ranked[:limit]]

    def _scanned_top(
        self,
        filters: Filters,
        facet: Facet,
        limit: int | None,
        distinct: Distinct,
        *,
        by_date: bool = False,
    ) -> list[TermCount]:
        where, params = filters_where(filters, by_date=by_date)
        count = _count(distinct)
        if facet == "brand":
            sql = (
                f"SELECT b.brand, {count} AS n FROM mention_brands b JOIN mentions m"
                f" ON m.rowid = b.mention WHERE {where} GROUP BY b.brand ORDER BY n DESC, 1"
            )
        elif facet == "entity":
            # A mention names an entity once, whatever labels it was found under.
            count = count if distinct else "COUNT(DISTINCT m.rowid)"
            sql = (
                f"SELECT MIN(e.name), {count} AS n FROM mention_entities e JOIN mentions m"
                f" ON m.rowid = e.mention WHERE {where} GROUP BY e.entity ORDER BY n DESC, 1"
            )
        else:
            column = _FACET_COLUMNS[facet]
            sql = (
                f"SELECT {column} AS k, {count} AS n FROM mentions m WHERE {where}"
                f" AND k IS NOT NULL GROUP BY k ORDER BY n DESC, k"
            )
        if limit is not None:
            sql += " LIMIT ?"
            params = [*params, limit]
        return [TermCount(key, n) for key, n in self.db.read(sql, params)]

    def _plan(self, filters: Filters, distinct: Distinct) -> Plan | None:
        """How the rollups answer ``filters`` (`rollups.Plan`), or None: when they cannot, when
        this store does not read them (`use_rollups`), or when the file was last set up by
        another version of Veille, which may not have kept them (a read-only command reads it
        as it is)."""
        if not self.use_rollups or distinct is not None:
            return None
        plan = Plan.of(filters)
        if plan is None:
            return None
        with self.db.guard():
            conn = self.db.connection()
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            if version != _STAMP:
                return None
            # Sources are counted by kind; a filter that names a source by its name (or a
            # name that is also a kind) is read from the mentions.
            if (
                filters.source
                and conn.execute(
                    "SELECT 1 FROM rollup_sources WHERE source_key = ? AND n > 0",
                    (fold(filters.source),),
                ).fetchone()
            ):
                return None
            # Hour 0 of the rollups also holds what was published before 1970.
            if conn.execute("SELECT 1 FROM mentions WHERE published < 0 LIMIT 1").fetchone():
                return None
        return plan

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
            inside.update({*indexed_words(title), *indexed_words(body)})
        candidates = [term for term, n in inside.items() if n >= SIGNIFICANT_MIN_COUNT]
        if not candidates:
            return []
        # Background document frequencies of the candidates, straight from the FTS5 index: for
        # every mention, the index's own count of each word; else its occurrences, by mention.
        with self.db.guard():
            vocabulary = schema.vocabulary(
                self.db.connection(), "row" if background is None else "instance"
            )
        if background is None:
            counts = self.db.read(
                f"SELECT term, doc FROM {vocabulary} WHERE term IN"
                f" (SELECT value FROM json_each(?))",
                [json.dumps(candidates)],
            )
        else:
            bg_where, bg_params = filters_where(background)
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
