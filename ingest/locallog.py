"""The embedded bus: a durable, partitioned log in one SQLite file (``local://path``).

It keeps Kafka's model so that the same stages run on either: topics split into partitions,
records keyed to a partition, consumer groups whose live members share the partitions, and
offsets committed per group and partition.

- Durability: each `publish` is one transaction in WAL mode with ``synchronous=FULL``; when it
  returns the records survive a crash of the process or of the machine.
- Several processes: SQLite's locking serialises writers; ``BEGIN IMMEDIATE`` takes the write
  lock up front so two publishers never deadlock. Readers never block writers (WAL).
- Group membership: each consumer heartbeats a row in ``members``. A member that stops polling
  for ``session_timeout`` seconds (killed, hung) expires, and the others take its partitions over
  from the last committed offset; a member whose process is gone from this machine is removed at
  once, so a worker restarted after a crash resumes without waiting. Partition ``p`` goes to the
  ``p mod n``-th live member.
- Commits only move forward (``MAX``): a member that lost a partition during a rebalance can never
  move the group's offset back.
- Retention: records below the lowest committed offset of every group registered on the topic
  are deleted; a topic that no group reads (``mentions.dead``) keeps everything.
- Errors: a file that is locked, full or read-only raises `BusUnavailable` (the runner waits and
  retries); a damaged or foreign file raises `BusBroken` (`ingest.sqlite`). Opened inside
  `ingest.access.read_only` (``veille status``, ``veille dead``), the log only reads: it creates
  no topic and takes no lock.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import uuid
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ingest.bus import Message, Record
from ingest.closing import Closing
from ingest.errors import BusBroken, BusUnavailable, ConfigError, VeilleError
from ingest.settings import BusSettings
from ingest.sqlite import SqliteFile

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (name TEXT PRIMARY KEY, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heads (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
    PRIMARY KEY (topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log (
    topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    key BLOB, value BLOB NOT NULL, ts INTEGER NOT NULL,
    PRIMARY KEY (topic, partition, offset)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets (
    grp TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,
    committed INTEGER NOT NULL,
    PRIMARY KEY (grp, topic, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    grp TEXT NOT NULL, topic TEXT NOT NULL, member TEXT NOT NULL, expires REAL NOT NULL,
    PRIMARY KEY (grp, topic, member)) WITHOUT ROWID;
"""

_RETAIN_EVERY_S = 30.0
_HOST = socket.gethostname()


