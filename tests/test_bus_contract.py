"""The `Bus` contract, held against every implementation (see `ingest.bus`).

Each test uses fresh topic and group names, so the same tests can run against a long-lived
server. Implementations are listed in `tests.support.backends`.
"""

from __future__ import annotations

import gc
import multiprocessing
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.bus import Bus, Consumer, Message
from tests.support.backends import BUSES, BusSpec
from veille.backends import open_bus

BusFactory = Callable[[], Bus]


@pytest.fixture(params=sorted(BUSES))
def bus_spec(request: pytest.FixtureRequest, tmp_path: Path) -> BusSpec:
    return BUSES[request.param](tmp_path)


@pytest.fixture
def make_bus(bus_spec: BusSpec) -> Iterator[BusFactory]:
    """A factory of connections to one bus (several connections: several clients)."""
    opened: list[Bus] = []

    def make() -> Bus:
        bus = open_bus(bus_spec[0], **bus_spec[1])
        opened.append(bus)
        return bus

    yield make
    for bus in opened:
        bus.close()
    # kafka-python can leave a broker connection to the garbage collector when a client closes
    # while a metadata refresh is in flight ("Metadata refresh: failed Cancelled"): collect it
    # here, where the clients were made, rather than fail whichever later test the collector
    # happens to run in (seen once in a CI run, in the next module's first test).
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"unclosed <socket\.socket", ResourceWarning)
        gc.collect()


@pytest.fixture
def topic(make_bus: BusFactory) -> str:
    name = f"test.{uuid.uuid4().hex[:10]}"
    make_bus().ensure_topics([name])
    return name


def group() -> str:
    return f"g-{uuid.uuid4().hex[:8]}"


def drain(consumer: Consumer, expected: int, attempts: int = 40) -> list[Message]:
    """Poll until ``expected`` records came (or give up after ``attempts`` empty polls)."""
    got: list[Message] = []
    empty = 0
    while len(got) < expected and empty < attempts:
        batch = consumer.poll(max_records=500, timeout=0.5)
        empty = 0 if batch else empty + 1
        got.extend(batch)
    return got


def records(n: int, keys: int = 5) -> list[tuple[bytes | None, bytes]]:
    return [(f"k{i % keys}".encode(), f"v{i}".encode()) for i in range(n)]


