"""The SQLite store's tables, their version and their migration.

The mentions: one row per mention in ``mentions`` (the record as JSON, plus the columns that
filters and aggregations need: a review's rating out of 5 in ``rating``, since version 4), its
brands in ``mention_brands``, its entities in ``mention_entities``, and its words in the FTS5
table ``mentions_fts`` (same rowid; see `index_input`). Counts of them per hour, kept as they are
written, are in the ``rollup_*`` tables (`index.sqlite.rollups`).

What enrich keeps beside them: ``author_activity`` (one row per mention, by id) and the authors
it @-mentions (``author_mentioned``), aggregated into ``authors`` with each author's mentions by
site in ``author_sites`` (`index.sqlite.authors`);
``dup_signatures`` (each mention's cluster) and ``dup_postings`` (for each LSH key, the clusters
whose signatures carry it, and how many do) for near-duplicate clusters (`index.sqlite.clusters`).
The ids of mentions deleted on their platform are kept in ``deleted_mentions``.

`create` is the migration: it brings a new file, or a store of an earlier version, to
`SCHEMA_VERSION`, and is safe to run at every start (the store runs it only when the file's
fingerprint of `FINGERPRINT` differs, so that opening a store set up already writes nothing,
and then builds the rollups again from the mentions: `index.sqlite.rollups.rebuild`). `drop`
undoes it.
"""

from __future__ import annotations

import json
import sqlite3

from ingest.text import index_text

SCHEMA_VERSION = 5

