"""The `Bus`: an append-only, partitioned log of records between stages, read by consumer groups.

Two implementations, chosen by URL (`veille.backends` maps the schemes to them):

- ``local://path/to/bus.db``: the embedded log in SQLite (`ingest.locallog`), nothing to install;
- ``kafka://host:9092[,host2:9092]``: Apache Kafka (`ingest.kafka`).

Each one is made by ``from_url(url, settings: BusSettings, **tuning)`` and closed by ``close()``
or a ``with`` block.

The contract, which `tests/test_bus_contract.py` holds both to:

- `Bus.publish` returns once the records are durable (fsynced locally, or acknowledged by all
  in-sync replicas); otherwise it raises `BusUnavailable`. Records with the same key keep their
  order.
- A `Consumer` belongs to a group. The group's members share the topic's partitions; each record
  is delivered to one member of each group, at least once. Offsets move on only when the member
  calls `Consumer.commit`, after it has handled what it polled, so a crash replays, never skips.
- A new group starts at the earliest record still retained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, Self

Record = tuple[bytes | None, bytes]
"""A record to publish: its key (None for no key) and its value."""


@dataclass(frozen=True, slots=True)
class Message:
    """A record as a consumer receives it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    timestamp_ms: int


class Consumer(Protocol):
    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        """Up to ``max_records`` records after the last ones polled, waiting up to ``timeout``
        seconds for the first; an empty list if none came."""

    def commit(self) -> None:
        """Mark everything polled so far as handled, for the whole group."""

    def close(self) -> None:
        """Leave the group (without committing) and release the connection."""


class Bus(Protocol):
    def publish(self, topic: str, records: Sequence[Record]) -> None:
        """Append ``records`` to ``topic``; return once they are durable."""

    def consumer(self, topic: str, group: str) -> Consumer:
        """Join ``group`` on ``topic``."""

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics if they do not exist (idempotent)."""

    def end_offsets(self, topic: str) -> dict[int, int]:
        """The next offset of each partition: how many records were ever appended to it."""

    def lag(self, topic: str, group: str) -> int | None:
        """How many records the group has not committed yet; None if the group is unknown."""

    def peek(self, topic: str, limit: int = 100) -> list[Message]:
        """The most recent ``limit`` records of ``topic`` (for inspection), joining no group."""

    def close(self) -> None:
        """Release connections; records already published stay."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None:
        """Close the bus."""