def test_everything_published_is_delivered_once_per_group(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    bus.publish(topic, records(100))
    consumer = bus.consumer(topic, group())
    got = drain(consumer, 100)
    consumer.commit()
    consumer.close()
    assert sorted(m.value for m in got) == sorted(v for _, v in records(100))


def test_records_with_one_key_keep_their_order(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    for chunk in range(5):  # several publishes, as a crawler would
        bus.publish(
            topic,
            [(b"brand-a", f"{chunk}-{i}".encode()) for i in range(20)]
            + [(b"brand-b", f"{chunk}-{i}".encode()) for i in range(20)],
        )
    consumer = bus.consumer(topic, group())
    got = drain(consumer, 200)
    consumer.close()
    for key in (b"brand-a", b"brand-b"):
        values = [m.value.decode() for m in got if m.key == key]
        assert values == [f"{c}-{i}" for c in range(5) for i in range(20)]


def test_uncommitted_records_are_delivered_again(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    bus.publish(topic, records(30))
    name = group()
    first = bus.consumer(topic, name)
    assert len(drain(first, 30)) == 30
    first.close()  # no commit: as if the worker died mid-batch

    second = make_bus().consumer(topic, name)
    again = drain(second, 30)
    second.close()
    assert sorted(m.value for m in again) == sorted(v for _, v in records(30))


def test_a_group_resumes_after_its_committed_offsets(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    bus.publish(topic, records(20))
    name = group()
    first = bus.consumer(topic, name)
    assert len(drain(first, 20)) == 20
    first.commit()
    first.close()
    bus.publish(topic, [(b"k0", b"late")])

    second = make_bus().consumer(topic, name)
    got = drain(second, 1)
    assert [m.value for m in got] == [b"late"]
    assert second.poll(timeout=0.5) == []
    second.close()
    assert bus.lag(topic, name) == 1  # the late record is delivered but not committed


def test_groups_are_independent(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    bus.publish(topic, records(40))
    a, b = bus.consumer(topic, group()), bus.consumer(topic, group())
    got_a, got_b = drain(a, 40), drain(b, 40)
    a.close()
    b.close()
    assert len(got_a) == len(got_b) == 40


def test_members_of_a_group_share_the_partitions(make_bus: BusFactory, topic: str) -> None:
    name = group()
    one = make_bus().consumer(topic, name)
    two = make_bus().consumer(topic, name)
    one.poll(timeout=0.2)  # both have joined before anything is published
    two.poll(timeout=0.2)
    one.poll(timeout=0.2)
    make_bus().publish(topic, records(200, keys=50))
    got_one: list[Message] = []
    got_two: list[Message] = []
    for _ in range(40):
        got_one += one.poll(timeout=0.2)
        got_two += two.poll(timeout=0.2)
        if len(got_one) + len(got_two) >= 200:
            break
    one.commit()
    two.commit()
    one.close()
    two.close()
    values = [m.value for m in got_one + got_two]
    assert sorted(values) == sorted(v for _, v in records(200, keys=50))
    assert got_one, "each member should own some partitions"
    assert got_two, "each member should own some partitions"
    assert not {(m.partition, m.offset) for m in got_one} & {
        (m.partition, m.offset) for m in got_two
    }


def test_lag_counts_what_a_group_has_not_committed(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    name = group()
    consumer = bus.consumer(topic, name)
    consumer.poll(timeout=0.2)
    bus.publish(topic, records(12))
    assert bus.lag(topic, name) == 12
    drain(consumer, 12)
    consumer.commit()
    consumer.close()
    assert bus.lag(topic, name) == 0
    assert sum(bus.end_offsets(topic).values()) == 12


def test_peek_shows_the_latest_records_without_joining(make_bus: BusFactory, topic: str) -> None:
    bus = make_bus()
    bus.publish(topic, [(None, f"dead-{i}".encode()) for i in range(5)])
    peeked = bus.peek(topic, limit=10)
    assert sorted(m.value for m in peeked) == sorted(f"dead-{i}".encode() for i in range(5))


def _publish_from_process(spec: BusSpec, topic: str, worker: int) -> None:
    bus = open_bus(spec[0], **spec[1])
    for batch in range(10):
        bus.publish(
            topic, [(f"w{worker}".encode(), f"{worker}-{batch}-{i}".encode()) for i in range(10)]
        )
    bus.close()


@pytest.mark.slow
def test_several_processes_publish_at_once(
    make_bus: BusFactory, bus_spec: BusSpec, topic: str
) -> None:
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_publish_from_process, args=(bus_spec, topic, w)) for w in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
        assert process.exitcode == 0
    consumer = make_bus().consumer(topic, group())
    got = drain(consumer, 400)
    consumer.close()
    assert sorted(m.value for m in got) == sorted(
        f"{w}-{b}-{i}".encode() for w in range(4) for b in range(10) for i in range(10)
    )
    for w in range(4):  # each process's records stay in the order it published them
        mine = [m.value.decode() for m in got if m.key == f"w{w}".encode()]
        assert mine == [f"{w}-{b}-{i}" for b in range(10) for i in range(10)]


def _take_then_hang(spec: BusSpec, topic: str, name: str, took: Any) -> None:
    """A member that takes records, commits nothing, and hangs until it is killed."""
    consumer = open_bus(spec[0], **spec[1]).consumer(topic, name)
    for _ in range(240):
        if consumer.poll(max_records=500, timeout=0.5):
            took.set()
            break
    time.sleep(600)


def test_a_member_that_dies_hands_its_partitions_over(
    make_bus: BusFactory, topic: str, bus_spec: BusSpec
) -> None:
    name = group()
    survivor = make_bus().consumer(topic, name)
    got = survivor.poll(timeout=0.1)
    context = multiprocessing.get_context("spawn")
    took = context.Event()
    doomed = context.Process(target=_take_then_hang, args=(bus_spec, topic, name, took))
    doomed.start()
    publisher = make_bus()
    published: list[bytes] = []
    try:
        # A little at a time, the survivor taking (and committing) its share, until the other
        # member, once it has joined, has taken some too.
        deadline = time.monotonic() + 120
        while not took.is_set() and time.monotonic() < deadline:
            batch = [
                (f"k{len(published) + i}".encode(), f"v{len(published) + i}".encode())
                for i in range(10)
            ]
            publisher.publish(topic, batch)
            published += [v for _, v in batch]
            got += survivor.poll(max_records=500, timeout=0.2)
            survivor.commit()
        assert took.is_set(), "the doomed member took records"
    finally:
        doomed.kill()  # no commit, no goodbye
        doomed.join(10)
    # After its session timeout, the survivor owns its partitions and gets what it had taken.
    got += drain(survivor, len(published) - len(got), attempts=60)
    survivor.close()
    assert sorted(m.value for m in got) == sorted(published)
