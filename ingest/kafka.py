"""The scale-out bus: Apache Kafka (``kafka://host:9092[,host2:9092]``), with kafka-python.

It keeps the `ingest.bus` contract:

- `KafkaBus.publish` sends through one idempotent producer (``acks=all``, batched, compressed)
  and returns only when every record is acknowledged by all in-sync replicas; a record that is
  not acknowledged within ``delivery_timeout`` raises `BusUnavailable`, and the caller publishes
  the batch again (at least once). With idempotence, one key's records keep their order.
- A consumer joins its group with automatic commits off: `KafkaTopicConsumer.commit` commits what
  was polled, and the runner calls it only after the downstream write. A rebalance can only
  happen inside ``poll``, after the previous batch was committed, so a member never hands over a
  partition with handled but uncommitted records; a member evicted while busy (past
  ``max_poll_interval``) gets a failed commit, and its batch is delivered again to the new
  owner, which the idempotent writes absorb.
- Topics are created with the configured partitions and replication when first used (or by
  `KafkaBus.ensure_topics`); a new group starts at the earliest retained record.

Every Kafka failure surfaces as `BusUnavailable` (retried by the runner), or as `ConfigError`
when retrying cannot help (bad security settings, more replicas than brokers).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetSpec, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaConfigurationError, KafkaError
from kafka.structs import MemberState

from ingest.bus import Message, Record
from ingest.closing import Closing
from ingest.errors import BusUnavailable, ConfigError
from ingest.settings import BusSettings, KafkaSecurity

log = logging.getLogger(__name__)

T = TypeVar("T")

_TOPIC_EXISTS = 36


def client_config(security: KafkaSecurity | None) -> dict[str, Any]:
    """kafka-python's connection settings for ``security`` (PLAINTEXT when None)."""
    security = security or KafkaSecurity()
    config: dict[str, Any] = {"security_protocol": security.protocol}
    if security.protocol.startswith("SASL"):
        if not (security.sasl_mechanism and security.username and security.password):
            raise ConfigError(
                f"bus.security: {security.protocol} needs sasl_mechanism, username and password"
            )
        config.update(
            sasl_mechanism=security.sasl_mechanism,
            sasl_plain_username=security.username,
            sasl_plain_password=security.password.get_secret_value(),
        )
    if security.protocol.endswith("SSL"):
        config.update(
            ssl_cafile=security.ca_file,
            ssl_certfile=security.cert_file,
            ssl_keyfile=security.key_file,
        )
    return config


