"""The backends every contract suite runs against. Add an implementation here and the bus
contract, the store contract, the query-consistency test and the end-to-end test all cover it.

Kafka and Elasticsearch are real servers that ``scripts/services start`` runs on loopback;
``scripts/test`` starts them and exports their addresses (``TEST_KAFKA_URL``,
``TEST_ELASTICSEARCH_URL``). Without them a test that needs one is skipped with a message, except
under ``CI=true``, where it fails: CI must never pass without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.elastic import ElasticStore
from index.settings import ElasticSettings, StoreSettings
from index.sqlite import SqliteStore
from ingest.store import Store

BusSpec = tuple[str, dict[str, Any]]
"""A bus URL and the tuning to open it with (`veille.backends.open_bus`; the settings are the
defaults: 4 partitions): enough for another process to connect."""

KAFKA_ENV = "TEST_KAFKA_URL"
ELASTICSEARCH_ENV = "TEST_ELASTICSEARCH_URL"


def server_url(variable: str, what: str) -> str:
    """The address of a test server, or a skip (a failure under CI) that says how to start it."""
    url = os.environ.get(variable)
    if url:
        return url
    message = (
        f"{what} is not running for the tests ({variable} is not set): run scripts/test, or "
        f'scripts/services start && eval "$(scripts/services env)"'
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run against real servers: {message}")
    pytest.skip(message)


def unique(prefix: str) -> str:
    """A fresh name, so tests never see each other's topics or indices on a shared server."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _local_bus(tmp_path: Path) -> BusSpec:
    return f"local://{tmp_path / 'bus.db'}", {"session_timeout": 2.0}


def kafka_options() -> dict[str, Any]:
    # Quick heartbeats so a member learns of a rebalance within a poll or two.
    return {"session_timeout": 6.0, "heartbeat_interval": 0.2}


def _kafka_bus(tmp_path: Path) -> BusSpec:
    return server_url(KAFKA_ENV, "Kafka"), kafka_options()


def _sqlite_store(tmp_path: Path) -> Store:
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    return store


class DisposableElasticStore(ElasticStore):
    """An ElasticStore whose indices are deleted when it is closed."""

    def close(self) -> None:
        self.drop()
        super().close()


def elastic_store(prefix: str | None = None, **options: Any) -> DisposableElasticStore:
    """A fresh store under its own index prefix, deleted when closed."""
    url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    settings = ElasticSettings(index_prefix=prefix or unique("test-"))
    return DisposableElasticStore.from_url(url, StoreSettings(elastic=settings), **options)


def _elastic_store(tmp_path: Path) -> Store:
    return elastic_store()


BUSES: dict[str, Callable[[Path], BusSpec]] = {"local": _local_bus, "kafka": _kafka_bus}
STORES: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite_store, "elastic": _elastic_store}


def backend_config(name: str) -> dict[str, Any]:
    """The configuration keys that choose a backend set, ``embedded`` (the defaults: a local
    bus, SQLite) or ``scale-out`` (Kafka, Elasticsearch); fresh topics and index each time."""
    if name == "embedded":
        return {}
    return {
        "bus": {"url": server_url(KAFKA_ENV, "Kafka"), "topic_prefix": unique("t")},
        "store": {
            "url": server_url(ELASTICSEARCH_ENV, "Elasticsearch"),
            "elastic": {"index_prefix": unique("test-")},
        },
    }
