"""``veille run`` with several enrich processes: how many it starts, that they store every
mention once, that SIGTERM stops them all, and the rule when one dies (everything stops with
exit code 1, and the next start replays what was in flight)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.sqlite import SqliteStore
from ingest.errors import ConfigError
from ingest.locallog import LocalLogBus
from ingest.store import Filters
from tests.support.news import acme_news, acme_sources, start_veille_run
from tests.support.waiting import wait_for
from veille import workers
from veille.demo.web import Routes, Web
from veille.settings import Settings, load_settings
from veille.workers import STOP_WITHIN_S, enrich_process_count

FEEDS = 8
PER_FEED = 25


def test_one_enrich_process_per_core_at_most_one_per_partition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def count(cores: int, **config: Any) -> tuple[int, str]:
        monkeypatch.setattr(workers, "cores", lambda: cores)
        return enrich_process_count(Settings.model_validate(config))

    assert Settings().enrich.workers == "auto"
    assert count(2) == (2, "enrich.workers: auto, 2 cores")
    assert count(1) == (1, "enrich.workers: auto, 1 core")
    assert count(16) == (4, "enrich.workers: auto, 16 cores, one per bus partition")
    assert count(16, bus={"partitions": 12}) == (
        12,
        "enrich.workers: auto, 16 cores, one per bus partition",
    )
    assert count(2, enrich={"workers": 0}) == (2, "enrich.workers: auto, 2 cores")
    assert count(16, enrich={"workers": 3}) == (3, "enrich.workers: 3")
    assert count(2, enrich={"workers": 6}) == (
        6,
        "enrich.workers: 6; 2 will idle, bus.partitions is 4",
    )


def test_enrich_workers_setting(
    write_config: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    for value in ("auto", 0, 5):
        assert load_settings(write_config({"enrich": {"workers": value}})).enrich.workers == value
    monkeypatch.setenv("VEILLE_ENRICH__WORKERS", "3")
    assert load_settings(write_config({})).enrich.workers == 3
    monkeypatch.setenv("VEILLE_ENRICH__WORKERS", "auto")
    assert load_settings(write_config({})).enrich.workers == "auto"
    monkeypatch.delenv("VEILLE_ENRICH__WORKERS")
    for bad in (-1, 65, "many"):
        with pytest.raises(ConfigError, match=r"enrich\.workers"):
            load_settings(write_config({"enrich": {"workers": bad}}))


# -- veille run, as a user starts it ------------------------------------------------------------


def _routes() -> Routes:
    return acme_news(
        FEEDS,
        PER_FEED,
        0.2,
        lambda f, i: (
            f"Acme est {'génial' if i % 2 else 'décevant'} ({f}-{i}), "
            f"{'vraiment' if i % 3 else 'pas du tout'} ce que j'attendais"
        ),
    )


def _config(web: Web, data: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data),
        "log_level": "INFO",
        "brands": [{"name": "Acme", "query": "acme"}],
        "sources": acme_sources(web, FEEDS),
        "runner": {"poll_timeout": "0.2s", "batch_size": 20},
        # No spaCy: two processes loading it would only slow the test down.
        "enrich": {"workers": 2, "entities": {"enabled": False}},
    }


def _prepared(
    tmp_path: Path, web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> tuple[Path, Path, Path]:
    """The data folder, the configuration and the log file of a ``veille run`` test."""
    data = tmp_path / "data"
    return data, write_config(_config(web(_routes()), data)), tmp_path / "run.log"


def _enrich_children(parent: int) -> list[int]:
    """The enrich processes that ``parent`` started (spawned interpreters), still running."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, ppid = stat.read_text().rsplit(")", 1)[1].split()[:2]
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(ppid) == parent and state != "Z" and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def _members(bus: LocalLogBus, group: str) -> set[int]:
    """The processes that are members of ``group`` on the raw topic (a member is named
    ``host:pid:nonce``)."""
    rows = (
        bus.connection()
        .execute("SELECT member FROM members WHERE grp = ? AND topic = ?", (group, "mentions.raw"))
        .fetchall()
    )
    return {int(member.split(":")[1]) for (member,) in rows}


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _expected() -> set[str]:
    from ingest.record import mention_id

    return {
        mention_id(url=f"http://news.example/{f}/{i}")
        for f in range(FEEDS)
        for i in range(PER_FEED)
    }