def _alive(member: str) -> bool:
    """Whether a member's process still runs; members on other hosts are trusted to expire."""
    host, _, rest = member.partition(":")
    pid = rest.partition(":")[0]
    if host != _HOST or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalLogBus(Closing):
    """A `Bus` in a SQLite file. Safe to share between threads; each thread gets a connection."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        partitions: int = 4,
        session_timeout: float = 30.0,
        synchronous: str = "FULL",
        lock_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if partitions < 1:
            raise ConfigError(f"partitions must be at least 1, not {partitions}")
        self.path = Path(path)
        self.partitions = partitions
        self.session_timeout = session_timeout
        self.clock = clock
        self.db = SqliteFile(
            self.path,
            kind="the bus",
            unavailable=BusUnavailable,
            broken=BusBroken,
            setting="bus.url",
            synchronous=synchronous,
            lock_timeout=lock_timeout,
        )
        self._round_robin = 0
        self._init_schema()

    @classmethod
    def from_url(cls, url: str, settings: BusSettings | None = None, **tuning: Any) -> LocalLogBus:
        """The log at ``local://PATH``, with the partitions of ``settings``; ``tuning`` sets
        the other parameters of the constructor (tests shorten ``session_timeout``)."""
        path = url.split("://", 1)[1]
        if not path:
            raise ConfigError(f"bus URL '{url}' needs a file path, as in local://data/bus.db")
        return cls(path, partitions=(settings or BusSettings()).partitions, **tuning)

    def connection(self) -> sqlite3.Connection:
        return self.db.connection()

    def _init_schema(self) -> None:
        self.db.setup(_SCHEMA, marker="log")

    # -- topics --------------------------------------------------------------------------------

    def _partitions(self, conn: sqlite3.Connection, topic: str) -> int:
        row = conn.execute("SELECT partitions FROM topics WHERE name = ?", (topic,)).fetchone()
        if row is not None:
            return int(row[0])
        conn.execute("INSERT OR IGNORE INTO topics VALUES (?, ?)", (topic, self.partitions))
        conn.executemany(
            "INSERT OR IGNORE INTO heads VALUES (?, ?, 0)",
            [(topic, p) for p in range(self.partitions)],
        )
        return self.partitions

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics that do not exist yet; the write lock is taken only for them (and
        never read-only: a topic that does not exist reads as empty)."""
        if self.db.read_only:
            return
        known = {row[0] for row in self.db.read("SELECT name FROM topics")}
        missing = [t for t in dict.fromkeys(topics) if t not in known]
        if missing:
            with self.db.write() as conn:
                for topic in missing:
                    self._partitions(conn, topic)

    # -- producing -----------------------------------------------------------------------------

    def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        now_ms = int(self.clock() * 1000)
        with self.db.write() as conn:
            count = self._partitions(conn, topic)
            by_partition: dict[int, list[Record]] = {}
            for key, value in records:
                if key is None:
                    partition = self._round_robin % count
                    self._round_robin += 1
                else:
                    partition = zlib.crc32(key) % count
                by_partition.setdefault(partition, []).append((key, value))
            for partition, batch in by_partition.items():
                (head,) = conn.execute(
                    "SELECT next_offset FROM heads WHERE topic = ? AND partition = ?",
                    (topic, partition),
                ).fetchone()
                conn.executemany(
                    "INSERT INTO log VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (topic, partition, head + i, key, value, now_ms)
                        for i, (key, value) in enumerate(batch)
                    ],
                )
                conn.execute(
                    "UPDATE heads SET next_offset = ? WHERE topic = ? AND partition = ?",
                    (head + len(batch), topic, partition),
                )

    # -- consuming -----------------------------------------------------------------------------

    def consumer(self, topic: str, group: str) -> LocalConsumer:
        return LocalConsumer(self, topic, group)

    def lag(self, topic: str, group: str) -> int | None:
        ((total, count),) = self.db.read(
            "SELECT SUM(h.next_offset - o.committed), COUNT(*) FROM offsets o JOIN heads h"
            " ON h.topic = o.topic AND h.partition = o.partition"
            " WHERE o.grp = ? AND o.topic = ?",
            (group, topic),
        )
        return None if not count else int(total)

    def groups(self, topic: str) -> list[str]:
        rows = self.db.read(
            "SELECT DISTINCT grp FROM offsets WHERE topic = ? ORDER BY grp", (topic,)
        )
        return [r[0] for r in rows]

    def end_offsets(self, topic: str) -> dict[int, int]:
        rows = self.db.read("SELECT partition, next_offset FROM heads WHERE topic = ?", (topic,))
        return {int(p): int(o) for p, o in rows}

    def peek(self, topic: str, limit: int = 100) -> list[Message]:
        rows = self.db.read(
            "SELECT topic, partition, offset, key, value, ts FROM log WHERE topic = ?"
            " ORDER BY ts DESC, partition, offset DESC LIMIT ?",
            (topic, limit),
        )
        return [Message(*row) for row in reversed(rows)]

    def retain(self, topic: str) -> int:
        """Delete what every group registered on ``topic`` has committed; return how many."""
        deleted = 0
        with self.db.write() as conn:
            rows = conn.execute(
                "SELECT partition, MIN(committed) FROM offsets WHERE topic = ? GROUP BY partition",
                (topic,),
            ).fetchall()
            for partition, low in rows:
                cursor = conn.execute(
                    "DELETE FROM log WHERE topic = ? AND partition = ? AND offset < ?",
                    (topic, partition, low),
                )
                deleted += cursor.rowcount
        return deleted

    def close(self) -> None:
        self.db.close()


