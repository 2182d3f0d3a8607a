"""What the Kafka bus owes beyond the bus contract: security settings, clear failures, and
rebalances that neither lose nor repeat what was committed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from kafka.structs import MemberState

from ingest.bus import Message
from ingest.errors import BusUnavailable, ConfigError
from ingest.kafka import KafkaBus, client_config
from ingest.settings import BusSettings, KafkaSecurity
from tests.support.backends import KAFKA_ENV, kafka_options, server_url, unique


def test_security_settings_reach_the_client() -> None:
    security = KafkaSecurity(
        protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        username="veille",
        password="pa55word",  # type: ignore[arg-type]
        ca_file="/etc/veille/ca.pem",
    )
    config = client_config(security)
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"
    assert config["sasl_plain_username"] == "veille"
    assert config["sasl_plain_password"] == "pa55word"
    assert config["ssl_cafile"] == "/etc/veille/ca.pem"
    assert client_config(None) == {"security_protocol": "PLAINTEXT"}
    with pytest.raises(ConfigError, match="needs sasl_mechanism, username and password"):
        client_config(KafkaSecurity(protocol="SASL_PLAINTEXT", username="veille"))
    assert "pa55word" not in repr(security)


def test_an_unreachable_cluster_raises_bus_unavailable() -> None:
    bus = KafkaBus(["127.0.0.1:1"], connect_timeout=1.0, delivery_timeout=2.0)
    with pytest.raises(BusUnavailable, match=r"127\.0\.0\.1:1"):
        bus.publish("mentions.raw", [(None, b"x")])
    bus.close()


@pytest.fixture
def bus() -> Iterator[KafkaBus]:
    instance = KafkaBus.from_url(server_url(KAFKA_ENV, "Kafka"), **kafka_options())
    yield instance
    instance.close()


def test_more_replicas_than_brokers_is_a_configuration_error() -> None:
    bus = KafkaBus.from_url(
        server_url(KAFKA_ENV, "Kafka"), BusSettings(replication=3), **kafka_options()
    )
    try:
        with pytest.raises(ConfigError, match="replication"):
            bus.ensure_topics([unique("test.")])
    finally:
        bus.close()


def test_an_unknown_group_has_no_lag_and_topics_get_the_configured_partitions(
    bus: KafkaBus,
) -> None:
    topic = unique("test.")
    bus.ensure_topics([topic, topic])
    bus.ensure_topics([topic])  # idempotent
    assert bus.end_offsets(topic) == {0: 0, 1: 0, 2: 0, 3: 0}
    assert bus.lag(topic, unique("nobody-")) is None


def test_a_member_joining_mid_stream_takes_over_from_the_committed_offsets(
    bus: KafkaBus,
) -> None:
    topic, group = unique("test."), unique("g-")
    bus.ensure_topics([topic])
    bus.publish(topic, [(f"k{i % 20}".encode(), f"a{i}".encode()) for i in range(200)])
    first = bus.consumer(topic, group)
    handled: list[Message] = []
    while len(handled) < 200:  # the first member alone handles and commits everything
        handled += first.poll(timeout=0.5)
        first.commit()
    second = bus.consumer(topic, group)
    while not second.assignment():  # both poll (nothing to read) until the group has settled
        assert not first.poll(timeout=0.2) + second.poll(timeout=0.2)
    assert set(first.assignment()).isdisjoint(second.assignment())
    bus.publish(topic, [(f"k{i % 20}".encode(), f"b{i}".encode()) for i in range(200)])
    by_member: dict[str, list[Message]] = {"first": [], "second": []}
    deadline = time.monotonic() + 60
    while sum(map(len, by_member.values())) < 200 and time.monotonic() < deadline:
        for name, member in (("first", first), ("second", second)):
            by_member[name] += member.poll(timeout=0.2)
            member.commit()
    first.close()
    second.close()
    later = [m.value.decode() for ms in by_member.values() for m in ms]
    # Nothing lost, nothing handed over twice: every commit came before the next poll.
    assert sorted(later) == sorted(f"b{i}" for i in range(200))
    assert by_member["second"], "the new member got partitions"
    assert bus.lag(topic, group) == 0


def test_a_member_stuck_joining_its_group_starts_over_and_reads_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """kafka-python was seen, rarely, to stay out of its group after a start-up rebalance,
    without an error. A member joining for longer than ``join_timeout`` leaves and joins again
    as a new member, and reads what waits."""
    bus = KafkaBus.from_url(server_url(KAFKA_ENV, "Kafka"), **kafka_options(), join_timeout=0.5)
    topic, group = unique("test."), unique("group-")
    try:
        bus.ensure_topics([topic])
        bus.publish(topic, [(b"k", f"m{i}".encode()) for i in range(5)])
        consumer = bus.consumer(topic, group)
        stuck = consumer._consumer
        # As seen: a JoinGroup that never completes, and polls that bring nothing.
        monkeypatch.setattr(stuck._coordinator, "ensure_active_group", lambda *a, **k: False)
        monkeypatch.setattr(stuck, "poll", lambda *a, **k: {})
        stuck._coordinator.state = MemberState.REBALANCING
        got: list[bytes] = []
        deadline = time.monotonic() + 60
        while len(got) < 5 and time.monotonic() < deadline:
            got += [m.value for m in consumer.poll(100, 0.2)]
        assert consumer._consumer is not stuck
        assert sorted(got) == [f"m{i}".encode() for i in range(5)]
        consumer.commit()
        assert bus.lag(topic, group) == 0
        consumer.close()
    finally:
        bus.close()
