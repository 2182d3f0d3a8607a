"""What the Elasticsearch store owes beyond the store contract: its schema, its set-up and
migration, and how it handles a cluster that refuses, throttles or cannot be reached."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from index.base import BaseStore
from index.elastic import ElasticStore
from index.elastic.client import MAX_WINDOW, NotFoundError, connect
from index.elastic.mapping import SCHEMA_VERSION, Capabilities, mapping
from index.settings import ElasticSettings, StoreSettings
from index.stage import IndexStage
from ingest.errors import ConfigError, StoreUnavailable, VeilleError
from ingest.record import Engagement, Influence, Mention
from ingest.store import AuthorActivity, AuthorScore, Facet, Filters, Signature
from tests.support.backends import (
    ELASTICSEARCH_ENV,
    DisposableElasticStore,
    elastic_store,
    server_url,
    unique,
)
from tests.support.faults import ElasticFaults
from tests.support.mentions import T0, make_mention


def _schema_paths(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    """The dotted paths of every leaf field of a pydantic JSON schema."""
    if "$ref" in node:
        return _schema_paths(schema, schema["$defs"][node["$ref"].split("/")[-1]], prefix)
    for key in ("anyOf", "allOf"):
        if key in node:
            return set().union(*(_schema_paths(schema, n, prefix) for n in node[key]))
    if node.get("type") == "array":
        items = node.get("items", {})
        return _schema_paths(schema, items, prefix) if items else {prefix}
    if "properties" in node:
        return set().union(
            *(
                _schema_paths(schema, child, f"{prefix}{name}.")
                for name, child in node["properties"].items()
            )
        )
    return {prefix.rstrip(".")} if node.get("type") != "null" else set()


def _mapping_paths(properties: dict[str, Any], prefix: str = "") -> set[str]:
    paths: set[str] = set()
    for name, field in properties.items():
        if "properties" in field:
            paths |= _mapping_paths(field["properties"], f"{prefix}{name}.")
        else:
            paths.add(f"{prefix}{name}")
    return paths


def test_the_mapping_types_every_field_of_the_record() -> None:
    """A field added to `Mention` without a mapping would make the strict index refuse every
    mention: this fails first, and says which field to map (and to bump SCHEMA_VERSION)."""
    schema = Mention.model_json_schema()
    record = _schema_paths(schema, schema)
    mapped = _mapping_paths(mapping(Capabilities())["properties"])
    assert record - mapped == set(), "map these fields in index.elastic.mapping"
    assert {p for p in mapped - record if not p.startswith("search.")} == set()
    assert mapping(Capabilities())["dynamic"] == "strict"


def test_language_analyzers_are_used_where_the_cluster_has_them() -> None:
    rich = mapping(Capabilities(language_analyzers=True))["properties"]["text"]
    assert rich["fields"]["fr"]["analyzer"] == "french"
    assert rich["fields"]["en"]["analyzer"] == "english"
    assert "fields" not in mapping(Capabilities())["properties"]["text"]


@pytest.fixture
def store() -> Iterator[DisposableElasticStore]:
    instance = elastic_store()
    yield instance
    instance.close()


def test_setup_is_idempotent_and_every_access_goes_through_the_alias(
    store: DisposableElasticStore,
) -> None:
    m = make_mention("Acme au top", brands=("Acme",), sentiment="positive")
    store.upsert([m])
    store.setup()
    store.setup()
    client = store.client
    aliases = client.indices.get_alias(name=store.alias).body
    assert list(aliases) == [f"{store.alias}-v{SCHEMA_VERSION}"]
    assert aliases[store.index]["aliases"][store.alias]["is_write_index"] is True
    live = client.indices.get_mapping(index=store.alias).body[store.index]["mappings"]
    assert live["dynamic"] == "strict"
    assert live["_meta"]["schema_version"] == SCHEMA_VERSION
    assert store.count(Filters()) == 1


def test_a_new_schema_version_migrates_every_mention(store: DisposableElasticStore) -> None:
    mentions = [make_mention(f"Acme numéro {i}", brands=("Acme",)) for i in range(30)]
    store.upsert(mentions)
    newer = DisposableElasticStore(
        store.client,
        store.settings,
        display=store.indices.display,
        schema_version=SCHEMA_VERSION + 1,
    )
    newer.setup()
    assert set(store.client.indices.get_alias(name=store.alias).body) == {newer.index}
    assert newer.count(Filters()) == 30
    assert newer.get(mentions[7].id) == mentions[7]
    newer.setup()  # idempotent once migrated
    assert newer.count(Filters()) == 30
    # The old index is kept for the operator to delete; `drop` removes both.
    assert store.client.indices.exists(index=store.index)


def test_an_index_where_the_alias_should_be_is_a_clear_error() -> None:
    client = connect(server_url(ELASTICSEARCH_ENV, "Elasticsearch"), ElasticSettings())
    prefix = unique("test-")
    client.indices.create(index=f"{prefix}-mentions")
    try:
        with pytest.raises(ConfigError, match="expects an alias"):
            ElasticStore(client, ElasticSettings(index_prefix=prefix)).setup()
    finally:
        client.indices.delete(index=f"{prefix}-mentions")
        client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}-mentions")
        client.close()


def test_a_refused_document_is_dead_lettered_and_the_batch_is_written(
    store: DisposableElasticStore,
) -> None:
    good = [make_mention(f"Acme {i}", brands=("Acme",)) for i in range(5)]
    # A social API that reports more views than a long can hold: Elasticsearch refuses it.
    bad = make_mention("Acme viral", brands=("Acme",), engagement=Engagement(views=2**70))
    output = IndexStage(store).process([*good[:2], bad, *good[2:]])
    assert [m.id for m, _ in output.dead] == [bad.id]
    assert "views" in output.dead[0][1]
    assert store.count(Filters()) == 5


def test_throttled_writes_are_retried_until_written() -> None:
    upstream = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    with ElasticFaults(upstream) as faults:
        store = DisposableElasticStore.from_url(
            faults.url,
            StoreSettings(elastic=ElasticSettings(index_prefix=unique("test-"))),
            initial_backoff=0.05,
        )
        try:
            mentions = [make_mention(f"Acme {i}", brands=("Acme",)) for i in range(40)]
            faults.throttle(25)  # the first 25 documents written get a 429
            assert store.upsert(mentions) == []
            assert faults.bulk_requests >= 2
            assert store.count(Filters()) == 40

            faults.throttle(10_000)  # a cluster that stays saturated
            stubborn = DisposableElasticStore(
                store.client, store.settings, bulk_retries=1, initial_backoff=0.01
            )
            with pytest.raises(StoreUnavailable, match="429"):
                stubborn.upsert([make_mention("Acme encore", brands=("Acme",))])
        finally:
            faults.throttle(0)
            store.close()


def test_an_unreachable_cluster_raises_store_unavailable_without_secrets() -> None:
    settings = ElasticSettings(password="hunter2-secret", username="veille")  # type: ignore[arg-type]
    with pytest.raises(StoreUnavailable) as caught:
        ElasticStore.from_url(
            "http://elastic:s3cret-in-url@127.0.0.1:1", StoreSettings(elastic=settings)
        )
    message = str(caught.value)
    assert "127.0.0.1:1" in message
    assert "s3cret-in-url" not in message
    assert "hunter2-secret" not in message


def test_credentials_and_certificates_reach_the_client(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"  # the client opens it when it first connects
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    with_key = connect(
        "https://es.example:9200",
        ElasticSettings(api_key="a2V5OnNlY3JldA==", ca_certs=str(bundle)),  # type: ignore[arg-type]
    )
    node = with_key.transport.node_pool.get().config
    assert with_key._headers["authorization"].startswith("ApiKey ")
    assert node.ca_certs == str(bundle)
    assert node.verify_certs is True
    basic = connect("http://es.example:9200", ElasticSettings(username="u", password="p"))  # type: ignore[arg-type]
    assert basic._headers["authorization"].startswith("Basic ")
    with pytest.raises(ConfigError, match="password"):
        connect("http://es.example:9200", ElasticSettings(username="u"))


# -- what enrich keeps beside the mentions ---------------------------------------------------


def test_setup_creates_strict_side_indices_and_drop_removes_them(
    store: DisposableElasticStore,
) -> None:
    store.setup()  # again: nothing changes
    for index in store.side_indices:
        assert index.startswith(f"{store.settings.index_prefix}-")
        live = store.client.indices.get_mapping(index=index).body[index]["mappings"]
        assert live["dynamic"] == "strict"
    store.drop()
    assert not any(store.client.indices.exists(index=i) for i in store.side_indices)


def test_the_score_percentile_is_exact_however_many_authors(
    store: DisposableElasticStore,
) -> None:
    keys = [f"forum.fr/author-{i}" for i in range(60)]
    store.record_authors(
        [AuthorActivity(f"{i:016x}", key, "forum.fr", T0) for i, key in enumerate(keys)]
    )
    scores = [float(i % 7) / 2 for i in range(50)] + [10.0 + i for i in range(10)]
    store.save_author_scores([AuthorScore(k, 0.0, s) for k, s in zip(keys, scores, strict=True)])
    ranked = sorted(scores)
    percentiles = [p / 2 for p in range(201)]
    expected = [ranked[max(1, math.ceil(p / 100 * len(ranked))) - 1] for p in percentiles]
    for window in (10_000, 4, 1):  # past the window, it estimates then counts
        store.author_index.max_window = window
        assert [store.author_score_at(p) for p in percentiles] == expected


def test_scan_reads_past_the_depth_where_search_pages_stop(
    store: DisposableElasticStore,
) -> None:
    mentions = [
        make_mention(f"Acme {i}", brands=("Acme",), published=T0 + timedelta(seconds=i))
        for i in range(MAX_WINDOW + 50)
    ]
    assert store.upsert(mentions) == []
    with pytest.raises(VeilleError, match="--all"):
        store.search(Filters(brand="Acme"), page=11, size=1000)
    ids = [m.id for batch in store.scan(Filters(brand="Acme"), batch=2_000) for m in batch]
    assert ids == [m.id for m in mentions]


def test_an_author_key_too_long_for_an_id_is_kept(store: DisposableElasticStore) -> None:
    key = "forum.fr/" + "très-long-pseudo-" * 40
    m = make_mention("Acme", brands=("Acme",))
    assert m.enrichment is not None
    m = m.with_enrichment(
        m.enrichment.model_copy(update={"influence": Influence(author_key=key, score=0)})
    )
    store.upsert([m])
    [stats] = store.record_authors([AuthorActivity(m.id, key, "forum.fr", T0, name="Long")])
    assert (stats.key, stats.mentions, stats.name) == (key, 1, "Long")
    store.save_author_scores([AuthorScore(key, 0.5, 4.0)])
    [ranked] = store.top_authors(Filters(brand="Acme"))
    assert (ranked.author.key, ranked.author.score, ranked.mentions) == (key, 4.0, 1)


def test_an_expired_lock_is_taken_over_and_a_held_one_is_waited_for(
    store: DisposableElasticStore,
) -> None:
    locks = store.cluster_index.locks_index
    now_ms = int(time.time() * 1000)
    store.client.index(index=locks, id="clusters", document={"owner": "dead", "expires": 1})
    assert store.assign_clusters([Signature("m1", (1, 2))]) == {"m1": "m1"}  # taken over
    assert not store.client.exists(index=locks, id="clusters")  # and released
    held = {"owner": "busy", "expires": now_ms + 60_000}
    store.client.index(index=locks, id="clusters", document=held)
    store.cluster_index.lock_wait = 0.3
    with pytest.raises(StoreUnavailable, match="lock is held"):
        store.assign_clusters([Signature("m2", (2, 3))])
    store.client.delete(index=locks, id="clusters")
    assert store.assign_clusters([Signature("m2", (2, 3))]) == {"m2": "m1"}


def test_a_worker_that_lost_its_lock_writes_nothing(
    store: DisposableElasticStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.assign_clusters([Signature("m1", (1, 2))])
    locks = store.cluster_index.locks_index
    shared = store.cluster_index._shared

    def then_taken_over(*read: Any) -> Any:
        found = shared(*read)
        # Meanwhile this worker stalled past its lease, and another one took the lock over.
        lease = {"owner": "other", "expires": int(time.time() * 1000) + 60_000}
        store.client.index(index=locks, id="clusters", document=lease)
        return found

    monkeypatch.setattr(store.cluster_index, "_shared", then_taken_over)
    with pytest.raises(StoreUnavailable, match="took the near-duplicate lock over"):
        store.assign_clusters([Signature("m2", (1, 5))])
    monkeypatch.undo()
    assert store.client.get(index=locks, id="clusters")["_source"]["owner"] == "other"
    store.client.delete(index=locks, id="clusters")
    # Nothing was stored: assigned again, as if for the first time.
    assert store.assign_clusters([Signature("m2", (1, 5)), Signature("m3", (5,))]) == {
        "m2": "m1",
        "m3": "m1",
    }


# -- what reads cost in requests ----------------------------------------------------------------


@pytest.fixture
def proxied() -> Iterator[tuple[DisposableElasticStore, ElasticFaults]]:
    """A fresh store whose requests go through an `ElasticFaults` proxy that logs them."""
    upstream = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    with ElasticFaults(upstream) as faults:
        settings = StoreSettings(elastic=ElasticSettings(index_prefix=unique("test-")))
        store = DisposableElasticStore.from_url(faults.url, settings)
        try:
            yield store, faults
        finally:
            faults.points_in_time = True
            store.close()


def _sent(faults: ElasticFaults, method: str, suffix: str) -> int:
    return sum(1 for m, path in faults.requests if m == method and path.endswith(suffix))


@pytest.mark.parametrize("distinct", [None, "cluster"])
def test_figures_are_one_search_with_the_numbers_of_the_generic_path(
    proxied: tuple[DisposableElasticStore, ElasticFaults], distinct: Any
) -> None:
    store, faults = proxied
    store.upsert(
        [
            make_mention(
                f"Acme {i}",
                site=f"s{i % 3}.fr",
                author=f"a{i % 4}",
                brands=(("Acme",), ("Globex",))[i % 2],
                sentiment=("negative", "neutral", "positive")[i % 3],
                published=T0 + timedelta(hours=7 * i),
            )
            for i in range(25)
        ]
    )
    store.count(Filters())  # the refresh after the writes, sent before the first read
    facets: tuple[Facet, ...] = ("site", "author", "brand", "sentiment")
    for filters in (Filters(), Filters(brand="Acme", since=T0 + timedelta(days=2))):
        faults.requests.clear()
        figures = store.figures(
            filters, interval=timedelta(days=1), facets=facets, limit=3, distinct=distinct
        )
        assert [path for _, path in faults.requests] == [f"/{store.alias}/_search"]
        assert figures.total > 0
        assert figures.timeline
        assert all(figures.tops.values())
        generic = BaseStore.figures(
            store, filters, interval=timedelta(days=1), facets=facets, limit=3, distinct=distinct
        )
        assert figures == generic


def test_a_scan_reads_pages_in_one_point_in_time_and_closes_it(
    proxied: tuple[DisposableElasticStore, ElasticFaults], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, faults = proxied
    monkeypatch.setattr("index.elastic.store.SCAN_PAGE", 7)  # 30 mentions: 5 pages
    closed: list[str] = []
    close_view = store.indices.close_view

    def closing_view(pit: str) -> None:
        closed.append(pit)
        close_view(pit)

    monkeypatch.setattr(store.indices, "close_view", closing_view)
    mentions = [
        make_mention(f"Acme {i}", brands=("Acme",), published=T0 + timedelta(minutes=i))
        for i in range(30)
    ]
    assert store.upsert(mentions) == []
    store.count(Filters())
    faults.requests.clear()
    read: list[str] = []
    for n, batch in enumerate(store.scan(Filters(brand="Acme"), batch=4)):
        assert len(batch) == 4 or n == 7
        read += [m.id for m in batch]
        if n == 0:  # a mention written and made visible while the scan reads: not in its view
            late = make_mention("Acme late", brands=("Acme",), published=T0 + timedelta(days=1))
            store.upsert([late])
            store.refresh()
    assert read == [m.id for m in mentions]
    assert _sent(faults, "POST", "/_pit") == 1
    assert _sent(faults, "POST", "/_search") == 5
    assert _sent(faults, "DELETE", "/_pit") == 1

    # A reader that stops early closes the point in time too.
    faults.requests.clear()
    scan = store.scan(Filters(brand="Acme"), batch=4)
    assert len(next(scan)) == 4
    scan.close()
    assert _sent(faults, "POST", "/_pit") == 1
    assert _sent(faults, "DELETE", "/_pit") == 1
    assert len(closed) == 2
    for pit in closed:  # closed indeed, not left to expire
        with pytest.raises(NotFoundError):
            store.client.search(pit={"id": pit}, size=1)


def test_a_cluster_without_points_in_time_is_scanned_with_search_after(
    proxied: tuple[DisposableElasticStore, ElasticFaults], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, faults = proxied
    monkeypatch.setattr("index.elastic.store.SCAN_PAGE", 7)
    mentions = [
        make_mention(f"Acme {i}", brands=("Acme",), published=T0 + timedelta(minutes=i // 2))
        for i in range(30)
    ]
    assert store.upsert(mentions) == []
    faults.points_in_time = False
    expected = [m.id for m in sorted(mentions, key=lambda m: (m.published, m.id))]
    for _ in range(2):
        faults.requests.clear()
        read = [m.id for batch in store.scan(Filters(brand="Acme"), batch=4) for m in batch]
        assert read == expected
        assert _sent(faults, "DELETE", "/_pit") == 0
    assert _sent(faults, "POST", "/_pit") == 0  # found once, at the first scan, and remembered
    assert not store.indices.points_in_time


def test_a_batch_whose_worker_failed_halfway_through_its_writes_is_completed_once(
    store: DisposableElasticStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clusters = store.cluster_index
    clusters.posting_from = 2  # a posting for every key two signatures carry
    store.assign_clusters([Signature("m1", (1, 2))])
    bulk = store.indices.bulk

    def one_posting_then_fail(what: str, index: str, actions: Any) -> list[int]:
        [first, *_] = actions  # the postings come first, then the signatures
        assert first["_index"] == clusters.postings_index
        bulk(what, index, [first])
        raise StoreUnavailable("the cluster went away")

    monkeypatch.setattr(store.indices, "bulk", one_posting_then_fail)
    with pytest.raises(StoreUnavailable, match="went away"):
        store.assign_clusters([Signature("m2", (1, 5)), Signature("m3", (5, 6))])
    monkeypatch.undo()
    # The lock holds what the batch decided, expired at once, for the next worker to complete.
    lock = store.client.get(index=clusters.locks_index, id="clusters")["_source"]
    assert [s[:2] for s in lock["pending"]["signatures"]] == [["m2", "m1"], ["m3", "m1"]]
    assert store.assign_clusters([Signature("m4", (6, 7))]) == {"m4": "m1"}  # with m3
    assert not store.client.exists(index=clusters.locks_index, id="clusters")
    redelivered = [Signature("m2", (9,)), Signature("m3", (9,))]
    assert store.assign_clusters(redelivered) == {"m2": "m1", "m3": "m1"}
    # Each signature counted once, the one posting written before the failure included; keys
    # that one signature carries (2, 7) have none.
    postings = store.client.mget(index=clusters.postings_index, ids=["1", "2", "5", "6", "7"])
    assert [d["_source"]["clusters"] if d["found"] else None for d in postings["docs"]] == [
        {"m1": 2},
        None,
        {"m1": 2},
        {"m1": 2},
        None,
    ]


def test_a_long_count_of_signatures_renews_the_lease(
    store: DisposableElasticStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    clusters = store.cluster_index
    store.assign_clusters([Signature("m1", (1, 2)), Signature("m2", (1, 3))])
    clusters.lock_lease = 0.0  # so that each page of signatures read renews it
    renewals: list[Any] = []
    renew = clusters._renew

    def counted(lease: Any, pending: Any) -> None:
        renewals.append(pending)
        renew(lease, pending)

    monkeypatch.setattr(clusters, "_renew", counted)
    assert store.assign_clusters([Signature("m3", (1, 9))]) == {"m3": "m1"}
    assert renewals[0] is None  # while it reads, before the journal
    assert renewals[-1]["signatures"] == [["m3", "m1", [1, 9]]]
