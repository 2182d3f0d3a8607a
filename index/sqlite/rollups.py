"""The SQLite store's rollups: mention counts per hour, kept as mentions are written, that
`index.sqlite.SqliteStore` reads instead of the mentions whenever the filters allow.

Tables (`index.sqlite.schema`), each one row per combination that has mentions:

- ``rollup_counts``: mentions per hour, sentiment (``''`` when not scored), language and
  source kind; ``rollup_brand_counts``: the same per brand (a mention with two brands counts
  once in each);
- ``rollup_terms``: mentions per facet (`TERMS`: site, author, source name), hour and value;
  ``rollup_brand_terms``: the same per brand, for the facets of `BRAND_TERMS` (what a report
  shows of a brand; each costs the writes a row per mention and brand, nearly);
- ``rollup_sources``: mentions per source key (folded name), to tell a source filter that names
  a kind only from one that names a source.

Kept exactly (`add`): the store's upsert subtracts what a mention it rewrites counted, before it
changes its rows, and adds what it counts after, in the same transaction, by the same SQL over
the stored rows: a redelivered mention leaves the counts as they were, a rewritten one moves
between rows. `rebuild` recounts everything (at every set-up of the schema: a migration, or a
store last set up by another version of Veille, which may not have kept them).

Read (`Plan`): counts, timelines and tops of brand, sentiment and language read
``rollup_counts`` or ``rollup_brand_counts`` whatever the brand, sentiment, language and source
kind filters (but the brands of a brand's mentions); tops of sites and authors read the terms
under a brand filter at most, of source names under none. A period is read from the rollups by
whole hours and from the mentions for the part hours at its ends (each a seek on the date
index). Anything else (a query, an entity, a source filter that names a source, a cluster
counted once, a timeline interval that is not whole hours, a mention dated before 1970) is read
from the mentions: `tests/test_sqlite_rollups.py` holds both ways to the same numbers, and
`tests/test_store_contract.py` holds them to a count of what is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from index.base import epoch_ms, from_epoch_ms
from ingest.store import Facet, Filters

HOUR = 3_600_000
"""An hour in milliseconds: a mention's hour is ``published / HOUR`` (SQL integer division)."""

TERMS: dict[str, str] = {
    "site": "m.site",
    "author": "m.author_display",
    "source": "m.source_label",
}
"""The facets of ``rollup_terms``, and the column of ``mentions m`` each counts."""

BRAND_TERMS = ("site", "author")
"""The facets of `TERMS` that ``rollup_brand_terms`` also counts per brand."""

COUNTED: dict[str, str] = {
    "sentiment": "CASE sentiment WHEN '' THEN 'unknown' ELSE sentiment END",
    "lang": "lang",
    "brand": "brand",
}
"""The facets of ``rollup_counts`` and ``rollup_brand_counts``, and how each reads them."""

_CELL = f"m.published / {HOUR}, COALESCE(m.sentiment, ''), m.lang, m.source_kind"


def _statements(which: str) -> list[str]:
    """The statements that add ``?`` (1 or -1) times the mentions ``m`` that ``which`` selects to
    every rollup: each takes the sign, then the parameters of ``which``."""
    upsert = " ON CONFLICT ({key}) DO UPDATE SET n = n + excluded.n"
    brands = "mention_brands b JOIN mentions m ON m.rowid = b.mention"
    out = [
        f"INSERT INTO rollup_counts (hour, sentiment, lang, source_kind, n)"
        f" SELECT {_CELL}, ? * COUNT(*) FROM mentions m WHERE {which} GROUP BY 1, 2, 3, 4"
        + upsert.format(key="hour, sentiment, lang, source_kind"),
        f"INSERT INTO rollup_brand_counts (brand, hour, sentiment, lang, source_kind, n)"
        f" SELECT b.brand, {_CELL}, ? * COUNT(*) FROM {brands} WHERE {which}"
        f" GROUP BY 1, 2, 3, 4, 5" + upsert.format(key="brand, hour, sentiment, lang, source_kind"),
        f"INSERT INTO rollup_sources (source_key, n) SELECT m.source_key, ? * COUNT(*)"
        f" FROM mentions m WHERE {which} GROUP BY 1" + upsert.format(key="source_key"),
    ]
    for facet, column in TERMS.items():
        out.append(
            f"INSERT INTO rollup_terms (facet, hour, key, n) SELECT '{facet}', m.published /"
            f" {HOUR}, {column}, ? * COUNT(*) FROM mentions m WHERE {which}"
            f" AND {column} IS NOT NULL GROUP BY 2, 3" + upsert.format(key="facet, hour, key")
        )
    for facet in BRAND_TERMS:
        column = TERMS[facet]
        out += [
            f"INSERT INTO rollup_brand_terms (facet, brand, hour, key, n) SELECT '{facet}',"
            f" b.brand, m.published / {HOUR}, {column}, ? * COUNT(*) FROM {brands}"
            f" WHERE {which} AND {column} IS NOT NULL GROUP BY 2, 3, 4"
            + upsert.format(key="facet, brand, hour, key"),
        ]
    return out


