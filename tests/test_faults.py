"""Faults on the scale-out stack, each against real servers and real worker processes:

- enrich and index workers killed with SIGKILL in the middle of their batches, then restarted:
  Elasticsearch ends with every mention exactly once;
- Elasticsearch out of reach for 30 s: the index worker waits, resumes, and loses nothing;
- the Kafka broker restarted under a running pipeline and a publisher: both recover, and
  nothing is lost.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from index.elastic import ElasticStore
from index.settings import ElasticSettings, StoreSettings
from ingest.errors import BusUnavailable
from ingest.kafka import KafkaBus
from ingest.record import Mention
from ingest.store import Filters
from ingest.topics import Topics, partition_key
from tests.support.backends import ELASTICSEARCH_ENV, KAFKA_ENV, kafka_options, server_url, unique
from tests.support.faults import TcpProxy
from tests.support.mentions import make_mention
from tests.support.waiting import wait_for

pytestmark = pytest.mark.slow


class Stack:
    """A fresh corner of the test Kafka and Elasticsearch (own topics, own index), the
    configuration that points Veille at it, and the worker processes started on it."""

    def __init__(self, tmp_path: Path, store_url: str | None = None) -> None:
        self.tmp_path = tmp_path
        self.kafka = server_url(KAFKA_ENV, "Kafka")
        self.elastic = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
        self.topics = Topics(unique("t"))
        self.settings = ElasticSettings(index_prefix=unique("test-"))
        self.config = tmp_path / "veille.yaml"
        self.config.write_text(
            json.dumps(
                {
                    "data_dir": str(tmp_path / "data"),
                    "brands": [{"name": "Acme", "query": "acme"}],
                    "bus": {"url": self.kafka, "topic_prefix": self.topics.prefix},
                    "store": {
                        "url": store_url or self.elastic,
                        "elastic": {"index_prefix": self.settings.index_prefix},
                    },
                    "runner": {"batch_size": 50, "poll_timeout": "0.2s", "retry_max": "2s"},
                }
            )
        )
        self.bus = KafkaBus.from_url(self.kafka, **kafka_options())
        self.bus.ensure_topics(self.topics.all())
        self.store = ElasticStore.from_url(self.elastic, StoreSettings(elastic=self.settings))
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *command: str) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"{'-'.join(command)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "veille.cli", "--config", str(self.config), *command],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.processes.append(process)
        return process

    def log(self, *command: str) -> str:
        return (self.tmp_path / f"{'-'.join(command)}.log").read_text()

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        """`wait_for`, with the end of every worker's log when it times out."""
        try:
            wait_for(condition, timeout, what)
        except AssertionError as exc:
            logs = "\n".join(
                f"--- {log.name}\n{log.read_text()[-2000:]}" for log in self.tmp_path.glob("*.log")
            )
            raise AssertionError(f"{exc}\n{logs}") from None

    def publish(self, topic: str, mentions: Sequence[Mention]) -> None:
        """Publish as a source would: a batch that was not acknowledged is sent again."""
        records = [(partition_key(m), m.to_json()) for m in mentions]
        deadline = time.monotonic() + 120
        while True:
            try:
                self.bus.publish(topic, records)
                return
            except BusUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def stored(self) -> list[str]:
        self.store.refresh()  # the workers' last writes, not yet refreshed
        return [m.id for m in self.store.search(Filters(), size=5000).hits]

    def count(self) -> int:
        self.store.refresh()
        return self.store.count(Filters())

    def dead_letters(self) -> int:
        return sum(self.bus.end_offsets(self.topics.dead).values())

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        process.send_signal(signal.SIGTERM)
        return process.wait(60)

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
        self.store.drop()
        self.store.close()
        self.bus.close()


@contextmanager
def stack(tmp_path: Path, store_url: str | None = None) -> Iterator[Stack]:
    instance = Stack(tmp_path, store_url)
    try:
        yield instance
    finally:
        instance.close()


def raw(n: int, tag: str) -> list[Mention]:
    """``n`` raw mentions; three in four are about Acme (the others are dropped by enrich)."""
    return [
        make_mention(
            f"{'Acme' if i % 4 else 'Globex'} {tag} numéro {i} : le service client répond vite",
            lang="fr",
        )
        for i in range(n)
    ]


def about_acme(mentions: Sequence[Mention]) -> set[str]:
    return {m.id for m in mentions if "Acme" in m.text}


