"""The Mastodon connector's streaming option against the local Mastodon
(`tests.support.mastodon`), whose streaming server enforces the documented contract
(https://docs.joinmastodon.org/methods/streaming/): a token to open a stream, ``update``,
``delete`` and ``status.update`` events, no replay. Each test names the documented behaviour
it checks.

Polls read the streams for a fraction of a second of real time; the schedule runs on a fake
clock."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crawlers.networks.base import AuthFailed
from crawlers.networks.http import open_websocket
from crawlers.networks.mastodon import status_id
from crawlers.networks.settings import MastodonSettings
from crawlers.settings import HttpSettings
from ingest.clock import FakeClock
from tests.support.killing import Restarted, keep_publishing, raw_ids
from tests.support.networks import Harness
from tests.support.waiting import wait_for
from veille.demo.mastodon import FakeMastodon

TOKEN = "tok-Stream-secret-77b1e0"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakeMastodon]:
    with FakeMastodon(now=clock.now, tokens=frozenset({TOKEN})) as fake:
        yield fake


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(*connectors: dict[str, Any]) -> Harness:
        made.append(Harness(tmp_path, list(connectors), clock))
        return made[-1]

    yield make
    for h in made:
        h.close()


def streamed(server: FakeMastodon, token: str = TOKEN, **options: Any) -> dict[str, Any]:
    return {
        "type": "mastodon",
        "name": "acme-stream",
        "instances": [{"url": server.url, "token": token}],
        "hashtags": ["acme"],
        "stream": True,
        "read_for": "300ms",
    } | options


def timeline_reads(server: FakeMastodon) -> int:
    return len(server.queried("/api/v1/timelines/tag/"))


def test_statuses_arrive_through_the_stream_between_rest_reads(
    server: FakeMastodon, harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``GET /api/v1/streaming?stream=hashtag&tag=`` (a WebSocket, on the server
    ``/api/v2/instance`` names in ``configuration.urls.streaming``) sends ``update`` with each
    new status of the tag; ``status.update`` (an edit) is not a new status."""
    before = server.post("déjà là #acme", tags=("acme",))
    h = harness(streamed(server))
    [first] = h.poller.poll_due()
    assert (first.status, first.new) == ("ok", 1)  # read from REST, the stream opened first
    assert len(server.streams) == 1
    reads = timeline_reads(server)

    live = server.post("en direct : Acme ne répond plus #acme", tags=("Acme",))
    server.post("autre sujet", tags=("autre",))
    server.edit(before["id"], "déjà là, modifié #acme")
    clock.advance(2)
    [second] = h.poller.poll_due()

    assert (second.status, second.new) == ("ok", 1)
    assert timeline_reads(server) == reads  # the stream brought it, not the REST timeline
    host = server.url.removeprefix("http://")
    assert sorted(m.id for m in h.published()) == sorted(
        status_id(host, s["id"]) for s in (before, live)
    )
    assert [p for p, _ in server.stream_requests] == ["/api/v1/streaming?stream=hashtag&tag=acme"]
    assert h.counters.read()["networks"].get("skipped", 0) == 0


