"""The record written to ``mentions.dead`` (what failed for good, why, and the original record,
byte for byte), and their replay.

A `DeadLetter` keeps the topic the record was read from, its key and its value exactly: the
value as text when it is UTF-8 (``payload``, readable in ``veille dead --format json``), and
also in base64 when it is not (``payload_base64``). `replay` republishes letters to the topic
they came from, so the stage that failed on them takes them again (``veille dead replay``):

- which: the letters that match the filters (reason, time, stage) and were not replayed before;
- how it remembers: after each chunk of letters is republished (and durable), it appends a
  `ReplayMark` to the dead-letter topic itself, keyed `REPLAYED_KEY`, listing the partition and
  offset of each letter it republished; a later replay, from any machine on the same bus, skips
  them. The marks live and expire with the letters (Kafka's retention), and a new local log
  starts without them, as its offsets start over;
- idempotent: replaying twice republishes nothing the second time; and should a replay die
  between republishing a chunk and marking it, the next one republishes that chunk again, which
  the stores absorb (they write by mention id) and the alerts worker too (it counts ids once).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from ingest.bus import Bus, Message, Record
from ingest.clock import Clock, SystemClock

REPLAYED_KEY = b"veille:replayed"
"""The key of a `ReplayMark` on the dead-letter topic (dead letters have no key)."""

EVERYTHING = 2**62
"""A `ingest.bus.Bus.peek` limit that reads a whole topic."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class DeadLetter(BaseModel):
    """A record that a stage gave up on: its reason, where it was read, and the record itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    reason: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    mention_id: str | None = None
    payload: str
    """The record's value as text (bytes that are not UTF-8 are shown as ``\\xNN``)."""
    payload_base64: str | None = None
    """The value exactly, in base64, when it is not UTF-8 (``payload`` cannot hold it then)."""
    key_base64: str | None = None
    """The record's key exactly, in base64 (None: it had no key, or the letter is older)."""
    failed: AwareDatetime

    @classmethod
    def of(
        cls,
        stage: str,
        reason: str,
        message: Message,
        failed: AwareDatetime,
        mention_id: str | None = None,
    ) -> DeadLetter:
        try:
            payload, exact = message.value.decode("utf-8"), None
        except UnicodeDecodeError:
            payload = message.value.decode("utf-8", errors="backslashreplace")
            exact = _b64(message.value)
        return cls(
            stage=stage,
            reason=reason,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            mention_id=mention_id,
            payload=payload,
            payload_base64=exact,
            key_base64=_b64(message.key) if message.key is not None else None,
            failed=failed,
        )

    def value(self) -> bytes:
        """The original record's value, byte for byte."""
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
        return self.payload.encode("utf-8")

    def key(self) -> bytes | None:
        """The original record's key, byte for byte (None if it had none)."""
        return base64.b64decode(self.key_base64) if self.key_base64 is not None else None

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


class ReplayMark(BaseModel):
    """A note on the dead-letter topic: these letters (partition, offset) were republished."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    replayed: list[tuple[int, int]]
    at: AwareDatetime


@dataclass
class DeadLetters:
    """What a dead-letter topic holds: the letters (each with the message it came in), the
    letters already replayed (partition, offset), and how many records were neither."""

    letters: list[tuple[Message, DeadLetter]] = field(default_factory=list)
    replayed: set[tuple[int, int]] = field(default_factory=set)
    unreadable: int = 0


def read_dead(messages: Iterable[Message]) -> DeadLetters:
    """Sort the records of a dead-letter topic into letters and replay marks."""
    found = DeadLetters()
    for message in messages:
        try:
            if message.key == REPLAYED_KEY:
                mark = ReplayMark.model_validate_json(message.value)
                found.replayed.update((p, o) for p, o in mark.replayed)
            else:
                found.letters.append((message, DeadLetter.model_validate_json(message.value)))
        except ValidationError:
            found.unreadable += 1
    return found


@dataclass
class Replay:
    """What `replay` did: the letters it chose (republished, unless it was a dry run), by topic,
    and how many letters the filters matched that had been replayed before."""

    chosen: list[DeadLetter] = field(default_factory=list)
    by_topic: Counter[str] = field(default_factory=Counter)
    replayed_before: int = 0
    dry_run: bool = False


def replay(
    bus: Bus,
    dead_topic: str,
    *,
    reason: str | None = None,
    since: datetime | None = None,
    stage: str | None = None,
    dry_run: bool = False,
    chunk: int = 500,
    clock: Clock | None = None,
) -> Replay:
    """Republish to its topic each dead letter of ``dead_topic`` whose reason contains
    ``reason`` (case ignored), that failed at ``since`` or later, in ``stage``, and that was not
    replayed before; then mark it replayed (see the module's docstring). ``dry_run``: choose,
    publish nothing."""
    clock = clock or SystemClock()
    found = read_dead(bus.peek(dead_topic, EVERYTHING))
    done = Replay(dry_run=dry_run)
    wanted: list[tuple[Message, DeadLetter]] = []
    for message, letter in found.letters:
        if reason is not None and reason.casefold() not in letter.reason.casefold():
            continue
        if since is not None and letter.failed < since:
            continue
        if (stage is not None and letter.stage != stage) or letter.topic == dead_topic:
            continue
        if (message.partition, message.offset) in found.replayed:
            done.replayed_before += 1
            continue
        wanted.append((message, letter))
    done.chosen = [letter for _, letter in wanted]
    done.by_topic.update(letter.topic for letter in done.chosen)
    if dry_run:
        return done
    for start in range(0, len(wanted), chunk):
        part = wanted[start : start + chunk]
        by_topic: dict[str, list[Record]] = {}
        for _, letter in part:
            by_topic.setdefault(letter.topic, []).append((letter.key(), letter.value()))
        for topic, records in by_topic.items():
            bus.publish(topic, records)
        mark = ReplayMark(replayed=[(m.partition, m.offset) for m, _ in part], at=clock.now())
        bus.publish(dead_topic, [(REPLAYED_KEY, mark.model_dump_json().encode())])
    return done
