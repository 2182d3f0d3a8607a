"""The store side of Veille: the `Store` implementations (SQLite FTS5, Elasticsearch), the query
compilers, the index stage that writes enriched mentions, and exports."""

from __future__ import annotations

import importlib
from typing import Any

from ingest.errors import ConfigError
from ingest.store import Store

# Implementations are imported only when their scheme is used.
_SCHEMES = {
    "sqlite": "index.sqlite:SqliteStore",
    "http": "index.elastic:ElasticStore",
    "https": "index.elastic:ElasticStore",
}


def open_store(url: str, **options: Any) -> Store:
    """The store that ``url`` names, set up and ready."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    target = _SCHEMES.get(scheme)
    if target is None:
        raise ConfigError(
            f"unknown store URL '{url}': expected sqlite://PATH or http(s)://HOST:9200"
        )
    module, name = target.split(":")
    cls = getattr(importlib.import_module(module), name)
    store: Store = cls.from_url(url, **options)
    return store


__all__ = ["open_store"]
