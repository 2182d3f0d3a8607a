"""Hostile stores and files (issue 11): what a broken store, a damaged or foreign file, a busy
writer and a replay of dead letters do to the pipeline and the commands.

- A store that breaks (damaged file, full disk, read-only, locked; on Elasticsearch a closed or
  blocked index, 5xx, a mapping that is not Veille's) dead-letters nothing and commits nothing
  while it is broken; once repaired, every mention is stored once.
- Workers started while their store or bus is down wait, say so, and start when it comes back.
- Dead letters replay byte for byte to their topic, once, on both buses.
- Damaged or foreign files give one line naming the file, exit 1, from every command.
- Commands that only read answer while a writer holds every file's write lock.
- Data files are created 0600 in 0700 directories.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, reject
from hypothesis import strategies as st

from index.elastic import ElasticStore
from index.settings import ElasticSettings, StoreSettings
from index.sqlite import SqliteStore
from index.stage import IndexStage
from ingest.bus import Bus
from ingest.clock import FakeClock
from ingest.counters import MemoryCounters
from ingest.deadletter import EVERYTHING, DeadLetter, read_dead, replay
from ingest.errors import PermanentError, StoreBroken
from ingest.locallog import LocalLogBus
from ingest.record import Mention
from ingest.runner import Backoff, Stage, StageOutput, StageRunner
from ingest.store import Filters, MentionStore, Store
from ingest.topics import Topics, partition_key
from tests.support.backends import (
    BUSES,
    ELASTICSEARCH_ENV,
    DisposableElasticStore,
    elastic_store,
    server_url,
    unique,
)
from tests.support.faults import ElasticFaults, TcpProxy
from tests.support.mentions import make_mention
from tests.support.waiting import wait_for
from veille.app import App
from veille.backends import open_bus
from veille.cli import cli
from veille.demo.loopback import Reply, Request
from veille.settings import load_settings

pytestmark = pytest.mark.hostile

TOPICS = Topics()


def enriched(n: int, tag: str) -> list[Mention]:
    return [
        make_mention(f"Acme {tag} {i}", brands=("Acme",), sentiment="neutral") for i in range(n)
    ]


def publish(bus: Bus, topic: str, mentions: list[Mention]) -> None:
    bus.publish(topic, [(partition_key(m), m.to_json()) for m in mentions])


def letters(bus: Bus, topic: str = TOPICS.dead) -> list[DeadLetter]:
    return [letter for _, letter in read_dead(bus.peek(topic, EVERYTHING)).letters]


def index_runner(
    bus: Bus,
    store: MentionStore,
    *,
    stage: Stage | None = None,
    topics: Topics = TOPICS,
    clock: FakeClock | None = None,
    counters: MemoryCounters | None = None,
) -> StageRunner:
    """The index stage's runner on ``store`` (or ``stage`` in its place), retrying quickly."""
    return StageRunner(
        stage or IndexStage(store),
        bus,
        source_topic=topics.enriched,
        sink_topic=None,
        dead_topic=topics.dead,
        group=topics.group("index"),
        batch_size=50,
        poll_timeout=0.2,
        backoff=Backoff(initial=0.05, maximum=0.3, jitter=0),
        clock=clock,
        counters=counters or MemoryCounters(),
    )


def stored_ids(store: Store) -> list[str]:
    store.refresh()
    return sorted(m.id for batch in store.scan(Filters()) for m in batch)


# -- a SQLite store that breaks under the index stage ----------------------------------------------


def _garbage(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:] = bytes((i * 131 + 7) % 256 for i in range(len(data) - 4096))
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def _not_sqlite(path: Path) -> None:
    path.write_bytes(b"this is a backup of something else\n" * 200)


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": _garbage,
    "truncated": _truncate,
    "not sqlite": _not_sqlite,
}