_BY_ROWID = _statements("m.rowid IN (SELECT value FROM json_each(?))")
_EVERYTHING = _statements("1")
_TABLES = ("rollup_counts", "rollup_brand_counts", "rollup_terms", "rollup_brand_terms")


def add(conn: sqlite3.Connection, rowids: Sequence[int], sign: int) -> None:
    """Add (``sign`` 1) or subtract (-1) the mentions of ``rowids``, as their rows and brands
    stand now, to every rollup (in the caller's write transaction)."""
    if not rowids:
        return
    listed = "[" + ",".join(str(int(r)) for r in rowids) + "]"
    for statement in _BY_ROWID:
        conn.execute(statement, (sign, listed))


def rebuild(conn: sqlite3.Connection) -> None:
    """Count every stored mention into the rollups afresh (in the caller's write transaction)."""
    for table in (*_TABLES, "rollup_sources"):
        conn.execute(f"DELETE FROM {table}")
    for statement in _EVERYTHING:
        conn.execute(statement, (1,))


# -- reads ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """How a read of ``filters`` splits between the rollups and the mentions: the rollups for
    the whole hours from ``first`` to before ``end`` (None: no bound), the mentions for the
    ``edges``, the part hours at the ends of the period (each a narrower `Filters`)."""

    filters: Filters
    first: int | None
    end: int | None
    edges: tuple[Filters, ...]

    @staticmethod
    def of(filters: Filters) -> Plan | None:
        """The plan for ``filters``, or None when the rollups cannot answer them (a query, an
        entity; a period shorter than an hour, or before 1970)."""
        if filters.query is not None or filters.entity or filters.undated:
            return None
        first = end = None
        edges: list[Filters] = []
        if filters.since is not None:
            since = epoch_ms(filters.since)
            first = -(-since // HOUR)
            if first <= 0:  # hour 0 also holds what came before 1970 (integer division)
                return None
            if since < first * HOUR:
                edges.append(replace(filters, until=from_epoch_ms(first * HOUR)))
        if filters.until is not None:
            until = epoch_ms(filters.until)
            end = until // HOUR
            if end <= 0:
                return None
            if until > end * HOUR:
                edges.append(replace(filters, since=from_epoch_ms(end * HOUR)))
        if first is not None and end is not None and first >= end:
            return None
        return Plan(filters, first, end, tuple(edges))

    def answers(self, facet: Facet) -> bool:
        """Whether the rollups hold the counts of ``facet`` under these filters: those of
        `COUNTED` under any (but the brands of mentions that name a brand), those of `TERMS`
        under a brand filter at most (one of `BRAND_TERMS`), or none."""
        f = self.filters
        if facet in TERMS:
            return not (f.sentiment or f.source or f.lang or (f.brand and facet not in BRAND_TERMS))
        return facet in COUNTED and not (facet == "brand" and f.brand)

    def counts(self, select: str, *, by_brand: bool = False) -> tuple[str, list[Any]]:
        """``SELECT select`` over the count rollup that fits the filters (the one per brand with
        ``by_brand``), narrowed to them."""
        f = self.filters
        table = "rollup_brand_counts" if f.brand or by_brand else "rollup_counts"
        clauses, params = self._hours()
        for column, value in (
            ("brand", f.brand),
            ("sentiment", f.sentiment),
            ("source_kind", f.source.lower() if f.source else None),
            ("lang", f.lang.lower() if f.lang else None),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        return f"SELECT {select} FROM {table} WHERE {' AND '.join(clauses) or '1'}", params

    def terms(self, facet: Facet) -> tuple[str, list[Any]]:
        """The counts of ``facet`` (one of `TERMS`) per value over the rollup's hours."""
        table = "rollup_brand_terms" if self.filters.brand else "rollup_terms"
        clauses, params = self._hours()
        clauses.append("facet = ?")
        params.append(facet)
        if self.filters.brand:
            clauses.append("brand = ?")
            params.append(self.filters.brand)
        return (
            f"SELECT key AS k, SUM(n) AS n FROM {table} WHERE {' AND '.join(clauses)} GROUP BY k",
            params,
        )

    def _hours(self) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.first is not None:
            clauses.append("hour >= ?")
            params.append(self.first)
        if self.end is not None:
            clauses.append("hour < ?")
            params.append(self.end)
        return clauses, params
