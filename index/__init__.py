"""The store side of Veille: the `Store` implementations side by side, `index.sqlite` (SQLite
with FTS5) and `index.elastic` (Elasticsearch), each with its store, query compiler, author and
cluster indexes; what both share (`index.base`); the index stage that writes enriched mentions
(`index.stage`); and the store's settings (`index.settings`).

`open_store` picks the implementation a URL names and imports only that one, so importing
`index` never loads the Elasticsearch client."""

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