@pytest.mark.slow
def test_veille_run_with_two_enrich_process_count_stores_every_mention_once(
    tmp_path: Path, web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    data, config, log_path = _prepared(tmp_path, web, write_config)
    with log_path.open("ab") as log:
        run = start_veille_run(config, log)
        try:
            wait_for(lambda: len(_enrich_children(run.pid)) == 2, 60, "two enrich processes")
            children = _enrich_children(run.pid)
            store = SqliteStore(data / "veille.db")
            bus = LocalLogBus(data / "bus.db")
            # Each process is a member of the enrich group, and no other consumer is: the
            # group's partitions are shared between the two.
            wait_for(
                lambda: _members(bus, "enrich") == set(children), 60, "both in the enrich group"
            )
            wait_for(lambda: store.count(Filters()) >= FEEDS * PER_FEED, 120, "every mention")
            wait_for(lambda: bus.lag("mentions.enriched", "index") == 0, 30, "the index")
            assert bus.lag("mentions.raw", "enrich") == 0
            assert _members(bus, "enrich") == set(children)
            run.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert run.wait(STOP_WITHIN_S + 10) == 0, log_path.read_text()[-3000:]
            assert time.monotonic() - started < STOP_WITHIN_S
            assert not [pid for pid in children if _running(pid)]
            stored = [m.id for m in store.search(Filters(), size=1000).hits]
            store.close()
            bus.close()
        finally:
            if run.poll() is None:
                os.kill(run.pid, signal.SIGKILL)
                run.wait(10)
    assert len(stored) == len(set(stored))
    assert set(stored) == _expected()
    text = log_path.read_text()
    assert "enrich: 2 processes (enrich.workers: 2)" in text
    assert "running poll, enrich, index, deletions, alerts" in text


@pytest.mark.slow
def test_a_dead_enrich_process_stops_veille_run_and_the_next_start_loses_nothing(
    tmp_path: Path, web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    data, config, log_path = _prepared(tmp_path, web, write_config)
    log = log_path.open("ab")
    first = second = start_veille_run(config, log)
    store = SqliteStore(data / "veille.db")
    try:
        wait_for(lambda: len(_enrich_children(first.pid)) == 2, 60, "two enrich processes")
        wait_for(lambda: store.count(Filters()) > 0, 60, "the first mentions stored")
        victim, other = _enrich_children(first.pid)
        os.kill(victim, signal.SIGKILL)
        # The rule: a worker that dies stops every worker, and veille run exits with 1.
        assert first.wait(STOP_WITHIN_S + 10) == 1, log_path.read_text()[-3000:]
        assert not _running(other)
        assert re.search(r"enrich-\d ended \(killed by signal 9\)", log_path.read_text())

        # The next start replays what was in flight; killed itself, its processes follow it.
        second = start_veille_run(config, log)
        wait_for(lambda: len(_enrich_children(second.pid)) == 2, 60, "two enrich processes")
        orphans = _enrich_children(second.pid)
        wait_for(lambda: store.count(Filters()) >= FEEDS * PER_FEED, 120, "every mention")
        bus = LocalLogBus(data / "bus.db")
        wait_for(lambda: bus.lag("mentions.enriched", "index") == 0, 30, "the index")
        bus.close()
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        wait_for(lambda: not any(_running(pid) for pid in orphans), 30, "the orphans to stop")
        stored = [m.id for m in store.search(Filters(), size=1000).hits]
    finally:
        store.close()
        for process in (first, second):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
        log.close()
    assert len(stored) == len(set(stored))
    assert set(stored) == _expected()


@pytest.mark.slow
def test_an_enrich_process_that_cannot_start_stops_veille_run(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    config = write_config(
        {
            "data_dir": str(tmp_path / "data"),
            "brands": [{"name": "Acme", "query": "acme"}],
            "enrich": {"workers": 2, "entities": {"models": {"fr": "fr_no_such_model"}}},
        }
    )
    run = subprocess.run(
        [sys.executable, "-m", "veille.cli", "--config", str(config), "run"],
        capture_output=True,
        timeout=STOP_WITHIN_S + 60,
        check=False,
    )
    err = run.stderr.decode()
    assert run.returncode == 1, err[-3000:]
    # Said through logging (which masks secrets), once per process, then the rule applies.
    assert re.search(r"ERROR +veille: enrich-\d stopped on an error", err), err[-3000:]
    assert "cannot load spaCy model 'fr_no_such_model'" in err
    assert re.search(r"enrich-\d ended \(exit code 1\)", err)
