"""The backends every contract suite runs against. Add an implementation here and the bus
contract, the store contract, the query-consistency test and the end-to-end test all cover it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from index.sqlite import SqliteStore
from ingest.store import Store

BusSpec = tuple[str, dict[str, Any]]
"""A bus URL and the options to open it with: enough for another process to connect."""


def _local_bus(tmp_path: Path) -> BusSpec:
    return f"local://{tmp_path / 'bus.db'}", {"partitions": 4, "session_timeout": 2.0}


def _sqlite_store(tmp_path: Path) -> Store:
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    return store


BUSES: dict[str, Callable[[Path], BusSpec]] = {"local": _local_bus}
STORES: dict[str, Callable[[Path], Store]] = {"sqlite": _sqlite_store}
