"""The stage runner: what it commits, retries, dead-letters and counts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from ingest.clock import FakeClock
from ingest.counters import MemoryCounters
from ingest.deadletter import DeadLetter
from ingest.errors import StoreUnavailable
from ingest.locallog import LocalLogBus
from ingest.record import Mention
from ingest.runner import Backoff, StageOutput, StageRunner
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
    stage: Upper,
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
