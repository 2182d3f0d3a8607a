"""The stage runner: the one loop that moves mentions from a topic through a stage.

A stage (`Stage`) is pure logic: it gets a batch of `Mention`s and returns a `StageOutput`
(what to pass on, what to dead-letter, what was dropped and why). The runner owns everything
else, in this order, for every batch:

1. poll a batch from the input topic;
2. decode each record; one that is not a valid `Mention` goes to ``mentions.dead``;
3. process the batch, by what the error says (`about_one_record`), never by how many records
   fail (a store that breaks fails every record alone too):
   - a `TransientError` (store down, locked, full, throttled) is retried with backoff, for as
     long as it takes, without committing;
   - a `PermanentError`, or an exception that is not Veille's and may be a bug in the handling
     of one record, is taken as one bad record: the runner processes the records one by one to
     find it, dead-letters it with the reason, and the rest go through;
   - any other `VeilleError` (`Broken`: a damaged store; `ConfigError`), or a fault of the
     machine (`OSError`, a sqlite3 error about the file), is about the stage: the runner stops,
     raising it (as `Broken` if it is not Veille's), with nothing committed or dead-lettered;
4. publish the output to the next topic, and the dead letters to ``mentions.dead``;
5. commit the input offsets, and only then.

A crash or a stop anywhere before step 5 replays the batch: delivery is at least once, and
stores write by mention id, so nothing is lost and nothing is doubled.

A stage can be given as a `LazyStage`, built by the runner on first use: a worker started while
its store is down waits for it, with backoff, logging what it waits for.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic import ValidationError

from ingest.bus import Bus, Consumer, Message
from ingest.clock import Clock, SystemClock
from ingest.counters import Counters, MemoryCounters
from ingest.deadletter import DeadLetter
from ingest.errors import Broken, InvalidRecord, PermanentError, TransientError, VeilleError
from ingest.record import Mention, invalid_record
from ingest.topics import partition_key

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class StageOutput:
    """What a stage made of a batch."""

    emit: list[Mention] = field(default_factory=list)
    dead: list[tuple[Mention, str]] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)

    def merge(self, other: StageOutput) -> StageOutput:
        self.emit.extend(other.emit)
        self.dead.extend(other.dead)
        self.dropped.update(other.dropped)
        return self


class Stage(Protocol):
    """Pure stage logic. ``name`` names the consumer group and the counters."""

    name: str

    def process(self, batch: Sequence[Mention]) -> StageOutput: ...


@dataclass(frozen=True)
class LazyStage:
    """A stage that the runner builds on first use, waiting while ``build`` raises a
    `TransientError` (the store it opens is down)."""

    name: str
    build: Callable[[], Stage]


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: ``initial * factor**(attempt-1)``, capped."""

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        return base * (1 + random.uniform(-self.jitter, self.jitter))


class Stopped(Exception):
    """Raised inside the runner when asked to stop while waiting to retry."""


def describe(exc: BaseException) -> str:
    """A one-line reason for a dead letter."""
    if isinstance(exc, ValidationError):
        return str(invalid_record(exc))
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500]


def about_one_record(exc: BaseException) -> bool:
    """Whether ``exc``, raised by a stage for a batch, may be about one of its records (and so,
    once that record is isolated, dead-lettered with it) rather than about the stage itself.

    Decided by the error alone: a `PermanentError` is about its record; any other Veille error
    (`Broken`, `ConfigError`) is about the stage; of the others, a fault of the machine (an
    `OSError`, `MemoryError`, a sqlite3 error about the file rather than a value) is about the
    stage, and anything else may be a bug in handling that one record."""
    if isinstance(exc, VeilleError):
        return isinstance(exc, PermanentError)
    if isinstance(exc, OSError | MemoryError):
        return False
    if isinstance(exc, sqlite3.DatabaseError):
        return isinstance(
            exc, sqlite3.IntegrityError | sqlite3.DataError | sqlite3.ProgrammingError
        )
    return True