def _forget_journal(path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_store_stops_the_index_stage_then_a_restored_one_gets_every_mention_once(
    tmp_path: Path, damage: str
) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    store.setup()
    first = enriched(20, "avant")
    publish(bus, TOPICS.enriched, first)
    index_runner(bus, store).run(threading.Event(), until_idle=True)
    store.close()
    shutil.copy(path, tmp_path / "backup.db")

    # The store is damaged under a worker that had it open and set up.
    second = enriched(30, "pendant")
    publish(bus, TOPICS.enriched, second)
    store = SqliteStore(path)
    store.setup()
    stage_store = store
    store.close()
    DAMAGE[damage](path)
    with pytest.raises(StoreBroken, match=str(path)):
        index_runner(bus, stage_store).run(threading.Event(), until_idle=True)
    assert letters(bus) == []
    assert bus.lag(TOPICS.enriched, "index") == len(second)

    shutil.copy(tmp_path / "backup.db", path)
    _forget_journal(path)
    restored = SqliteStore(path)
    index_runner(bus, restored).run(threading.Event(), until_idle=True)
    assert stored_ids(restored) == sorted(m.id for m in first + second)
    assert letters(bus) == []
    assert bus.lag(TOPICS.enriched, "index") == 0


class Repairing(FakeClock):
    """A clock for the runner's retries: at each sleep it checks the pipeline (``check``), and
    at the ``after``-th it repairs the store; it stops the runner if retries never end."""

    def __init__(self, check: Callable[[], None], repair: Callable[[], None], after: int) -> None:
        super().__init__()
        self.check, self.repair, self.after = check, repair, after

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        super().sleep(seconds, stop)
        self.check()
        if len(self.slept) == self.after:
            self.repair()
        return len(self.slept) > 20


def _full(conn: sqlite3.Connection) -> Callable[[], None]:
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")
    return lambda: conn.execute("PRAGMA max_page_count = 1073741823").fetchone()


def _read_only(conn: sqlite3.Connection) -> Callable[[], None]:
    conn.execute("PRAGMA query_only = ON")
    return lambda: None  # the file itself was never read-only: reopening it is the repair


@pytest.mark.parametrize(
    "fault", [_full, _read_only], ids=["disk full (SQLITE_FULL)", "read-only (SQLITE_READONLY)"]
)
def test_a_store_that_refuses_writes_pauses_the_stage_then_writes_each_mention_once(
    tmp_path: Path, fault: Callable[[sqlite3.Connection], Callable[[], None]]
) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    mentions = enriched(40, "plein")
    publish(bus, TOPICS.enriched, mentions)
    repair = fault(store.db.connection())  # the connection the runner uses: this thread's

    def check() -> None:
        assert letters(bus) == []
        assert bus.lag(TOPICS.enriched, "index") == len(mentions)

    clock = Repairing(check, repair, after=3)
    index_runner(bus, store, clock=clock).run(threading.Event(), until_idle=True)
    assert clock.slept, "the store should have refused the first write"
    assert len(clock.slept) <= 20, "the stage never wrote again"
    assert stored_ids(store) == sorted(m.id for m in mentions)
    assert letters(bus) == []
    assert bus.lag(TOPICS.enriched, "index") == 0


@pytest.fixture
def background() -> Iterator[Callable[[StageRunner], None]]:
    """Run runners in threads; stopped and joined after the test."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(runner: StageRunner) -> None:
        thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(30)


def test_a_locked_store_pauses_the_stage_then_it_writes_each_mention_once(
    tmp_path: Path, background: Callable[[StageRunner], None]
) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
    store = SqliteStore(tmp_path / "store.db", lock_timeout=0.2)
    store.setup()
    mentions = enriched(25, "verrou")
    publish(bus, TOPICS.enriched, mentions)
    holder = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    counters = MemoryCounters()
    background(index_runner(bus, store, counters=counters))
    wait_for(lambda: counters.read().get("index", {}).get("retries", 0) >= 3, 30, "retries")
    assert letters(bus) == []
    assert bus.lag(TOPICS.enriched, "index") == len(mentions)

    holder.execute("ROLLBACK")
    wait_for(lambda: bus.lag(TOPICS.enriched, "index") == 0, 30, "the stage to catch up")
    assert stored_ids(store) == sorted(m.id for m in mentions)
    assert letters(bus) == []


# -- Elasticsearch refusing writes -----------------------------------------------------------------


class Failing5xx(ElasticFaults):
    """A proxy to Elasticsearch that answers bulk writes with 503 "all shards failed" while
    ``down`` is set."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.down = False

    def handle(self, request: Request) -> Reply:
        if self.down and request.path.split("?")[0].endswith("/_bulk"):
            body = {
                "error": {
                    "type": "search_phase_execution_exception",
                    "reason": "all shards failed",
                },
                "status": 503,
            }
            headers = [("content-type", "application/json"), ("X-Elastic-Product", "Elasticsearch")]
            return Reply(503, headers, json.dumps(body).encode())
        return super().handle(request)


def _index_setting(name: str) -> tuple[Callable[[ElasticStore], None], Callable[..., None]]:
    def block(store: ElasticStore) -> None:
        store.client.indices.put_settings(index=store.index, settings={name: True})

    def lift(store: ElasticStore) -> None:
        store.client.indices.put_settings(index=store.index, settings={name: None})

    return block, lift


def _closed() -> tuple[Callable[[ElasticStore], None], Callable[..., None]]:
    def close(store: ElasticStore) -> None:
        store.client.indices.close(index=store.index)

    def reopen(store: ElasticStore) -> None:
        store.client.indices.open(index=store.index, wait_for_active_shards=1)

    return close, reopen


ELASTIC_REFUSALS = {
    "index closed": _closed(),
    "index write block": _index_setting("index.blocks.write"),
    "flood-stage block (429)": _index_setting("index.blocks.read_only_allow_delete"),
}


@pytest.mark.parametrize("refusal", [*ELASTIC_REFUSALS, "503 all shards failed"])
def test_elasticsearch_refusing_writes_pauses_the_stage_then_it_writes_each_mention_once(
    tmp_path: Path, refusal: str, background: Callable[[StageRunner], None]
) -> None:
    url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    proxy = Failing5xx(url).start() if refusal.startswith("503") else None
    settings = StoreSettings(elastic=ElasticSettings(index_prefix=unique("hostile-")))
    store = DisposableElasticStore.from_url(
        proxy.url if proxy else url, settings, bulk_retries=1, initial_backoff=0.05
    )
    try:
        bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
        mentions = enriched(30, "bloc")
        publish(bus, TOPICS.enriched, mentions)
        if proxy is not None:
            proxy.down = True
        else:
            ELASTIC_REFUSALS[refusal][0](store)
        counters = MemoryCounters()
        background(index_runner(bus, store, counters=counters))
        wait_for(lambda: counters.read().get("index", {}).get("retries", 0) >= 2, 60, "retries")
        assert letters(bus) == []
        assert bus.lag(TOPICS.enriched, "index") == len(mentions)

        if proxy is not None:
            proxy.down = False
        else:
            ELASTIC_REFUSALS[refusal][1](store)
        wait_for(lambda: bus.lag(TOPICS.enriched, "index") == 0, 90, "the stage to catch up")
        assert stored_ids(store) == sorted(m.id for m in mentions)
        assert letters(bus) == []
    finally:
        store.close()
        if proxy is not None:
            proxy.stop()


def test_an_elasticsearch_index_that_is_not_veilles_stops_the_stage(tmp_path: Path) -> None:
    store = elastic_store(bulk_retries=1, initial_backoff=0.05)
    try:
        bus = LocalLogBus(tmp_path / "bus.db", partitions=2)
        mentions = enriched(12, "autre")
        publish(bus, TOPICS.enriched, mentions)
        # An index made by something else under Veille's alias: strict, with other fields.
        client = store.client
        client.indices.delete(index=store.index)
        client.indices.delete_index_template(name=store.alias)
        client.indices.create(
            index=store.index,
            mappings={"dynamic": "strict", "properties": {"id": {"type": "keyword"}}},
            aliases={store.alias: {"is_write_index": True}},
        )
        with pytest.raises(StoreBroken, match="veille index setup"):
            index_runner(bus, store).run(threading.Event(), until_idle=True)
        assert letters(bus) == []
        assert bus.lag(TOPICS.enriched, "index") == len(mentions)

        store.drop()
        store.setup()
        index_runner(bus, store).run(threading.Event(), until_idle=True)
        assert stored_ids(store) == sorted(m.id for m in mentions)
    finally:
        store.close()


# -- workers started while their store or bus is down ---------------------------------------------


def _config(tmp_path: Path, **overrides: Any) -> Path:
    config: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Acme", "query": "acme"}],
        "runner": {"poll_timeout": "0.2s", "retry_max": "1s"},
        "enrich": {"entities": {"enabled": False}},
    }
    config.update(overrides)
    path = tmp_path / "veille.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return path


