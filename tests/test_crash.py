"""Kill ``veille run`` with SIGKILL in the middle of polling, restart it: the store ends with
exactly the mentions an uninterrupted run gives, each once. Then Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from index.sqlite import SqliteStore
from ingest.locallog import LocalLogBus
from ingest.store import Filters
from tests.support.news import acme_news, acme_sources, start_veille_run
from tests.support.waiting import wait_for
from veille.app import App
from veille.demo.web import Routes, Web
from veille.settings import load_settings

FEEDS = 12
PER_FEED = 6


def _routes() -> Routes:
    # Slow answers, all on one host: polling takes seconds, so the kill lands mid-way.
    return acme_news(
        FEEDS,
        PER_FEED,
        0.25,
        lambda f, i: f"Acme est {'génial' if i % 2 else 'décevant'} ({f}-{i})",
    )


def _config(web: Web, data: Path) -> dict[str, Any]:
    return {
        "data_dir": str(data),
        "brands": [{"name": "Acme", "query": "acme"}],
        "sources": acme_sources(web, FEEDS),
        "runner": {"poll_timeout": "0.2s"},
    }


@pytest.mark.slow
def test_sigkill_mid_poll_then_restart_stores_every_mention_once(
    tmp_path: Path, web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    site = web(_routes())

    baseline = App(load_settings(write_config(_config(site, tmp_path / "base"), "base.yaml")))
    baseline.feed_poller().poll_due(force=True)
    baseline.drain()
    expected = {m.id for m in baseline.store.search(Filters(), size=1000).hits}
    baseline.close()
    assert len(expected) == FEEDS * PER_FEED

    data = tmp_path / "crash"
    config = write_config(_config(site, data), "crash.yaml")
    log_path = tmp_path / "run.log"
    log = log_path.open("ab")
    first = second = start_veille_run(config, log)
    bus = LocalLogBus(data / "bus.db")
    try:
        wait_for(lambda: sum(bus.end_offsets("mentions.raw").values()) > 0, 60, "a first feed")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        published = sum(bus.end_offsets("mentions.raw").values())
        assert 0 < published < FEEDS * PER_FEED, "the kill should land in the middle of polling"

        second = start_veille_run(config, log)
        store = SqliteStore(data / "veille.db")
        wait_for(lambda: store.count(Filters()) >= len(expected), 90, "the restarted run")
        wait_for(lambda: bus.lag("mentions.enriched", "index") == 0, 30, "the index to catch up")
        second.send_signal(signal.SIGINT)
        assert second.wait(30) == 0, log_path.read_text()[-3000:]
        stored = [m.id for m in store.search(Filters(), size=1000).hits]
        store.close()
    finally:
        bus.close()
        for process in (first, second):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
        log.close()
    assert sorted(stored) == sorted(expected)
    assert len(stored) == len(set(stored))
    assert "stopping (signal 2)" in log_path.read_text()