class KafkaBus(Closing):
    """A `Bus` on a Kafka cluster. Thread-safe: the producer and admin client are shared, each
    consumer belongs to the thread that polls it."""

    def __init__(
        self,
        servers: Sequence[str],
        *,
        partitions: int = 4,
        replication: int = 1,
        security: KafkaSecurity | None = None,
        client_id: str = "veille",
        compression: str | None = "lz4",
        linger: float = 0.005,
        batch_bytes: int = 256 * 1024,
        delivery_timeout: float = 30.0,
        connect_timeout: float = 30.0,
        session_timeout: float = 10.0,
        heartbeat_interval: float = 1.0,
        max_poll_interval: float = 300.0,
        join_timeout: float = 60.0,
    ) -> None:
        if not servers:
            raise ConfigError("a kafka:// URL needs at least one host:port")
        if partitions < 1 or replication < 1:
            raise ConfigError("partitions and replication must be at least 1")
        self.servers = list(servers)
        self.partitions = partitions
        self.replication = replication
        self.session_timeout = session_timeout
        self.heartbeat_interval = heartbeat_interval
        self.max_poll_interval = max_poll_interval
        self.join_timeout = join_timeout
        self.delivery_timeout = delivery_timeout
        self.connect_timeout = connect_timeout
        self._common = {
            "bootstrap_servers": self.servers,
            "client_id": client_id,
            "bootstrap_timeout_ms": int(connect_timeout * 1000),
            # Reconnect within seconds of a broker's return (kafka-python waits up to 30 s).
            "reconnect_backoff_max_ms": 2000,
            **client_config(security),
        }
        self._producer_config = {
            "acks": "all",
            "enable_idempotence": True,
            "compression_type": compression,
            "linger_ms": int(linger * 1000),
            "batch_size": batch_bytes,
            "delivery_timeout_ms": int(delivery_timeout * 1000),
            "request_timeout_ms": min(30_000, int(delivery_timeout * 500)),
            "max_block_ms": int(delivery_timeout * 1000),
            "allow_auto_create_topics": False,
        }
        self._lock = threading.Lock()
        self._producer: Any = None
        self._admin: Any = None
        self._known: set[str] = set()

    @classmethod
    def from_url(cls, url: str, settings: BusSettings | None = None, **tuning: Any) -> KafkaBus:
        """The cluster at ``kafka://HOST:PORT[,HOST:PORT]``, with the partitions, replication
        and security of ``settings``; ``tuning`` sets the other parameters of the constructor
        (tests shorten the session timeout)."""
        settings = settings or BusSettings()
        hosts = url.split("://", 1)[1].strip("/")
        return cls(
            [h.strip() for h in hosts.split(",") if h.strip()],
            partitions=settings.partitions,
            replication=settings.replication,
            security=settings.security,
            **tuning,
        )

    def __repr__(self) -> str:
        return f"KafkaBus({','.join(self.servers)})"

    # -- clients -------------------------------------------------------------------------------

    def _call(self, what: str, action: Callable[[], T]) -> T:
        """Run a client call; Kafka's failures become `BusUnavailable`."""
        try:
            return action()
        except KafkaConfigurationError as exc:
            raise ConfigError(f"Kafka client settings: {exc}") from exc
        except (KafkaError, OSError) as exc:
            raise BusUnavailable(f"Kafka {','.join(self.servers)}: {what} failed: {exc}") from exc

    def connect(self, factory: Callable[..., T], **config: Any) -> T:
        """A new kafka-python client, once a broker answers on TCP: a client whose bootstrap
        fails leaves threads and sockets behind, so none is made while no broker answers."""
        error: Exception | None = None
        for server in self.servers:
            host, _, port = server.rpartition(":")
            try:
                socket.create_connection(
                    (host.strip("[]"), int(port)), self.connect_timeout
                ).close()
                break
            except (OSError, ValueError) as exc:
                error = exc
        else:
            raise BusUnavailable(f"Kafka {','.join(self.servers)}: no broker answers ({error})")
        return self._call("connecting", lambda: factory(**self._common, **config))

    @property
    def admin(self) -> Any:
        with self._lock:
            if self._admin is None:
                self._admin = self.connect(KafkaAdminClient)
            return self._admin

    @property
    def producer(self) -> Any:
        with self._lock:
            if self._producer is None:
                self._producer = self.connect(KafkaProducer, **self._producer_config)
            return self._producer

    def _admin_call(self, what: str, action: Callable[[Any], T]) -> T:
        admin = self.admin
        with self._lock:  # one request at a time on the shared admin connection
            return self._call(what, lambda: action(admin))

    # -- topics --------------------------------------------------------------------------------

    def ensure_topics(self, topics: Sequence[str]) -> None:
        wanted = [t for t in dict.fromkeys(topics) if t not in self._known]
        if not wanted:
            return
        spec = {
            t: {"num_partitions": self.partitions, "replication_factor": self.replication}
            for t in wanted
        }
        result = self._admin_call(
            "creating topics",
            lambda a: a.create_topics(spec, raise_errors=False, wait_for_metadata=False),
        )
        for topic in result["topics"]:
            code = topic["error_code"]
            if code not in (0, _TOPIC_EXISTS):
                message = f"cannot create topic {topic['name']}: {topic['error_message']}"
                if "replication" in str(topic["error_message"]).lower():
                    raise ConfigError(f"{message} (bus.replication is {self.replication})")
                raise BusUnavailable(message)
        self._admin_call("waiting for topics", lambda a: a.wait_for_topics(wanted))
        self._known.update(wanted)

    def _partitions_of(self, topic: str) -> list[TopicPartition]:
        described = self._admin_call("describing a topic", lambda a: a.describe_topics([topic]))
        for info in described:
            if info["name"] == topic and info["error_code"] == 0:
                return [TopicPartition(topic, p["partition_index"]) for p in info["partitions"]]
        return []

    def _offsets(self, partitions: list[TopicPartition], spec: Any) -> dict[int, int]:
        if not partitions:
            return {}
        found = self._admin_call(
            "reading offsets",
            lambda a: a.list_partition_offsets({tp: spec for tp in partitions}),
        )
        return {tp.partition: int(o.offset) for tp, o in found.items()}

    # -- producing -----------------------------------------------------------------------------

    def publish(self, topic: str, records: Sequence[Record]) -> None:
        if not records:
            return
        self.ensure_topics([topic])
        producer = self.producer

        def send() -> list[Any]:
            futures = [producer.send(topic, key=key, value=value) for key, value in records]
            producer.flush(timeout=self.delivery_timeout)
            return futures

        futures = self._call(f"publishing to {topic}", send)
        failed = [f for f in futures if not f.succeeded()]
        if failed:
            reason = failed[0].exception or "no acknowledgement in time"
            raise BusUnavailable(
                f"Kafka: {len(failed)} of {len(records)} records to {topic} were not "
                f"acknowledged: {reason}"
            )

    # -- consuming -----------------------------------------------------------------------------

    def consumer(self, topic: str, group: str) -> KafkaTopicConsumer:
        self.ensure_topics([topic])
        return KafkaTopicConsumer(self, topic, group)

    def consumer_config(self, group: str | None) -> dict[str, Any]:
        return {
            "group_id": group,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "allow_auto_create_topics": False,
            "session_timeout_ms": int(self.session_timeout * 1000),
            "heartbeat_interval_ms": int(self.heartbeat_interval * 1000),
            "max_poll_interval_ms": int(self.max_poll_interval * 1000),
            # A member that missed partitions (metadata late at a rebalance) finds them within
            # this time, instead of kafka-python's default five minutes.
            "metadata_max_age_ms": 30_000,
        }

    def end_offsets(self, topic: str) -> dict[int, int]:
        return self._offsets(self._partitions_of(topic), OffsetSpec.LATEST)

    def lag(self, topic: str, group: str) -> int | None:
        partitions = self._partitions_of(topic)
        if not partitions:
            return None
        offsets = self._admin_call(
            "reading a group's offsets", lambda a: a.list_group_offsets({group: partitions})
        ).get(group, {})
        committed = {tp.partition: int(o.offset) for tp, o in offsets.items() if o.offset >= 0}
        if not committed:
            described = self._admin_call(
                "describing a group", lambda a: a.describe_groups([group])
            ).get(group, {})
            if described.get("group_state") in (None, "", "Dead"):
                return None
        # A partition the group has not committed yet is read from the earliest record.
        earliest = self._offsets(partitions, OffsetSpec.EARLIEST)
        latest = self._offsets(partitions, OffsetSpec.LATEST)
        return sum(latest[p] - max(committed.get(p, earliest[p]), earliest[p]) for p in latest)

    def peek(self, topic: str, limit: int = 100) -> list[Message]:
        partitions = self._partitions_of(topic)
        earliest = self._offsets(partitions, OffsetSpec.EARLIEST)
        latest = self._offsets(partitions, OffsetSpec.LATEST)
        wanted = {tp for tp in partitions if latest[tp.partition] > earliest[tp.partition]}
        if not wanted:
            return []
        reader = self.connect(KafkaConsumer, **self.consumer_config(None))
        messages: list[Message] = []
        try:
            reader.assign(list(wanted))
            for tp in wanted:
                reader.seek(tp, max(earliest[tp.partition], latest[tp.partition] - limit))
            deadline = time.monotonic() + 30
            while wanted and time.monotonic() < deadline:
                batch = self._call("reading", lambda: reader.poll(timeout_ms=500))
                for tp, records in batch.items():
                    messages.extend(_message(r) for r in records)
                    if records and records[-1].offset + 1 >= latest[tp.partition]:
                        wanted.discard(tp)
        finally:
            reader.close(autocommit=False)
        messages.sort(key=lambda m: (m.timestamp_ms, m.partition, m.offset))
        return messages[-limit:]

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                try:
                    self._producer.close(timeout=self.delivery_timeout)
                except KafkaError as exc:
                    log.warning("Kafka producer did not close cleanly: %s", exc)
                self._producer = None
            if self._admin is not None:
                self._admin.close()
                self._admin = None