def _worker(config: Path, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child writes to its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "veille.cli", "--config", str(config), *args],
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


@pytest.mark.slow
def test_an_index_worker_started_while_elasticsearch_is_down_waits_and_then_indexes(
    tmp_path: Path,
) -> None:
    url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
    host, port = url.split("://")[1].split(":")
    proxy = TcpProxy(host, int(port)).start()
    proxy.cut()
    prefix = unique("hostile-")
    config = _config(
        tmp_path,
        store={
            "url": f"http://127.0.0.1:{proxy.port}",
            "elastic": {"index_prefix": prefix, "request_timeout": "5s"},
        },
    )
    mentions = enriched(15, "attente")
    with App(load_settings(config)) as app:
        publish(app.bus, app.topics.enriched, mentions)
    log = tmp_path / "index.log"
    worker = _worker(config, log, "index", "run")
    settings = StoreSettings(elastic=ElasticSettings(index_prefix=prefix))
    try:
        wait_for(lambda: "waiting to start" in log.read_text(), 30, "the worker to say it waits")
        time.sleep(2)
        assert worker.poll() is None, log.read_text()
        assert "out of reach" in log.read_text()

        proxy.restore()
        store: ElasticStore | None = None

        def indexed() -> bool:
            nonlocal store
            try:
                store = store or ElasticStore.from_url(url, settings)
                return store.count(Filters()) == len(mentions)
            except Exception:
                return False

        wait_for(indexed, 90, "the worker to index the backlog once Elasticsearch is back")
        assert _stop(worker) == 0, log.read_text()[-2000:]
        assert store is not None
        assert stored_ids(store) == sorted(m.id for m in mentions)
        store.drop()
        store.close()
    finally:
        _stop(worker)
        proxy.stop()


