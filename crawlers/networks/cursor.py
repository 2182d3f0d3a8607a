"""A cursor by creation time, for the platforms whose listings run newest first and whose
pages cannot be asked for "what came after this id" reliably (Reddit, Hacker News' search).

A `TimeCursor` remembers the creation time of the newest item read and the ids of the items
read within ``overlap`` before it. An item is new when it is younger than that window and not
among those ids: the items at the boundary second are not read twice, and an item the
platform's index added late (created before the newest seen, listed after it) is still found
while it is younger than ``overlap``. It is stored as a string in the connector's cursors.

`poll_by_time` runs one poll over such listings, each with its cursor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from crawlers.networks.base import Batch, ConnectorError, Cursors
from ingest.record import Mention

log = logging.getLogger(__name__)

MAX_REMEMBERED = 2000
"""Ids kept at most; the oldest are forgotten first."""


@dataclass(frozen=True)
class TimeCursor:
    newest: float
    """Creation time (POSIX) of the newest item read."""
    overlap: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)
    """Id to creation time of the items read no older than ``newest - overlap``."""
    anchor: str | None = None
    """The platform's id of the newest item read, for the listings that page from one."""

    @property
    def horizon(self) -> float:
        return self.newest - self.overlap

    def is_new(self, native: str, created: float) -> bool:
        return created >= self.horizon and native not in self.seen

    def advance(self, items: Iterable[tuple[str, float]]) -> TimeCursor:
        """The cursor once ``items`` (id, creation time; oldest first, as a listing read
        backwards) are read too: the anchor is the last of the newest."""
        newest, anchor, seen = self.newest, self.anchor, dict(self.seen)
        for native, created in items:
            if created >= newest:
                newest, anchor = created, native
            seen[native] = created
        horizon = newest - self.overlap
        kept = sorted(((c, n) for n, c in seen.items() if c >= horizon), reverse=True)
        return TimeCursor(
            newest, self.overlap, {n: c for c, n in kept[:MAX_REMEMBERED]}, anchor=anchor
        )

    def through(self, moment: float) -> TimeCursor:
        """The cursor once everything created before ``moment`` is read (a window read whole,
        even if it held nothing new)."""
        if moment <= self.newest:
            return self
        return TimeCursor(moment, self.overlap, self.seen, anchor=self.anchor).advance(())

    @classmethod
    def first(cls, items: list[tuple[str, float]], overlap: float) -> TimeCursor | None:
        """The cursor after a first read of ``items`` (oldest first; None if there were
        none)."""
        return cls(float("-inf"), overlap).advance(items) if items else None

    def dump(self) -> str:
        return json.dumps(
            {"newest": self.newest, "anchor": self.anchor, "seen": self.seen},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, value: str | None, overlap: float) -> TimeCursor | None:
        """The cursor stored as ``value``; None if there is none or it cannot be read (the
        listing is then read as for the first time)."""
        if not value:
            return None
        try:
            data = json.loads(value)
            seen = {str(n): float(c) for n, c in data["seen"].items()}
            anchor = data.get("anchor")
            return cls(
                float(data["newest"]),
                overlap,
                seen,
                anchor=str(anchor) if anchor is not None else None,
            )
        except (ValueError, TypeError, KeyError, AttributeError):
            return None


Reader = Callable[
    [str, "TimeCursor | None"], tuple[list[Mention | None], "TimeCursor | None", bool]
]
"""Reads listing ``key`` from its cursor: its new mentions (None for an item that could not be
made one), its new cursor, whether pages were left unread."""


def poll_by_time(cursors: Cursors, keys: Sequence[str], overlap: float, read: Reader) -> Batch:
    """One poll of the listings ``keys``, each read by ``read`` from its cursor. The first
    failure ends the poll with what the listings before brought (the others would meet it
    too: same host, same credentials). The caller adds the rate limit and requests spent."""
    new = dict(cursors)
    mentions: dict[str, Mention] = {}
    skipped = 0
    more = False
    for key in keys:
        try:
            found, cursor, left = read(key, TimeCursor.load(new.get(key), overlap))
        except ConnectorError as exc:
            log.debug("%s: %s", key, exc)
            return Batch(
                list(mentions.values()), cursors=new, more=more, error=exc, skipped=skipped
            )
        for mention in found:
            if mention is None:
                skipped += 1
            else:
                mentions[mention.id] = mention
        if cursor is not None:
            new[key] = cursor.dump()
        more = more or left
    return Batch(list(mentions.values()), cursors=new, more=more, skipped=skipped)