def _message(record: Any) -> Message:
    return Message(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        timestamp_ms=record.timestamp,
    )


class _LogAssignments(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, topic: str, group: str) -> None:
        self.topic = topic
        self.group = group

    def on_partitions_revoked(self, revoked: Any) -> None:
        # Nothing to commit here: the runner commits each batch before it polls again, and a
        # rebalance only happens inside poll.
        if revoked:
            log.info(
                "group %s on %s: gave up partitions %s",
                self.group,
                self.topic,
                sorted(tp.partition for tp in revoked),
            )

    def on_partitions_assigned(self, assigned: Any) -> None:
        log.info(
            "group %s on %s: partitions now %s",
            self.group,
            self.topic,
            sorted(tp.partition for tp in assigned),
        )


class KafkaTopicConsumer:
    """One member of a consumer group on one topic."""

    def __init__(self, bus: KafkaBus, topic: str, group: str) -> None:
        self.bus = bus
        self.topic = topic
        self.group = group
        self._consumer: Any = self._join()
        self._joining_since: float | None = None

    def _join(self) -> Any:
        consumer = self.bus.connect(KafkaConsumer, **self.bus.consumer_config(self.group))
        # Know the topic's partitions before joining: a group leader that joins without them
        # assigns nothing, and would only notice at its next metadata refresh. A topic created
        # a moment ago may not be in the metadata yet, so wait until it is.
        deadline = time.monotonic() + self.bus.connect_timeout
        while not self.bus._call(
            f"reading {self.topic}'s metadata", lambda: consumer.partitions_for_topic(self.topic)
        ):
            if time.monotonic() > deadline:
                consumer.close(autocommit=False)
                raise BusUnavailable(f"Kafka: topic {self.topic} has no partitions in the metadata")
            time.sleep(0.2)
        consumer.subscribe([self.topic], listener=_LogAssignments(self.topic, self.group))
        return consumer

    def poll(self, max_records: int = 500, timeout: float = 1.0) -> list[Message]:
        if self._consumer is None:  # joining again failed: try again (BusUnavailable is retried)
            self._consumer = self._join()
        consumer = self._consumer
        batch = self.bus._call(
            f"polling {self.topic}",
            lambda: consumer.poll(timeout_ms=int(timeout * 1000), max_records=max_records),
        )
        messages = [_message(r) for records in batch.values() for r in records]
        if not messages:
            self._watch_membership()
        return messages

    def _watch_membership(self) -> None:
        """Start over, as a new member, if this one has been joining its group for longer than
        ``join_timeout``. A join normally takes well under a second; kafka-python has been seen
        (rarely, at start-up) to stay out of its group after a rebalance, forever, without an
        error. Records are committed after each batch, so nothing is held while joining."""
        coordinator = getattr(self._consumer, "_coordinator", None)
        stable = getattr(coordinator, "state", MemberState.STABLE) is MemberState.STABLE
        if stable and not getattr(coordinator, "need_rejoin", lambda: False)():
            self._joining_since = None
            return
        now = time.monotonic()
        if self._joining_since is None:
            self._joining_since = now
        elif now - self._joining_since > self.bus.join_timeout:
            log.warning(
                "group %s on %s: still joining after %.0f s; leaving and joining again",
                self.group,
                self.topic,
                now - self._joining_since,
            )
            self.close()
            self._joining_since = None
            self._consumer = None
            self._consumer = self._join()

    def assignment(self) -> list[int]:
        """The partitions this member owns now (empty until it has joined)."""
        if self._consumer is None:
            return []
        return sorted(tp.partition for tp in self._consumer.assignment())

    def commit(self) -> None:
        if self._consumer is None:
            return  # it left its group since the last batch, which will be delivered again
        try:
            self._consumer.commit()
        except CommitFailedError as exc:
            # This member was evicted from the group while it worked (a rebalance happened
            # without it): its partitions, and these records, are another member's now, and
            # will be delivered again there. Idempotent writes make that harmless.
            log.warning(
                "group %s on %s: commit refused after a rebalance; the batch will be delivered "
                "again (%s)",
                self.group,
                self.topic,
                exc,
            )
        except (KafkaError, OSError) as exc:
            raise BusUnavailable(f"Kafka: committing {self.topic} for {self.group}: {exc}") from exc

    def close(self) -> None:
        if self._consumer is None:
            return
        try:
            self._consumer.close(autocommit=False)
        except KafkaError as exc:
            log.warning(
                "group %s: did not leave cleanly (%s); its session will expire", self.group, exc
            )
