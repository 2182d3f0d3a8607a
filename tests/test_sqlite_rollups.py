"""What only the SQLite store has to prove about what it keeps to be fast: its rollups
(`index.sqlite.rollups`), whose figures are, to the order of equal counts, those counted from
the mentions; a file of an earlier version gets them when it is upgraded, and a file whose
rollups may be stale is counted from its mentions until a worker sets it up again
(`tests/test_store_contract.py` holds every store's figures to a count of what it stores,
through rewrites and drops). And the ASCII text it gives FTS5 as it is (`schema.index_input`),
which FTS5 must cut into the words `ingest.text` would."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from index.sqlite import SqliteStore, schema
from ingest.access import read_only
from ingest.record import SourceKind
from ingest.store import Facet, Figures, Filters
from ingest.text import index_text
from tests.support.mentions import T0, make_mention

FACETS: tuple[Facet, ...] = ("brand", "sentiment", "site", "author", "source", "lang")
START = T0 + timedelta(minutes=23)
SELECTIONS = [
    Filters(),
    Filters(brand="Acme"),
    Filters(brand="globex", since=START + timedelta(hours=4, minutes=10)),
    Filters(since=START + timedelta(hours=2, minutes=50), until=START + timedelta(hours=30)),
    Filters(sentiment="positive", until=START + timedelta(hours=20, minutes=1)),
    Filters(lang="en", source="news", brand="Acme"),
    Filters(source="wire"),
]


def _load(store: SqliteStore) -> None:
    store.upsert(
        [
            make_mention(
                f"m{i}",
                site=f"s{i % 3}.fr",
                author=(f"a{i % 4}", None)[i % 9 == 0],
                source=("wire", "blog-y")[i % 2],
                kind=(SourceKind.NEWS, SourceKind.BLOG)[i % 2],
                brands=(("Acme",), ("Globex",), ("Acme", "Globex"), ())[i % 4],
                sentiment=("negative", "neutral", "positive", None)[i % 4],
                lang=("fr", "en", "fr")[i % 3],
                published=START + timedelta(minutes=41 * i),
            )
            for i in range(80)
        ]
    )


def _figures(store: SqliteStore, filters: Filters, interval: timedelta) -> Figures:
    return store.figures(filters, interval=interval, facets=FACETS, limit=3)


def _assert_rollups_read_as_the_mentions_count(store: SqliteStore) -> None:
    scanned = SqliteStore(store.path)
    scanned.use_rollups = False
    try:
        for filters in SELECTIONS:
            for interval in (timedelta(hours=1), timedelta(hours=6), timedelta(days=1)):
                assert _figures(store, filters, interval) == _figures(scanned, filters, interval)
    finally:
        scanned.close()


def test_figures_from_rollups_are_those_counted_from_the_mentions(tmp_path: Path) -> None:
    store = SqliteStore.from_url(f"sqlite://{tmp_path / 'store.db'}")
    _load(store)
    _assert_rollups_read_as_the_mentions_count(store)
    # They are read: counts set aside in the rollups show through.
    store.db.read("UPDATE rollup_counts SET n = n + 1000")
    assert store.count(Filters()) > 1000
    store.close()


def _age(path: Path, *, stamp: int) -> None:
    """Make ``path`` what a store of an earlier version left: no rollups, the old index."""
    conn = sqlite3.connect(path)
    for table in ("rollup_counts", "rollup_brand_counts", "rollup_terms", "rollup_brand_terms"):
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DROP TABLE rollup_sources")
    conn.execute("DROP INDEX mentions_published_id")
    conn.execute("DROP INDEX mentions_sentiment")
    conn.execute("CREATE INDEX mentions_published ON mentions (published)")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.execute(f"PRAGMA user_version = {stamp}")
    conn.commit()
    conn.close()


def test_a_file_of_version_2_is_upgraded_and_its_rollups_counted(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SqliteStore.from_url(f"sqlite://{path}") as store:
        _load(store)
    _age(path, stamp=12345)
    with read_only(), SqliteStore(path) as old:
        old.setup()  # a read-only command reads an old file as it is, from its mentions
        assert old.count(Filters(brand="Acme")) == 40
        assert old.top(Filters(), "brand")[0].count == 40
    with SqliteStore.from_url(f"sqlite://{path}") as store:
        assert store.db.read("SELECT value FROM meta WHERE key = 'schema_version'") == [
            (str(schema.SCHEMA_VERSION),)
        ]
        indexes = {r[0] for r in store.db.read("SELECT name FROM sqlite_master")}
        assert {"mentions_published_id", "mentions_sentiment"} <= indexes
        assert "mentions_published" not in indexes
        assert store.db.read("SELECT SUM(n) FROM rollup_counts") == [(80,)]
        _assert_rollups_read_as_the_mentions_count(store)


def test_rollups_another_version_may_have_left_stale_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    with SqliteStore.from_url(f"sqlite://{path}") as store:
        _load(store)
        # Another version of Veille wrote to the file since, without keeping the rollups.
        store.db.read("UPDATE rollup_counts SET n = n + 1000")
        store.db.read("UPDATE rollup_brand_counts SET n = n + 1000")
        store.db.read("PRAGMA user_version = 777")
    with read_only(), SqliteStore(path) as old:
        old.setup()
        assert old.count(Filters()) == 80
        assert old.count(Filters(brand="Acme")) == 40
    with SqliteStore.from_url(f"sqlite://{path}") as store:  # a worker sets it up: recounted
        assert store.db.read("SELECT SUM(n) FROM rollup_counts") == [(80,)]
        _assert_rollups_read_as_the_mentions_count(store)


def test_fts5_cuts_an_ascii_text_into_the_words_ingest_text_gives() -> None:
    every = "".join(chr(c) for c in range(1, 128))
    texts = [every, every[::-1], "l'Acme-Box #panne @support_fr 4G/5G x_y a.b,c;d:e!f?g", "A_b"]
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'unicode61 remove_diacritics 0')"
    )
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    for i, text in enumerate(texts):
        assert schema.index_input(text) == text  # given as it is
        conn.execute("INSERT INTO t (rowid, body) VALUES (?, ?)", (i, text))
        words = [
            w for (w,) in conn.execute("SELECT term FROM v WHERE doc = ? ORDER BY offset", (i,))
        ]
        assert words == index_text(text).split() == schema.indexed_words(text)
    assert schema.index_input("Société générale") == "societe generale"