class StageRunner:
    """Runs one `Stage` between two topics of a `Bus`."""

    def __init__(
        self,
        stage: Stage | LazyStage,
        bus: Bus,
        *,
        source_topic: str,
        sink_topic: str | None,
        dead_topic: str,
        group: str | None = None,
        batch_size: int = 500,
        poll_timeout: float = 1.0,
        backoff: Backoff | None = None,
        clock: Clock | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.name = stage.name
        self._stage: Stage | None = None if isinstance(stage, LazyStage) else stage
        self._build = stage.build if isinstance(stage, LazyStage) else None
        self.bus = bus
        self.source_topic = source_topic
        self.sink_topic = sink_topic
        self.dead_topic = dead_topic
        self.group = group or self.name
        self.batch_size = batch_size
        self.poll_timeout = poll_timeout
        self.backoff = backoff or Backoff()
        self.clock = clock or SystemClock()
        self.counters = counters or MemoryCounters()
        self._consumer: Consumer | None = None

    def stage(self, stop: threading.Event | None = None, *, wait: bool = True) -> Stage:
        """The stage, built on first use if it was given as a `LazyStage`: waiting, with
        backoff, while what it needs is unavailable, or (``wait`` False) raising at once."""
        if self._stage is None:
            assert self._build is not None
            build, stop = self._build, stop or threading.Event()
            self._stage = self._retry(stop, "start", build) if wait else build()
        return self._stage

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            self._consumer = self.bus.consumer(self.source_topic, self.group)
        return self._consumer

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        """Process batches until ``stop`` is set (or, with ``until_idle``, until a poll comes
        back empty and the group has nothing left to commit). Stops between batches; a batch in
        flight is finished or replayed."""
        try:
            # A worker waits for its store to come back; a run that is asked to drain what is
            # waiting and exit (``--once``, from a script) says at once that it cannot.
            self.stage(stop, wait=not until_idle)
            while not stop.is_set():
                handled = self.run_once(stop)
                if until_idle and handled == 0 and not self._lagging(stop):
                    return
        except Stopped:
            log.info("%s: stopped while retrying; the batch will be replayed", self.name)
        finally:
            self.close()

    def _lagging(self, stop: threading.Event) -> bool:
        # An empty poll alone does not mean idle: a member still joining its group, or waiting
        # for a crashed member's partitions to be handed over, polls nothing for a while.
        lag = self._retry(stop, "lag", lambda: self.bus.lag(self.source_topic, self.group))
        return bool(lag)

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Poll, process, publish and commit one batch; return how many records it held."""
        stop = stop or threading.Event()
        messages = self._poll(stop)
        if not messages:
            return 0
        counts: Counter[str] = Counter(consumed=len(messages))
        letters: list[DeadLetter] = []
        origin: dict[str, Message] = {}
        batch: list[Mention] = []
        for message in messages:
            try:
                mention = Mention.from_json(message.value)
            except InvalidRecord as exc:
                letters.append(self._letter(str(exc), message))
                continue
            if mention.id in origin:  # seen twice (two sources, or a replay): keep the last
                batch = [m for m in batch if m.id != mention.id]
                counts["duplicates"] += 1
            origin[mention.id] = message
            batch.append(mention)

        output = self._process(stop, batch) if batch else StageOutput()
        letters += [self._letter(reason, origin[m.id], m.id) for m, reason in output.dead]
        if self.sink_topic and output.emit:
            records = [(partition_key(m), m.to_json()) for m in output.emit]
            sink = self.sink_topic
            self._retry(stop, "publish", lambda: self.bus.publish(sink, records))
        self._dead_letter(stop, letters)
        self._retry(stop, "commit", self.consumer.commit)

        counts["emitted"] = len(output.emit)
        counts["dead"] = len(letters)
        for reason, n in output.dropped.items():
            counts[f"dropped:{reason}"] = n
        self.counters.add(self.name, counts)
        return len(messages)

    def _poll(self, stop: threading.Event) -> list[Message]:
        return self._retry(
            stop, "poll", lambda: self.consumer.poll(self.batch_size, self.poll_timeout)
        )

    def _dead_letter(self, stop: threading.Event, letters: list[DeadLetter]) -> None:
        """Publish ``letters`` to the dead-letter topic (before the commit), and say so."""
        if not letters:
            return
        dead = [(None, letter.to_json()) for letter in letters]
        self._retry(stop, "dead-letter", lambda: self.bus.publish(self.dead_topic, dead))
        for letter in letters:
            log.warning(
                "%s: dead-lettered %s: %s",
                self.name,
                letter.mention_id or f"offset {letter.offset}",
                letter.reason,
            )

    def _letter(self, reason: str, message: Message, mention_id: str | None = None) -> DeadLetter:
        return DeadLetter.of(self.name, reason, message, self.clock.now(), mention_id)

    def _process(self, stop: threading.Event, batch: list[Mention]) -> StageOutput:
        stage = self.stage(stop)
        try:
            return self._retry(stop, "process", lambda: stage.process(batch))
        except (Stopped, KeyboardInterrupt):
            raise
        except Exception as exc:
            if not about_one_record(exc):
                raise self._stopping(exc) from exc
            if len(batch) == 1:
                if not isinstance(exc, PermanentError):
                    log.exception("%s: failed on mention %s", self.name, batch[0].id)
                return StageOutput(dead=[(batch[0], describe(exc))])
        # Something in the batch is bad: find it by processing the records one by one.
        log.warning("%s: batch of %d failed; isolating the bad record", self.name, len(batch))
        output = StageOutput()
        for mention in batch:
            output.merge(self._process(stop, [mention]))
        return output

    def _stopping(self, exc: Exception) -> VeilleError:
        """The error that stops this stage: a Veille error as it is, a fault of the machine as
        `Broken`. Nothing of the batch was committed or dead-lettered."""
        if isinstance(exc, VeilleError):
            return exc
        return Broken(
            f"{self.name}: {describe(exc)}; stopped without committing the batch, which is "
            f"processed again at the next start"
        )

    def _retry(self, stop: threading.Event, what: str, action: Callable[[], T]) -> T:
        attempt = 0
        while True:
            try:
                return action()
            except TransientError as exc:
                attempt += 1
                delay = self.backoff.delay(attempt)
                self.counters.add(self.name, {"retries": 1})
                if attempt == 1 or attempt % 10 == 0:
                    log.warning(
                        "%s: %s (%s); retry %d in %.1fs",
                        self.name,
                        "waiting to start" if what == "start" else f"{what} failed",
                        describe(exc),
                        attempt,
                        delay,
                    )
                if self.clock.sleep(delay, stop):
                    raise Stopped from exc

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