class LocalConsumer:
    """One member of a consumer group on one topic of a `LocalLogBus`."""

    def __init__(self, bus: LocalLogBus, topic: str, group: str) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self.member = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._positions: dict[int, int] = {}
        self._assigned: list[int] = []
        self._turn = 0
        self._last_heartbeat = 0.0
        self._last_retain = time.monotonic()
        self._register()

    def _register(self) -> None:
        with self.bus.db.write() as conn:
            count = self.bus._partitions(conn, self.topic)
            for partition in range(count):
                # A new group starts at the earliest record still retained.
                (earliest,) = conn.execute(
                    "SELECT COALESCE((SELECT MIN(offset) FROM log WHERE topic = ? AND"
                    " partition = ?), (SELECT next_offset FROM heads WHERE topic = ? AND"
                    " partition = ?))",
                    (self.topic, partition, self.topic, partition),
                ).fetchone()
                conn.execute(
                    "INSERT OR IGNORE INTO offsets VALUES (?, ?, ?, ?)",
                    (self.group, self.topic, partition, earliest),
                )
            self._heartbeat(conn)

    def _heartbeat(self, conn: sqlite3.Connection) -> None:
        now = self.bus.clock()
        conn.execute(
            "INSERT INTO members VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, member)"
            " DO UPDATE SET expires = excluded.expires",
            (self.group, self.topic, self.member, now + self.bus.session_timeout),
        )
        conn.execute(
            "DELETE FROM members WHERE grp = ? AND topic = ? AND expires < ?",
            (self.group, self.topic, now),
        )
        self._last_heartbeat = now

    def _rebalance(self) -> list[int]:
        conn = self.bus.connection()
        if self.bus.clock() - self._last_heartbeat > self.bus.session_timeout / 5:
            with self.bus.db.write() as wconn:
                self._heartbeat(wconn)
        members = [
            r[0]
            for r in conn.execute(
                "SELECT member FROM members WHERE grp = ? AND topic = ? ORDER BY member",
                (self.group, self.topic),
            )
        ]
        dead = [m for m in members if m != self.member and not _alive(m)]
        if dead:  # a crashed process on this machine: take its partitions now, not at expiry
            with self.bus.db.write() as wconn:
                wconn.executemany(
                    "DELETE FROM members WHERE grp = ? AND topic = ? AND member = ?",
                    [(self.group, self.topic, m) for m in dead],
                )
            members = [m for m in members if m not in dead]
        if self.member not in members:  # expired while we were busy: rejoin
            with self.bus.db.write() as wconn:
                self._heartbeat(wconn)
            members = sorted([*members, self.member])
        me, n = members.index(self.member), len(members)
        (count,) = conn.execute(
            "SELECT partitions FROM topics WHERE name = ?", (self.topic,)
        ).fetchone()
        assigned = [p for p in range(count) if p % n == me]
        if assigned != self._assigned:
            committed: dict[int, int] = dict(
                conn.execute(
                    "SELECT partition, committed FROM offsets WHERE grp = ? AND topic = ?",
                    (self.group, self.topic),
                ).fetchall()
            )
            self._positions = {
                p: self._positions[p] if p in self._positions else committed.get(p, 0)
                for p in assigned
            }
            if self._assigned:
                log.info("group %s on %s: partitions now %s", self.group, self.topic, assigned)
            self._assigned = assigned
        return assigned

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        pause = 0.01
        while True:
            messages = self._fetch(max_records)
            if messages or time.monotonic() >= deadline:
                return messages
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.2)

    def _fetch(self, max_records: int) -> list[Message]:
        try:
            assigned = self._rebalance()
            conn = self.bus.connection()
            out: list[Message] = []
            # Fill the batch from the partitions in turn, starting one further each time, so a
            # busy partition neither starves the others nor leaves the batch half empty.
            start = self._turn % len(assigned) if assigned else 0
            self._turn += 1
            for partition in assigned[start:] + assigned[:start]:
                room = max_records - len(out)
                if room <= 0:
                    break
                rows = conn.execute(
                    "SELECT topic, partition, offset, key, value, ts FROM log WHERE topic = ?"
                    " AND partition = ? AND offset >= ? ORDER BY offset LIMIT ?",
                    (self.topic, partition, self._positions[partition], room),
                ).fetchall()
                if rows:
                    self._positions[partition] = rows[-1][2] + 1
                    out.extend(Message(*row) for row in rows)
        except sqlite3.Error as exc:
            raise self.bus.db.failed(exc) from exc
        return out

    def commit(self) -> None:
        if not self._positions:
            return
        with self.bus.db.write() as conn:
            conn.executemany(
                "INSERT INTO offsets VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic, partition)"
                " DO UPDATE SET committed = MAX(committed, excluded.committed)",
                [(self.group, self.topic, p, pos) for p, pos in self._positions.items()],
            )
            self._heartbeat(conn)
        if time.monotonic() - self._last_retain > _RETAIN_EVERY_S:
            self._last_retain = time.monotonic()
            self.bus.retain(self.topic)

    def close(self) -> None:
        try:
            with self.bus.db.write() as conn:
                conn.execute(
                    "DELETE FROM members WHERE grp = ? AND topic = ? AND member = ?",
                    (self.group, self.topic, self.member),
                )
        except VeilleError as exc:
            log.warning("could not leave group %s cleanly (%s); it will expire", self.group, exc)