def _closed_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.slow
def test_an_index_worker_started_while_kafka_is_down_waits_until_stopped(tmp_path: Path) -> None:
    config = _config(tmp_path, bus={"url": f"kafka://127.0.0.1:{_closed_port()}"})
    log = tmp_path / "index.log"
    worker = _worker(config, log, "index", "run")
    try:
        wait_for(lambda: "no broker answers" in log.read_text(), 60, "the worker to say why")
        time.sleep(2)
        assert worker.poll() is None, log.read_text()
    finally:
        assert _stop(worker) == 0, log.read_text()[-2000:]


# -- dead letters replay ---------------------------------------------------------------------------


class Refusing:
    """A stage that refuses for good every mention whose text says so, while ``refusing``."""

    name = "index"

    def __init__(self, inner: IndexStage) -> None:
        self.inner = inner
        self.refusing = True

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        if self.refusing and any("refusé" in m.text for m in batch):
            raise PermanentError("refusé pour de bon")
        return self.inner.process(batch)


@pytest.mark.parametrize("bus_name", BUSES)
def test_replay_republishes_each_dead_letter_once_and_the_store_holds_each_mention_once(
    tmp_path: Path, bus_name: str
) -> None:
    url, options = BUSES[bus_name](tmp_path)
    topics = Topics(prefix=unique("hostile."))
    bus = open_bus(url, **options)
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    good = enriched(7, "bon")
    refused = [
        make_mention(f"Acme refusé {i}", brands=("Acme",), sentiment="neutral") for i in range(5)
    ]
    publish(bus, topics.enriched, good + refused)
    stage = Refusing(IndexStage(store))

    def run() -> None:
        runner = index_runner(bus, store, stage=stage, topics=topics)
        runner.run(threading.Event(), until_idle=True)

    try:
        run()
        assert sorted(str(d.mention_id) for d in letters(bus, topics.dead)) == sorted(
            m.id for m in refused
        )
        assert stored_ids(store) == sorted(m.id for m in good)
        before = sum(bus.end_offsets(topics.enriched).values())

        dry = replay(bus, topics.dead, dry_run=True)
        assert len(dry.chosen) == len(refused)
        assert sum(bus.end_offsets(topics.enriched).values()) == before

        stage.refusing = False
        assert replay(bus, topics.dead, reason="no such reason").chosen == []
        done = replay(bus, topics.dead, reason="REFUSÉ", stage="index")
        assert dict(done.by_topic) == {topics.enriched: len(refused)}
        run()
        assert stored_ids(store) == sorted(m.id for m in good + refused)

        again = replay(bus, topics.dead)
        assert again.chosen == []
        assert again.replayed_before == len(refused)
        assert sum(bus.end_offsets(topics.enriched).values()) == before + len(refused)
        run()
        assert stored_ids(store) == sorted(m.id for m in good + refused)
        assert len(letters(bus, topics.dead)) == len(refused)
    finally:
        bus.close()
        store.close()


