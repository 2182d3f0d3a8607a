"""Which backend a URL names: the one table of URL schemes for the bus and the store.

    local://PATH             the bus: the embedded log in SQLite       ingest.locallog
    kafka://HOST:PORT[,...]  the bus: Apache Kafka                     ingest.kafka
    sqlite://PATH            the store: SQLite with FTS5               index.sqlite
    http(s)://HOST:PORT      the store: Elasticsearch                  index.elastic

Settings validation, path resolution and the `App` all ask this table; nothing else in Veille
tests a scheme. An implementation is imported only when its scheme is used, so the embedded
default never loads a Kafka or Elasticsearch client. Each one is made by its class's
``from_url(url, settings)``, with its own part of the settings.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ingest.errors import ConfigError

if TYPE_CHECKING:
    from index.settings import StoreSettings
    from ingest.bus import Bus
    from ingest.settings import BusSettings
    from ingest.store import Store

Role = Literal["bus", "store"]


@dataclass(frozen=True)
class Backend:
    role: Role
    scheme: str
    target: str
    """``module:Class``, imported when the backend is opened."""
    form: str
    """How a URL of this scheme is written, for error messages."""
    path: bool = False
    """The URL holds a file path (relative paths are relative to the settings file)."""

    def load(self) -> Any:
        module, name = self.target.split(":")
        return getattr(importlib.import_module(module), name)


BACKENDS = (
    Backend("bus", "local", "ingest.locallog:LocalLogBus", "local://PATH", path=True),
    Backend("bus", "kafka", "ingest.kafka:KafkaBus", "kafka://HOST:PORT"),
    Backend("store", "sqlite", "index.sqlite:SqliteStore", "sqlite://PATH", path=True),
    Backend("store", "http", "index.elastic:ElasticStore", "http(s)://HOST:PORT"),
    Backend("store", "https", "index.elastic:ElasticStore", "http(s)://HOST:PORT"),
)


def expected(role: Role) -> str:
    """The URL forms ``role`` accepts, as an error message says them."""
    return " or ".join(dict.fromkeys(b.form for b in BACKENDS if b.role == role))


def find(role: Role, url: str) -> Backend | None:
    """The backend of ``role`` that ``url`` names, or None."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else None
    return next((b for b in BACKENDS if b.role == role and b.scheme == scheme), None)


def backend(role: Role, url: str) -> Backend:
    """The backend of ``role`` that ``url`` names; `ConfigError` if there is none."""
    found = find(role, url)
    if found is None:
        raise ConfigError(f"unknown {role} URL '{url}': expected {expected(role)}")
    return found


def open_bus(url: str, settings: BusSettings | None = None, **tuning: Any) -> Bus:
    """The bus at ``url``; ``tuning`` sets constructor parameters the settings do not have."""
    bus: Bus = backend("bus", url).load().from_url(url, settings, **tuning)
    return bus


def open_store(url: str, settings: StoreSettings | None = None) -> Store:
    """The store at ``url``, set up and ready."""
    store: Store = backend("store", url).load().from_url(url, settings)
    return store