def test_workers_killed_mid_batch_leave_every_mention_once(tmp_path: Path) -> None:
    mentions = raw(3000, "crash")
    expected = about_acme(mentions)
    with stack(tmp_path) as s:
        s.publish(s.topics.raw, mentions)
        enrich, index = s.start("enrich"), s.start("index", "run")
        # Patient: a member left out of its group by a start-up rebalance joins again after
        # join_timeout (60 s; see KafkaTopicConsumer._watch_membership).
        s.wait(lambda: s.count() >= 100, 360, "the first mentions indexed")
        for process in (enrich, index):
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        assert 0 < s.count() < len(expected), "the kill should land in the middle of the work"

        # Restarted (--once: what is waiting, then exit); each first waits for the group to
        # hand over the partitions the killed member held.
        for command in (("enrich", "--once"), ("index", "run", "--once")):
            process = s.start(*command)
            assert process.wait(180) == 0, s.log(*command)[-3000:]
        stored = s.stored()
        assert len(stored) == len(set(stored)) == len(expected)
        assert set(stored) == expected
        assert s.bus.lag(s.topics.raw, s.topics.group("enrich")) == 0
        assert s.bus.lag(s.topics.enriched, s.topics.group("index")) == 0
        assert s.dead_letters() == 0


def test_elasticsearch_out_of_reach_for_30s_loses_nothing(tmp_path: Path) -> None:
    es = urlsplit(server_url(ELASTICSEARCH_ENV, "Elasticsearch"))
    proxy = TcpProxy(es.hostname or "127.0.0.1", es.port or 9200).start()
    try:
        with stack(tmp_path, f"http://127.0.0.1:{proxy.port}") as s:
            before = [make_mention(f"Acme avant {i}", brands=("Acme",)) for i in range(300)]
            during = [make_mention(f"Acme pendant {i}", brands=("Acme",)) for i in range(300)]
            worker = s.start("index", "run")
            s.publish(s.topics.enriched, before)
            s.wait(lambda: s.count() == 300, 60, "the first mentions indexed")

            proxy.cut()
            s.publish(s.topics.enriched, during)
            outage = time.monotonic()
            while time.monotonic() - outage < 30:
                assert worker.poll() is None, s.log("index", "run")[-3000:]
                time.sleep(1)
            assert s.count() == 300
            assert "retry" in s.log("index", "run")

            proxy.restore()
            s.wait(lambda: s.count() == 600, 90, "the index worker to resume")
            s.wait(
                lambda: s.bus.lag(s.topics.enriched, s.topics.group("index")) == 0, 30, "commits"
            )
            assert s.stop(worker) == 0
            assert set(s.stored()) == {m.id for m in before + during}
            assert s.dead_letters() == 0
    finally:
        proxy.stop()


def _services() -> str:
    script = os.environ.get("TEST_SERVICES")
    if not script:
        server_url("TEST_SERVICES", "The scripts/services command that can restart Kafka")
    return str(script)


def test_a_kafka_restart_loses_nothing(tmp_path: Path) -> None:
    services = _services()
    first, second = raw(400, "avant"), raw(400, "pendant")
    with stack(tmp_path) as s:
        worker = s.start("run")
        s.publish(s.topics.raw, first)
        s.wait(lambda: s.count() == len(about_acme(first)), 120, "the first mentions")

        # The broker goes down and comes back while a source keeps publishing.
        publisher = threading.Thread(
            target=lambda: [s.publish(s.topics.raw, second[i : i + 40]) for i in range(0, 400, 40)]
        )
        restart = subprocess.run(
            [services, "stop", "kafka"], capture_output=True, text=True, timeout=120, check=False
        )
        assert restart.returncode == 0, restart.stderr
        publisher.start()
        time.sleep(3)
        restart = subprocess.run(
            [services, "start", "kafka"], capture_output=True, text=True, timeout=180, check=False
        )
        assert restart.returncode == 0, restart.stderr
        publisher.join(180)
        assert not publisher.is_alive()

        expected = about_acme(first + second)
        s.wait(lambda: s.count() == len(expected), 180, "the pipeline to catch up")
        assert worker.poll() is None, "the workers recovered without restarting"
        assert s.stop(worker) == 0, s.log("run")[-3000:]
        stored = s.stored()
        assert len(stored) == len(set(stored))
        assert set(stored) == expected
        assert s.dead_letters() == 0