class RefuseAll:
    name = "enrich"

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        raise PermanentError("refused")


_texts = st.text(st.characters(codec="utf-8"), max_size=200)


@st.composite
def mention_records(draw: st.DrawFn) -> bytes:
    """Any mention, as the bytes a crawler publishes."""
    text, title, author = draw(_texts), draw(st.none() | _texts), draw(st.none() | _texts)
    try:
        return make_mention(text, title=title, author=author).to_json()
    except ValueError:  # a title or an author the record refuses: not a mention
        reject()


def test_any_record_dead_lettered_then_replayed_arrives_byte_identical_on_its_topic(
    tmp_path: Path,
) -> None:
    bus = LocalLogBus(tmp_path / "bus.db", partitions=3)

    @given(
        value=st.binary(max_size=300) | mention_records(),
        key=st.none() | st.binary(max_size=40),
    )
    def round_trip(value: bytes, key: bytes | None) -> None:
        topics = Topics(prefix=unique("p."))
        bus.publish(topics.raw, [(key, value)])
        StageRunner(
            RefuseAll(),
            bus,
            source_topic=topics.raw,
            sink_topic=topics.enriched,
            dead_topic=topics.dead,
            poll_timeout=0.05,
            clock=FakeClock(),
        ).run_once()
        (letter,) = letters(bus, topics.dead)
        assert letter.topic == topics.raw
        assert replay(bus, topics.dead).by_topic == {topics.raw: 1}
        original, replayed = bus.peek(topics.raw, 10)
        assert (replayed.key, replayed.value) == (original.key, original.value) == (key, value)
        assert replay(bus, topics.dead).chosen == []

    round_trip()
    bus.close()


