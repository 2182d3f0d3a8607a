"""Near-duplicates: syndicated copies and retweets share a cluster; other posts do not; the
assignment survives redelivery and holds across worker processes, on both stores."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from enrich.duplicates import DuplicateDetector, lsh_keys, normalise
from index.elastic import ElasticStore
from index.elastic.client import connect
from index.settings import ElasticSettings
from index.sqlite import SqliteStore
from index.sqlite.schema import SCHEMA_VERSION
from ingest.record import Mention
from ingest.store import Signature, Store
from tests.support.backends import ELASTICSEARCH_ENV, elastic_store, server_url
from tests.support.mentions import make_mention

RELEASE = (
    "Le fabricant de vélos électriques Velora a inauguré jeudi une usine d'assemblage à Angers. "
    "Le site emploiera 120 personnes et produira 40 000 vélos par an. « Nous sommes fiers de "
    "fabriquer en France », a déclaré la directrice générale de Velora."
)
OTHER = (
    "Velora présentait au salon sa gamme 2027 : un cadre plus léger, un nouvel écran et une "
    "application mise à jour. Les prix seront annoncés en janvier, a précisé la marque."
)
TWEET = (
    "Le service client de Lumen est vraiment nul, trois jours sans internet et personne ne "
    "répond au téléphone #lumen"
)


def detector(tmp_path: Path) -> DuplicateDetector:
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    return DuplicateDetector(store)


def test_normalising_drops_retweet_prefix_urls_and_the_cut_word() -> None:
    words, retweet = normalise("RT @marc_44: Le service client de Lumen est vraim… https://t.co/x")
    assert retweet
    assert words == ["le", "service", "client", "de", "lumen", "est"]
    assert normalise("Lumen, enfin réparé https://t.co/x")[0] == ["lumen", "enfin", "repare"]


def test_keys_are_stable_and_copies_share_them() -> None:
    keys = lsh_keys(normalise(RELEASE)[0])
    assert keys == lsh_keys(normalise(RELEASE)[0])
    assert len(keys) == 13  # 12 bands and the head
    assert set(keys) & set(lsh_keys(normalise(RELEASE + " (Avec AFP)")[0]))
    assert not set(keys) & set(lsh_keys(normalise(OTHER)[0]))


def test_syndicated_copies_and_retweets_join_one_cluster(tmp_path: Path) -> None:
    mentions = [
        make_mention(RELEASE, site="actu-eco.example"),
        make_mention(RELEASE + " (Avec AFP)", site="journal-tech.example"),
        make_mention(RELEASE.replace("jeudi", "mercredi"), site="lesnouvelles.example"),
        make_mention(OTHER, site="blog.example"),
        make_mention(TWEET, site="x.com"),
        make_mention("RT @marc: " + TWEET[:80] + "…", site="x.com"),
        make_mention("RT @paul: " + TWEET, site="x.com"),
    ]
    clusters = detector(tmp_path).clusters(mentions)
    release, other, tweet = mentions[0].id, mentions[3].id, mentions[4].id
    assert [clusters[m.id] for m in mentions] == [
        release,
        release,
        release,
        other,
        tweet,
        tweet,
        tweet,
    ]


def test_short_posts_are_voices_not_copies_unless_retweeted(tmp_path: Path) -> None:
    first = make_mention("Panne Lumen ce soir !", site="x.com")
    second = make_mention("Panne Lumen ce soir !", site="x.com")
    retweet = make_mention("RT @jo: Panne Lumen ce soir !", site="x.com")
    clusters = detector(tmp_path).clusters([first, second, retweet])
    assert clusters[first.id] == first.id
    assert clusters[second.id] == second.id
    assert clusters[retweet.id] in (first.id, second.id)


def test_a_redelivered_mention_keeps_its_cluster(tmp_path: Path) -> None:
    dup = detector(tmp_path)
    original = make_mention(RELEASE, site="a.example")
    copy = make_mention(RELEASE + " (Avec AFP)", site="b.example")
    assert dup.clusters([original, copy]) == {original.id: original.id, copy.id: original.id}
    edited = copy.model_copy(update={"text": OTHER})  # even if its text changed meanwhile
    assert dup.clusters([copy, edited]) == {copy.id: original.id}


def _open(spec: tuple[str, str]) -> Store:
    """A store that another process can open: ("sqlite", path) or ("elastic", index prefix)."""
    kind, where = spec
    if kind == "sqlite":
        return SqliteStore(where)
    settings = ElasticSettings(index_prefix=where)
    url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    return ElasticStore(connect(url, settings), settings)


def _assign(
    spec: tuple[str, str], mentions: list[str], start: multiprocessing.synchronize.Barrier
) -> None:
    store = _open(spec)
    start.wait()
    DuplicateDetector(store).clusters([Mention.model_validate_json(m) for m in mentions])
    store.close()


@pytest.mark.parametrize("kind", ["sqlite", "elastic"])
def test_copies_enriched_at_once_by_several_processes_share_one_cluster(
    tmp_path: Path, kind: str
) -> None:
    if kind == "sqlite":
        spec = ("sqlite", str(tmp_path / "store.db"))
        store: Store = SqliteStore(spec[1])
        store.setup()
    else:
        store = elastic_store()
        spec = ("elastic", store.settings.index_prefix)  # type: ignore[attr-defined]
    copies = [
        make_mention(f"{RELEASE} Édition {'de la ' * (i % 2)}région {i}.", site=f"s{i}.example")
        for i in range(8)
    ]
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(4)
    workers = [
        context.Process(
            target=_assign, args=(spec, [m.model_dump_json() for m in copies[i::4]], start)
        )
        for i in range(4)
    ]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
            assert w.exitcode == 0
        clusters = DuplicateDetector(store).clusters(copies)  # already assigned: read back
        assert len(set(clusters.values())) == 1
    finally:
        store.close()


# -- stores of the previous version: their clusters are kept -------------------------------------

# Three clusters of copies (each with its article's keys and one of its own), and a post.
_BEFORE = [
    *(Signature(f"a{i}", (1, 2, 3, 100 + i)) for i in range(6)),
    *(Signature(f"b{i}", (7, 8, 200 + i)) for i in range(3)),
    Signature("c0", (9, 10)),
    Signature("c1", (9, 300)),
    Signature("post", (1, 7, 9), joins=False),
]
# Late copies, each decided by the counts of pairs: a0 6 to b0 3; b0 3 to c0 2 and a0 1 (x's
# 8); c0 3 to b0 1 (y's 10) and post 1; a tie, b0 3 and c0 3, to the smallest cluster id.
_LATE = [
    Signature("x", (3, 8)),
    Signature("y", (8, 10, 300)),
    Signature("z", (9, 10)),
    Signature("t", (7, 9)),
]
_LATE_CLUSTERS = {"x": "a0", "y": "b0", "z": "c0", "t": "b0"}


def _assigned_afresh(store: Store) -> dict[str, str]:
    """What a store that never held anything answers to `_BEFORE`, then `_LATE`."""
    store.setup()
    store.assign_clusters(_BEFORE)
    late = store.assign_clusters(_LATE)
    assert late == _LATE_CLUSTERS
    return late


def test_a_version_2_sqlite_store_is_upgraded_and_keeps_its_clusters(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.setup()
    before = store.assign_clusters(_BEFORE)
    store.close()
    # Back to version 2: every signature's keys, by signature (``dup_keys``), and no postings.
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute(
        "CREATE TABLE dup_keys (key INTEGER NOT NULL, signature INTEGER NOT NULL,"
        " PRIMARY KEY (key, signature)) WITHOUT ROWID"
    )
    rowids = dict(conn.execute("SELECT mention_id, rowid FROM dup_signatures"))
    conn.executemany(
        "INSERT INTO dup_keys VALUES (?, ?)",
        [(k, rowids[s.mention_id]) for s in _BEFORE for k in s.keys],
    )
    conn.execute("DROP TABLE dup_postings")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.execute("PRAGMA user_version = 1")  # the fingerprint of another schema
    conn.execute("COMMIT")
    conn.close()

    store = SqliteStore(path)
    store.setup()
    assert store.assign_clusters(_BEFORE) == before  # redelivered: kept
    assert store.assign_clusters(_LATE) == _assigned_afresh(SqliteStore(tmp_path / "new.db"))
    store.close()
    conn = sqlite3.connect(path)
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "dup_keys" not in tables
    assert "dup_postings" in tables
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert version == (str(SCHEMA_VERSION),)
    conn.close()


def test_an_elasticsearch_store_without_postings_counts_them_from_its_signatures() -> None:
    store = elastic_store()
    try:
        store.setup()
        before = store.assign_clusters(_BEFORE)
        # A store of the previous version kept the same signatures, and no postings.
        clusters = store.cluster_index
        clusters.posting_from = 2  # a posting for every key two signatures carry
        store.indices.delete_indices([clusters.postings_index])
        store.setup()
        assert store.assign_clusters(_BEFORE) == before
        fresh = elastic_store()
        try:
            assert store.assign_clusters(_LATE) == _assigned_afresh(fresh)
        finally:
            fresh.close()
        # The keys the late copies carry now have their postings, counted from the signatures.
        postings = store.client.mget(index=clusters.postings_index, ids=["3", "8"])
        assert [d["_source"]["clusters"] for d in postings["docs"]] == [
            {"a0": 7},
            {"b0": 4, "a0": 1},  # b0 to b2 and y; x
        ]
    finally:
        store.close()
