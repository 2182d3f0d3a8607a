"""The stage runner: what it commits, retries, dead-letters and counts."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.clock import FakeClock
from ingest.counters import MemoryCounters
from ingest.deadletter import DeadLetter
from ingest.errors import (
    Broken,
    ConfigError,
    InvalidRecord,
    StoreBroken,
    StoreUnavailable,
    VeilleError,
)
from ingest.locallog import LocalLogBus
from ingest.record import Mention
from ingest.runner import (
    Backoff,
    LazyStage,
    Stage,
    StageOutput,
    StageRunner,
    about_one_record,
)
from ingest.topics import Topics
from tests.support.mentions import make_mention

TOPICS = Topics()


class Upper:
    """A stage that uppercases texts, fails for good on 'poison', and drops 'spam'."""

    name = "upper"

    def __init__(self) -> None:
        self.transient_failures = 0
        self.calls = 0

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        self.calls += 1
        if self.transient_failures:
            self.transient_failures -= 1
            raise StoreUnavailable("store is down")
        out = StageOutput()
        for m in batch:
            if "poison" in m.text:
                raise ValueError(f"cannot handle {m.text!r}")
            if "spam" in m.text:
                out.dropped["spam"] += 1
                continue
            out.emit.append(m.model_copy(update={"text": m.text.upper()}))
        return out


@pytest.fixture
def bus(tmp_path: Path) -> LocalLogBus:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
    bus.ensure_topics(TOPICS.all())
    return bus


def runner(
    bus: LocalLogBus,
    stage: Stage,
    counters: MemoryCounters | None = None,
    clock: FakeClock | None = None,
) -> StageRunner:
    return StageRunner(
        stage,
        bus,
        source_topic=TOPICS.raw,
        sink_topic=TOPICS.enriched,
        dead_topic=TOPICS.dead,
        batch_size=100,
        poll_timeout=0.2,
        backoff=Backoff(initial=1, maximum=8, jitter=0),
        clock=clock or FakeClock(),
        counters=counters or MemoryCounters(),
    )


def publish(bus: LocalLogBus, mentions: list[Mention]) -> None:
    bus.publish(TOPICS.raw, [(m.site.encode(), m.to_json()) for m in mentions])


def out_texts(bus: LocalLogBus) -> list[str]:
    return sorted(Mention.from_json(m.value).text for m in bus.peek(TOPICS.enriched, 1000))


def dead_letters(bus: LocalLogBus) -> list[DeadLetter]:
    return [DeadLetter.model_validate_json(m.value) for m in bus.peek(TOPICS.dead, 1000)]


def test_a_batch_goes_through_and_is_committed(bus: LocalLogBus) -> None:
    publish(bus, [make_mention(f"texte {i}") for i in range(10)])
    counters = MemoryCounters()
    r = runner(bus, Upper(), counters)
    assert r.run_once() == 10
    assert out_texts(bus) == sorted(f"TEXTE {i}" for i in range(10))
    assert bus.lag(TOPICS.raw, "upper") == 0
    assert counters.read()["upper"] == {"consumed": 10, "emitted": 10, "dead": 0}


def test_a_payload_that_is_not_a_mention_is_dead_lettered_and_the_rest_pass(
    bus: LocalLogBus,
) -> None:
    publish(bus, [make_mention("bon"), make_mention("aussi bon")])
    bus.publish(TOPICS.raw, [(None, b"{not json"), (None, b'{"id": "x"}')])
    r = runner(bus, Upper())
    r.run_once()
    assert out_texts(bus) == ["AUSSI BON", "BON"]
    letters = dead_letters(bus)
    assert len(letters) == 2
    assert all(d.stage == "upper" and d.reason.startswith("invalid record") for d in letters)
    assert {d.payload for d in letters} == {"{not json", '{"id": "x"}'}


def test_one_bad_record_is_isolated_and_dead_lettered_with_its_reason(bus: LocalLogBus) -> None:
    good = [make_mention(f"bon {i}") for i in range(5)]
    poison = make_mention("poison pill")
    publish(bus, [*good[:2], poison, *good[2:]])
    counters = MemoryCounters()
    runner(bus, Upper(), counters).run_once()
    assert out_texts(bus) == sorted(f"BON {i}" for i in range(5))
    (letter,) = dead_letters(bus)
    assert letter.mention_id == poison.id
    assert letter.reason == "ValueError: cannot handle 'poison pill'"
    assert Mention.from_json(letter.payload) == poison
    assert counters.read()["upper"]["dead"] == 1
    assert bus.lag(TOPICS.raw, "upper") == 0


def test_dropped_records_are_counted_by_reason(bus: LocalLogBus) -> None:
    publish(bus, [make_mention("spam"), make_mention("spam encore"), make_mention("ok")])
    counters = MemoryCounters()
    runner(bus, Upper(), counters).run_once()
    assert counters.read()["upper"]["dropped:spam"] == 2
    assert out_texts(bus) == ["OK"]


def test_a_transient_failure_is_retried_with_backoff_and_nothing_is_lost(
    bus: LocalLogBus,
) -> None:
    publish(bus, [make_mention(f"m{i}") for i in range(3)])
    stage = Upper()
    stage.transient_failures = 4
    clock = FakeClock()
    counters = MemoryCounters()
    runner(bus, stage, counters, clock).run_once()
    assert clock.slept == [1, 2, 4, 8]
    assert out_texts(bus) == ["M0", "M1", "M2"]
    assert counters.read()["upper"]["retries"] == 4
    assert dead_letters(bus) == []


def test_stopping_while_retrying_commits_nothing_and_the_batch_is_replayed(
    bus: LocalLogBus,
) -> None:
    publish(bus, [make_mention(f"m{i}") for i in range(3)])
    stage = Upper()
    stage.transient_failures = 10**6
    stop = threading.Event()

    class StopOnSleep(FakeClock):
        def sleep(self, seconds: float, stop_event: threading.Event | None = None) -> bool:
            stop.set()
            return True

    runner(bus, stage, clock=StopOnSleep()).run(stop)
    assert bus.lag(TOPICS.raw, "upper") == 3
    assert out_texts(bus) == []

    stage.transient_failures = 0
    runner(bus, stage).run(threading.Event(), until_idle=True)
    assert out_texts(bus) == ["M0", "M1", "M2"]
    assert bus.lag(TOPICS.raw, "upper") == 0


class Failing:
    """A stage that fails every batch with ``error``, until ``error`` is None."""

    name = "failing"

    def __init__(self, error: Exception | None) -> None:
        self.error = error

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        if self.error is not None:
            raise self.error
        return StageOutput(emit=list(batch))


@pytest.mark.parametrize(
    "error",
    [
        StoreBroken("store.db: database disk image is malformed"),
        sqlite3.DatabaseError("file is not a database"),
        OSError(28, "No space left on device"),
        ConfigError("the sentiment model is missing"),
    ],
    ids=["StoreBroken", "sqlite3.DatabaseError", "OSError", "ConfigError"],
)
def test_an_error_about_the_stage_stops_it_with_nothing_dead_lettered_or_committed(
    bus: LocalLogBus, error: Exception
) -> None:
    publish(bus, [make_mention(f"m{i}") for i in range(4)])
    stage = Failing(error)
    with pytest.raises(VeilleError) as stopped:
        runner(bus, stage).run(threading.Event(), until_idle=True)
    assert isinstance(stopped.value, Broken | ConfigError)
    assert str(error) in str(stopped.value)
    assert dead_letters(bus) == []
    assert bus.lag(TOPICS.raw, "failing") == 4

    stage.error = None
    runner(bus, stage).run(threading.Event(), until_idle=True)
    assert sorted(out_texts(bus)) == ["m0", "m1", "m2", "m3"]
    assert bus.lag(TOPICS.raw, "failing") == 0


def test_only_errors_about_one_record_are_dead_lettered() -> None:
    assert about_one_record(InvalidRecord("bad"))
    assert about_one_record(ValueError("a bug in handling one record"))
    assert about_one_record(sqlite3.IntegrityError("NOT NULL constraint failed"))
    assert not about_one_record(StoreUnavailable("down"))
    assert not about_one_record(StoreBroken("damaged"))
    assert not about_one_record(sqlite3.OperationalError("database or disk is full"))
    assert not about_one_record(sqlite3.DatabaseError("database disk image is malformed"))
    assert not about_one_record(ConnectionRefusedError())


def test_a_lazy_stage_is_built_once_its_store_answers(bus: LocalLogBus) -> None:
    publish(bus, [make_mention("m")])
    attempts: list[int] = []

    def build() -> Upper:
        attempts.append(1)
        if len(attempts) < 3:
            raise StoreUnavailable("Elasticsearch is out of reach")
        return Upper()

    clock = FakeClock()
    r = StageRunner(
        LazyStage("upper", build),
        bus,
        source_topic=TOPICS.raw,
        sink_topic=TOPICS.enriched,
        dead_topic=TOPICS.dead,
        poll_timeout=0.2,
        backoff=Backoff(initial=1, maximum=8, jitter=0),
        clock=clock,
    )
    r.stage(threading.Event())  # what a worker does first: wait for what the stage needs
    assert len(attempts) == 3
    assert clock.slept == [1, 2]
    r.run(threading.Event(), until_idle=True)
    assert out_texts(bus) == ["M"]


def test_a_run_that_drains_and_exits_does_not_wait_for_its_store(bus: LocalLogBus) -> None:
    """``--once`` from a script: a store out of reach is said at once, not waited for."""
    publish(bus, [make_mention("m")])
    attempts: list[int] = []

    def build() -> Upper:
        attempts.append(1)
        raise StoreUnavailable("Elasticsearch is out of reach")

    clock = FakeClock()
    r = StageRunner(
        LazyStage("upper", build),
        bus,
        source_topic=TOPICS.raw,
        sink_topic=TOPICS.enriched,
        dead_topic=TOPICS.dead,
        poll_timeout=0.2,
        clock=clock,
    )
    with pytest.raises(StoreUnavailable):
        r.run(threading.Event(), until_idle=True)
    assert (len(attempts), clock.slept) == (1, [])
    assert out_texts(bus) == []