# -- damaged and foreign files, from every command -------------------------------------------------


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory the pipeline has used: every file exists, with mentions and letters."""
    root = tmp_path_factory.mktemp("installation")
    config = _config(root)
    with App(load_settings(config)) as app:
        raw = [make_mention(f"Acme est génial {i}") for i in range(6)]
        publish(app.bus, app.topics.raw, raw)
        app.bus.publish(app.topics.raw, [(None, b"{not a mention")])
        app.drain()
        _ = app.feed_state, app.crawl_state
    return root


FILES = {
    "store": "data/veille.db",
    "bus": "data/bus.db",
    "counters": "data/state/counters.db",
    "alerts": "data/state/alerts.db",
    "feeds": "data/state/feeds.db",
}
COMMANDS = [
    ["status"],
    ["search", "acme"],
    ["report"],
    ["dead"],
    ["dead", "replay", "--dry-run"],
    ["alerts", "list"],
    ["authors", "top"],
    ["index", "run", "--once"],
]


def _foreign(path: Path) -> None:
    path.unlink()
    _forget_journal(path)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.close()


def _copy(installation: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(installation, copy)
    return _config(copy)


@pytest.mark.parametrize("damage", [*DAMAGE, "foreign"])
@pytest.mark.parametrize("name", FILES)
def test_a_damaged_or_foreign_file_gives_one_line_naming_it_from_every_command(
    installation: Path, tmp_path: Path, name: str, damage: str
) -> None:
    config = _copy(installation, tmp_path)
    path = tmp_path / "copy" / FILES[name]
    _forget_journal(path)
    (_foreign if damage == "foreign" else DAMAGE[damage])(path)
    failed: list[str] = []
    for command in COMMANDS:
        result = CliRunner().invoke(cli, ["--config", str(config), *command])
        if not isinstance(result.exception, SystemExit | None):
            raise AssertionError(f"{command}: raised {result.exception!r}") from result.exception
        assert "Traceback" not in result.output + result.stderr, command
        if result.exit_code == 0:
            continue
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert result.exit_code == 1, (command, result.stderr)
        assert len(errors) == 1, (command, result.stderr)
        assert str(path) in errors[0], (command, errors[0])
        failed.append(" ".join(command))
    assert failed, f"no command noticed that {FILES[name]} is {damage}"


@pytest.mark.slow
def test_veille_run_on_a_damaged_store_stops_in_one_line_and_dead_letters_nothing(
    installation: Path, tmp_path: Path
) -> None:
    config = _copy(installation, tmp_path)
    with App(load_settings(config)) as app:
        publish(app.bus, app.topics.enriched, enriched(10, "run"))
    store = tmp_path / "copy" / FILES["store"]
    _forget_journal(store)
    _garbage(store)
    log = tmp_path / "run.log"
    worker = _worker(config, log, "run")
    try:
        code = worker.wait(90)
    finally:
        _stop(worker)
    text = log.read_text()
    assert code == 1, text[-2000:]
    assert "Traceback" not in text
    assert f"index stopped: {store}" in text
    with App(load_settings(config)) as app:
        assert [d.stage for d in letters(app.bus)] == ["enrich"]  # the installation's own
        assert app.bus.lag(app.topics.enriched, "index") == 10


# -- commands that only read, while a writer holds every file ------------------------------------


READ_COMMANDS = [
    ["status"],
    ["search", "acme"],
    ["report"],
    ["dead"],
    ["alerts", "list"],
    ["authors", "top"],
]


@pytest.mark.slow
def test_read_only_commands_answer_while_a_writer_holds_every_file(
    installation: Path, tmp_path: Path
) -> None:
    config = _copy(installation, tmp_path)
    data = tmp_path / "copy" / "data"
    files = [data / "bus.db", data / "veille.db", *sorted((data / "state").glob("*.db"))]
    holders = [sqlite3.connect(f, isolation_level=None) for f in files]
    for holder in holders:
        holder.execute("BEGIN IMMEDIATE")
    timings: dict[str, float] = {}
    try:
        for command in READ_COMMANDS:
            start = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "veille.cli", "--config", str(config), *command],
                capture_output=True,
                text=True,
                check=False,
                timeout=25,  # the SQLite lock timeout is 30 s: a command that waits fails here
            )
            timings[" ".join(command)] = round(time.monotonic() - start, 2)
            assert done.returncode == 0, (command, done.stderr[-2000:])
            assert "locked" not in done.stderr
    finally:
        for holder in holders:
            holder.execute("ROLLBACK")
            holder.close()
    print(f"read-only commands while every file is write-locked (s): {timings}")


# -- file modes ------------------------------------------------------------------------------------


def test_data_files_are_created_0600_in_0700_directories(installation: Path) -> None:
    data = installation / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "bus.db",
        "veille.db",
        "counters.db",
        "alerts.db",
        "feeds.db",
        "crawl.db",
    }
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for directory in [data, *(p for p in data.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_an_existing_data_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "veille.db"
    path.parent.mkdir(mode=0o755)
    SqliteStore(path).setup()
    os.chmod(path, 0o640)
    store = SqliteStore(path)
    store.setup()
    store.upsert(enriched(2, "mode"))
    store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