def test_a_dropped_stream_or_a_restart_is_refilled_from_rest_once_each(
    server: FakeMastodon, harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: the stream has no replay (what is sent while it is closed is gone); the
    timeline's ``min_id`` reads what came after the newest status seen."""
    h = harness(streamed(server))
    h.poller.poll_due()
    server.post("un #acme", tags=("acme",))
    server.drop_streams()
    missed = [server.post(f"manqué {i} #acme", tags=("acme",)) for i in range(3)]
    clock.advance(2)
    [closed] = h.poller.poll_due()  # the first status came through the stream, then it closed
    assert closed.status == "platform_error"
    clock.advance(10)
    [reopened] = h.poller.poll_due()
    assert (reopened.status, reopened.new) == ("ok", 3)
    assert sorted(h.texts()) == sorted(["un #acme", *(s["content"][3:-4] for s in missed)])
    assert len(server.stream_requests) == 2

    h.close()  # a restart: what is posted while no stream is open comes from REST
    server.post("pendant l'arrêt #acme", tags=("acme",))
    again = harness(streamed(server))
    clock.advance(2)
    [restarted] = again.poller.poll_due()
    assert (restarted.status, restarted.new) == ("ok", 1)
    server.post("après #acme", tags=("acme",))
    clock.advance(2)
    again.poller.poll_due()
    texts = again.texts()
    assert len(texts) == len(set(texts)) == 6  # nothing lost, nothing twice


def test_a_delete_event_reports_a_published_status_as_deleted(
    server: FakeMastodon, harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``delete`` carries the id of a deleted status, on every public stream;
    only those the connector published are its deletions."""
    h = harness(streamed(server))
    h.poller.poll_due()
    kept, gone = (
        server.post("reste #acme", tags=("acme",)),
        server.post("oups #acme", tags=("acme",)),
    )
    clock.advance(2)
    h.poller.poll_due()
    other = server.post("autre sujet", tags=("autre",))
    server.delete(gone["id"])
    server.delete(other["id"])  # never published here: not this connector's deletion
    clock.advance(2)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.deletions) == ("ok", 1)
    host = server.url.removeprefix("http://")
    assert h.state.deleted() == [status_id(host, gone["id"])]
    assert kept["id"] != gone["id"]


def test_a_stream_needs_a_valid_token_and_the_token_is_never_repeated(
    server: FakeMastodon,
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Documented: the streaming server refuses a stream without a token, or with one it does
    not know, with ``401``; here the server even quotes the token it was sent."""
    with (
        pytest.raises(AuthFailed),
        open_websocket(
            f"{server.streaming_url}/api/v1/streaming?stream=hashtag&tag=acme", HttpSettings()
        ),
    ):
        pass
    server.echo_token = True
    wrong = "tok-Wrong-secret-00aa11"
    caplog.set_level(logging.DEBUG)
    h = harness(streamed(server, token=wrong))

    [outcome] = h.poller.poll_due()

    assert outcome.status == "auth_failed"
    state = h.state.get("acme-stream", "mastodon")
    assert state.last_error is not None
    assert "401" in state.last_error
    ours = "".join(r.getMessage() for r in caplog.records if r.name != "websockets.server")
    assert "Authorization: Bearer ***" in ours  # websockets' own debug log, the token hidden
    assert wrong not in state.last_error + (outcome.error or "") + ours
    assert wrong not in state.cursors


def test_stream_messages_not_as_documented_are_skipped_and_counted(
    server: FakeMastodon, harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: each message is ``{"stream", "event", "payload"}``, an ``update``'s payload
    a Status as a JSON string. Anything else is passed over, the stream goes on."""
    h = harness(streamed(server))
    h.poller.poll_due()
    server.send_raw("acme", "pas du JSON")
    server.send_raw("acme", '{"stream": ["hashtag", "acme"], "event": "update", "payload": "{"}')
    server.send_raw("acme", '{"stream": ["hashtag", "acme"], "event": "update", "payload": "{}"}')
    server.post("après le bruit #acme", tags=("acme",))
    clock.advance(2)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 1)
    assert h.counters.read()["networks"]["skipped"] == 3
    assert h.texts() == ["après le bruit #acme"]


def test_stream_needs_hashtags_and_an_instance_with_a_token() -> None:
    with pytest.raises(ValidationError, match="stream follows hashtags"):
        MastodonSettings.model_validate(
            {
                "type": "mastodon",
                "name": "m",
                "instances": ["https://mastodon.social"],
                "hashtags": ["acme"],
                "stream": True,
            }
        )


@pytest.mark.slow
def test_sigkill_at_random_moments_while_statuses_stream_loses_none(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """``veille networks run`` with ``stream: true`` killed with SIGKILL ten times at random
    moments while the instance keeps publishing. Documented: the stream has no replay, the
    timeline's ``min_id`` reads what came after a status. Every status reaches
    ``mentions.raw``; one is published twice only when a kill lands between publishing a batch
    and marking it seen (the store keeps it once, by its id)."""
    with FakeMastodon(
        now=lambda: datetime.now(UTC), tokens=frozenset({TOKEN}), rate_limit=100_000
    ) as server:
        connector = streamed(
            server, token="${MASTODON_TOKEN}", read_for="200ms", recheck_per_poll=0
        )
        config = write_config(
            {
                "data_dir": str(tmp_path / "data"),
                "brands": [{"name": "Acme", "query": "acme"}],
                "sources": {"networks": [connector]},
            }
        )
        host = server.url.removeprefix("http://")
        expected: list[str] = []

        def publish(n: int) -> None:
            expected.append(status_id(host, server.post(f"acme n°{n}", tags=("acme",))["id"]))

        log = tmp_path / "run.log"
        bus = tmp_path / "data" / "bus.db"
        env = {**os.environ, "MASTODON_TOKEN": TOKEN}
        command = [sys.executable, "-m", "veille.cli", "--config", str(config), "networks", "run"]
        with Restarted(command, log, env) as run:
            wait_for(lambda: bool(server.streams), 60, "the first stream")
            with keep_publishing(publish):
                run.kill_at_random_moments()
                last_run = log.stat().st_size

                def last_run_batches() -> int:
                    with log.open("rb") as written:
                        written.seek(last_run)
                        return written.read().count(b"new mentions")

                wait_for(lambda: last_run_batches() >= 1, 60, "the last run's first batch")
                time.sleep(1.5)  # its REST catch-up is over (``max_pages`` may take two polls)
                rest_reads, before = timeline_reads(server), last_run_batches()
                time.sleep(3)  # the last run streams a while
                streamed_batches = last_run_batches() - before
                assert timeline_reads(server) == rest_reads
            wait_for(lambda: set(expected) <= set(raw_ids(bus)), 60, "every status after restarts")
            published = raw_ids(bus)
            run.stop_cleanly()
    assert len(server.stream_requests) >= 2
    assert len(expected) > 300
    assert streamed_batches >= 1  # no REST read since: they came through the stream
    assert set(published) == set(expected)
    assert max(Counter(published).values()) <= 2  # at most one replay of a batch per kill