FTS_TABLE = "mentions_fts"
VOCABULARY = "temp.mentions_vocab"
"""Each connection's view of the words in `FTS_TABLE`, by mention (see `vocabulary`)."""

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
        doc TEXT NOT NULL,
        rating REAL)""",
    "CREATE INDEX IF NOT EXISTS mentions_published_id ON mentions (published, id)",
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
]

# Version 3: rollups (`index.sqlite.rollups`), and indexes that let a scan walk the mentions in
# order (``mentions_published_id``, above, replaces ``mentions_published``) and filters on
# sentiment and period seek.
_SCHEMA_3 = [
    "DROP INDEX IF EXISTS mentions_published",
    "CREATE INDEX IF NOT EXISTS mentions_sentiment ON mentions (sentiment, published)",
    """CREATE TABLE IF NOT EXISTS rollup_counts (
        hour INTEGER NOT NULL,
        sentiment TEXT NOT NULL,
        lang TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (hour, sentiment, lang, source_kind)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rollup_brand_counts (
        brand TEXT NOT NULL COLLATE NOCASE,
        hour INTEGER NOT NULL,
        sentiment TEXT NOT NULL,
        lang TEXT NOT NULL,
        source_kind TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (brand, hour, sentiment, lang, source_kind)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rollup_terms (
        facet TEXT NOT NULL,
        hour INTEGER NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (facet, hour, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rollup_brand_terms (
        facet TEXT NOT NULL,
        brand TEXT NOT NULL COLLATE NOCASE,
        hour INTEGER NOT NULL,
        key TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (facet, brand, hour, key)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS rollup_sources (
        source_key TEXT PRIMARY KEY,
        n INTEGER NOT NULL) WITHOUT ROWID""",
]


# -- version 3, near-duplicate postings (`index.sqlite.clusters`) --------------------------------
# One row per LSH key and cluster, instead of one per key and signature (version 2's
# ``dup_keys``, which `_postings_from_keys` turns into these, then drops).
_SCHEMA_3_CLUSTERS = [
    """CREATE TABLE IF NOT EXISTS dup_postings (
        key INTEGER NOT NULL,
        cluster TEXT NOT NULL,
        signatures INTEGER NOT NULL,
        PRIMARY KEY (key, cluster)) WITHOUT ROWID""",
]
# -- end of version 3, near-duplicate postings ---------------------------------------------------

# -- version 4, authors kept by increments (`index.sqlite.authors`) ------------------------------
# How many of each author's mentions each site carries, so their sites list is rewritten from a
# few rows; and the latest name, handle and URL found by a seek, however many of an author's
# mentions lack one (a social handle has no name, most authors no profile URL).
_SCHEMA_4_AUTHORS = [
    """CREATE TABLE IF NOT EXISTS author_sites (
        author_key TEXT NOT NULL,
        site TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (author_key, site)) WITHOUT ROWID""",
    *(
        f"CREATE INDEX IF NOT EXISTS author_activity_{column} ON author_activity"
        f" (author_key, published) WHERE {column} IS NOT NULL"
        for column in ("name", "handle", "url")
    ),
]
# -- end of version 4, authors kept by increments ------------------------------------------------

# Version 4: the ids of mentions deleted on their platform (`SqliteStore.delete`), kept so that
# a copy that comes after its deletion (a redelivery, a late enrich) is refused.
_SCHEMA_4 = [
    """CREATE TABLE IF NOT EXISTS deleted_mentions (
        id TEXT PRIMARY KEY,
        at INTEGER NOT NULL) WITHOUT ROWID""",
]


# -- version 5, mentions without a date ------------------------------------------------------------
def undated(doc: str = "doc") -> str:
    """The condition of a mention whose source gave no date (its ``published`` column holds
    when it was first seen), on the ``doc`` column named so."""
    return f"json_type({doc}, '$.published') IS NULL"


_SCHEMA_5 = [
    "CREATE INDEX IF NOT EXISTS mentions_undated ON mentions (source_key, published)"
    f" WHERE {undated()}",
]
# -- end of version 5, mentions without a date -----------------------------------------------------

FINGERPRINT = ";\n".join(
    [
        *_SCHEMA,
        *_SCHEMA_2,
        *_SCHEMA_3,
        *_SCHEMA_3_CLUSTERS,
        *_SCHEMA_4_AUTHORS,
        *_SCHEMA_4,
        *_SCHEMA_5,
        f"-- version {SCHEMA_VERSION}",
    ]
)
"""The text `ingest.sqlite.SqliteFile.setup` fingerprints: a change to it sets a store up again."""

TABLES = (
    "meta",
    "mentions",
    "mention_brands",
    "mention_entities",
    FTS_TABLE,
    "author_activity",
    "author_mentioned",
    "authors",
    "author_sites",
    "dup_signatures",
    "dup_postings",
    "rollup_counts",
    "rollup_brand_counts",
    "rollup_terms",
    "rollup_brand_terms",
    "rollup_sources",
    "deleted_mentions",
)
"""Every table the ``_SCHEMA`` lists create (their indices go with them)."""


def create(conn: sqlite3.Connection) -> None:
    """Create or migrate every table (in the caller's write transaction)."""
    for statement in _SCHEMA:
        conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(mentions)")}
    if "author_key" not in columns:  # a version 1 store
        conn.execute("ALTER TABLE mentions ADD COLUMN author_key TEXT")
    if "rating" not in columns:  # before version 4, whose mentions had no rating
        conn.execute("ALTER TABLE mentions ADD COLUMN rating REAL")
    for statement in _SCHEMA_2:
        conn.execute(statement)
    for statement in _SCHEMA_3:
        conn.execute(statement)
    for statement in _SCHEMA_3_CLUSTERS:
        conn.execute(statement)
    _postings_from_keys(conn)
    counted = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'author_sites'").fetchone()
    for statement in _SCHEMA_4_AUTHORS:
        conn.execute(statement)
    if not counted:  # a store from before the table: count the activity it has once
        conn.execute(
            "INSERT INTO author_sites SELECT author_key, site, COUNT(*) FROM author_activity"
            " GROUP BY author_key, site"
        )
    for statement in [*_SCHEMA_4, *_SCHEMA_5]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value",
        (str(SCHEMA_VERSION),),
    )


def _postings_from_keys(conn: sqlite3.Connection) -> None:
    """Version 2 kept every signature's keys (``dup_keys``, by signature); version 3 keeps
    postings by key and cluster: counted once from them, then the keys go."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'dup_keys'").fetchone():
        conn.execute(
            "INSERT INTO dup_postings SELECT k.key, s.cluster, COUNT(*) FROM dup_keys k"
            " JOIN dup_signatures s ON s.rowid = k.signature GROUP BY k.key, s.cluster"
        )
        conn.execute("DROP TABLE dup_keys")


def drop(conn: sqlite3.Connection) -> None:
    """Delete every table `create` made (in the caller's write transaction)."""
    for kind in ("", "_row"):
        conn.execute(f"DROP TABLE IF EXISTS {VOCABULARY}{kind}")
    for table in TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")


def deleted_among(conn: sqlite3.Connection, ids: list[str]) -> set[str]:
    """Those of ``ids`` deleted on their platform (``deleted_mentions``)."""
    return {
        mention_id
        for (mention_id,) in conn.execute(
            "SELECT id FROM deleted_mentions WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        )
    }


def vocabulary(conn: sqlite3.Connection, kind: str = "instance") -> str:
    """The name of ``conn``'s ``fts5vocab`` table over `FTS_TABLE`, created on first use,
    straight from the FTS5 index: with ``instance``, every occurrence of every word, by mention;
    with ``row``, each word and how many mentions hold it. (Temporary, so it is never written to
    the file.)"""
    name = VOCABULARY if kind == "instance" else f"{VOCABULARY}_{kind}"
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {name} USING fts5vocab(main, {FTS_TABLE}, {kind})"
    )
    return name


def index_input(text: str | None) -> str:
    """What `FTS_TABLE` is given for ``text``: its words (`ingest.text.index_text`), except
    that a text all in ASCII goes as it is, since FTS5's ``unicode61`` tokenizer cuts and
    lowercases ASCII exactly as `ingest.text.tokenize` does (letters and digits; every other
    character separates), and in C. So the stored content is not always folded: read the
    words back with `indexed_words`."""
    if not text:
        return ""
    return text if text.isascii() and "\x00" not in text else index_text(text)


def indexed_words(content: str) -> list[str]:
    """The words of what `index_input` gave `FTS_TABLE`: folded words joined by spaces, or an
    ASCII text as it was."""
    return index_text(content).split() if content.isascii() else content.split()
