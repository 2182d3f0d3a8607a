"""The Bluesky connector against a local Jetstream (`veille.demo.jetstream`) that enforces the
documented contract: ``wantedCollections``, replay from ``cursor``, the commit, identity and
account events. Each test names the documented behaviour it checks.

Polls read the stream for a fraction of a second of real time; the schedule runs on a fake
clock."""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from crawlers.networks.bluesky import post_id, post_to_mention
from crawlers.networks.settings import BlueskySettings
from ingest.clock import FakeClock
from ingest.record import SourceKind
from ingest.settings import Brand
from tests.support.killing import killed_while_publishing
from tests.support.networks import CONNECTORS, Harness
from veille.cli import cli
from veille.demo.jetstream import FakeJetstream

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BRANDS = [Brand(name="Acme", query="acme"), Brand(name="Lumen", query='"lumen telecom"')]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def jetstream() -> Iterator[Callable[[], FakeJetstream]]:
    servers: list[FakeJetstream] = []

    def start() -> FakeJetstream:
        servers.append(FakeJetstream().start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def poller(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(*configs: dict[str, Any]) -> Harness:
        made.append(Harness(tmp_path, list(configs), clock, BRANDS))
        return made[-1]

    yield make
    for p in made:
        p.close()


def bluesky(server: FakeJetstream, name: str = "bsky", **options: Any) -> dict[str, Any]:
    return {"type": "bluesky", "name": name, "jetstream": server.url, "read_for": "300ms"} | (
        options
    )


def test_posts_matching_a_brand_are_kept_others_dropped_and_fields_mapped(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness]
) -> None:
    """Documented: the stream sends only the ``wantedCollections`` commits, and identity events
    to everyone; a post record has ``text``, ``langs``, ``createdAt``, ``reply.parent/root``."""
    server = jetstream()
    p = poller(bluesky(server))
    assert p.poller.poll_due()[0].status == "ok"  # connects, live from now: nothing yet
    assert "app.bsky.feed.post" in server.connections[0][1]["wantedCollections"]
    root = server.post("Qui connaît un bon opérateur ?", did="did:plc:bob")
    server.identity("did:plc:alice", "alice.example.com")
    kept = server.post(
        "Panne chez ACME depuis ce matin", langs=["fr-FR"], reply=(root, root), rkey="3lacme"
    )
    server.post("rien à voir", langs=["fr"])
    server.post("Lumen Télécom répond enfin", did="did:plc:carol", created="2099-01-01T00:00:00Z")
    server.post("acme", collection="app.bsky.feed.like")  # not asked for: never sent
    server.post("", did="did:plc:dave")  # an image alone

    [outcome] = p.poller.poll_due(force=True)

    assert (outcome.status, outcome.new) == ("ok", 2)
    by_text = {m.text: m for m in p.published()}
    assert sorted(by_text) == ["Lumen Télécom répond enfin", "Panne chez ACME depuis ce matin"]
    acme = by_text["Panne chez ACME depuis ce matin"]
    assert acme.id == post_id(kept)
    assert kept == "at://did:plc:alice/app.bsky.feed.post/3lacme"
    assert acme.url == "https://bsky.app/profile/did:plc:alice/post/3lacme"
    assert acme.source.kind == SourceKind.SOCIAL
    assert acme.source.name == "bsky"
    assert acme.author is not None
    assert acme.author.handle == "alice.example.com"
    assert acme.lang == "fr"
    assert acme.parent == post_id(root)
    assert acme.thread is not None
    assert acme.thread.id == post_id(root)
    assert acme.published == datetime(2026, 11, 30, 8, 59, tzinfo=UTC)
    lumen = by_text["Lumen Télécom répond enfin"]
    assert lumen.author is not None
    assert lumen.author.handle == "did:plc:carol"
    # createdAt in 2099 is not believed: the time the stream gives is.
    assert abs(lumen.published - datetime.now(UTC)) < timedelta(minutes=1)
    assert p.counters.read()["networks"].get("skipped", 0) == 0


def test_a_restart_resumes_from_the_cursor_no_post_twice_none_lost(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``cursor=<time_us>`` replays every event from that time on. The connector
    asks for ``rewind`` (5 s) before its cursor, and the seen-table drops what it reads twice."""
    server = jetstream()
    first = poller(bluesky(server))
    first.poller.poll_due()
    for i in range(5):
        server.post(f"acme avant {i}")
    first.poller.poll_due(force=True)
    saved = int(first.state.get("bsky", "bluesky").cursor_map()["time_us"])
    assert saved == server.last_time_us
    first.close()
    for i in range(5):
        server.post(f"acme pendant l'arrêt {i}")  # published while the connector is down

    second = poller(bluesky(server))
    clock.advance(2)
    [outcome] = second.poller.poll_due()

    assert server.connections[-1][1]["cursor"] == [str(saved - 5_000_000)]
    assert outcome.new == 5
    texts = second.texts()
    assert texts == sorted(
        [f"acme avant {i}" for i in range(5)] + [f"acme pendant l'arrêt {i}" for i in range(5)]
    )
    assert len(texts) == len(set(texts))


def test_a_batch_that_could_not_be_published_is_read_again(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness], clock: FakeClock
) -> None:
    """The cursors handed to a poll are not those it returned (the runner did not keep them):
    the connector reconnects from the cursor it is given, and loses nothing."""
    server = jetstream()
    p = poller(bluesky(server))
    p.poller.poll_due()
    server.post("acme numéro un")
    connector = p.poller.connectors[0]
    lost = connector.poll(p.state.get("bsky", "bluesky").cursor_map())  # never published
    assert [m.text for m in lost.mentions] == ["acme numéro un"]

    p.poller.poll_due(force=True)

    assert len(server.connections) == 2
    assert p.texts() == ["acme numéro un"]


def test_delete_events_of_kept_posts_are_reported_as_deletions(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness]
) -> None:
    """Documented: a ``commit`` with ``operation: delete`` names the record deleted; an
    ``account`` event with ``active: false, status: deleted`` says the whole account is gone."""
    server = jetstream()
    p = poller(bluesky(server))
    p.poller.poll_due()
    kept = server.post("acme m'a remboursé")
    other = server.post("un post sans marque")
    gone = server.post("acme encore", did="did:plc:erin")
    p.poller.poll_due(force=True)
    server.delete(kept)
    server.delete(other)  # never kept: nothing to remove
    server.account("did:plc:erin", active=False, status="deleted")
    server.account("did:plc:alice", active=False, status="deactivated")  # may come back

    [outcome] = p.poller.poll_due(force=True)

    assert outcome.deletions == 2
    assert p.state.deleted() == [post_id(kept), post_id(gone)]
    assert p.state.get("bsky", "bluesky").deletions == 2
    server.delete(kept)
    assert p.poller.poll_due(force=True)[0].deletions == 0  # no longer watched


def test_a_closed_stream_is_reported_and_reconnected_with_backoff_while_others_go_on(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness], clock: FakeClock
) -> None:
    """A relay restart closes the stream (close code 1011), a relay down refuses the upgrade
    (503): the connector is reported and backed off, resumes from its cursor, and the other
    connector goes on."""
    broken, healthy = jetstream(), jetstream()
    p = poller(bluesky(broken, "broken"), bluesky(healthy, "healthy"))
    p.poller.poll_due()
    broken.post("acme avant la coupure")
    p.poller.poll_due(force=True)
    broken.close_streams()
    broken.post("acme pendant la coupure")
    healthy.post("acme ailleurs")

    outcomes = {o.connector: o for o in p.poller.poll_due(force=True)}

    assert outcomes["broken"].status == "platform_error"
    assert "relay restarting" in (outcomes["broken"].error or "")
    assert (outcomes["healthy"].status, outcomes["healthy"].new) == ("ok", 1)
    state = p.state.get("broken", "bluesky")
    assert state.failures == 1
    assert 1.9 <= state.next_poll - clock.now().timestamp() <= 2.1  # 1 s doubled
    broken.refuse(503)
    clock.advance(2.2)
    assert [o.status for o in p.poller.poll_due()] == ["platform_error", "ok"]
    state = p.state.get("broken", "bluesky")
    assert "HTTP 503" in (state.last_error or "")
    assert 3.8 <= state.next_poll - clock.now().timestamp() <= 4.2  # doubled again
    broken.refuse(None)
    clock.advance(4.3)

    outcomes = {o.connector: o for o in p.poller.poll_due()}

    assert (outcomes["broken"].status, outcomes["broken"].new) == ("ok", 1)
    assert p.texts() == ["acme ailleurs", "acme avant la coupure", "acme pendant la coupure"]
    assert p.counters.read()["networks"]["platform_error_failures"] == 2


def test_malformed_json_is_counted_and_skipped(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness]
) -> None:
    """Jetstream documents one JSON object per message: anything else is skipped and counted,
    and what comes after it is read."""
    server = jetstream()
    p = poller(bluesky(server))
    p.poller.poll_due()
    server.publish_raw('{"did": "did:plc:x", "time_us": ')
    server.publish_raw('["not", "an", "event"]')
    server.post("acme après le bruit")

    [outcome] = p.poller.poll_due(force=True)

    assert (outcome.status, outcome.new) == ("ok", 1)
    assert p.counters.read()["networks"]["skipped"] == 2


def test_settings_take_a_bluesky_entry_and_refuse_an_http_url() -> None:
    settings = CONNECTORS.validate_python({"type": "bluesky", "name": "bsky"})
    assert isinstance(settings, BlueskySettings)
    assert settings.jetstream.startswith("wss://jetstream")
    with pytest.raises(ValidationError, match="ws://"):
        CONNECTORS.validate_python({"type": "bluesky", "name": "b", "jetstream": "https://x"})


def test_a_post_without_a_sane_date_or_uri_is_handled() -> None:
    received = datetime(2026, 11, 30, 9, tzinfo=UTC)
    options: dict[str, Any] = {"received": received, "fetched": received, "source": "bsky"}
    old = post_to_mention(
        "did:plc:a", "k", {"text": "acme", "createdAt": "1970-01-01T00:00:00Z"}, **options
    )
    assert old.published == received
    naive = post_to_mention(
        "did:plc:a", "k", {"text": "acme", "createdAt": "2026-11-30T08:00"}, **options
    )
    assert naive.published == received
    with pytest.raises(ValueError, match="not a post's URI"):
        post_to_mention("did:plc:a", "", {"text": "acme"}, **options)


@pytest.mark.slow
def test_sigkill_at_random_moments_while_the_stream_publishes_loses_no_post(
    jetstream: Callable[[], FakeJetstream], tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """``veille networks run`` killed with SIGKILL ten times at random moments while the relay
    keeps publishing: each restart resumes from the saved cursor (``cursor`` replay), so every
    post about the brand reaches ``mentions.raw``; a post can be published twice only when a
    kill lands between publishing and marking it seen (the store keeps it once, by its id)."""
    server = jetstream()
    config = write_config(
        {
            "data_dir": str(tmp_path / "data"),
            "brands": [{"name": "Acme", "query": "acme"}],
            "sources": {"networks": [bluesky(server, read_for="200ms", interval="100ms")]},
        }
    )
    command = [sys.executable, "-m", "veille.cli", "--config", str(config), "networks", "run"]
    expected: list[str] = []

    def post(n: int) -> None:
        uri = server.post(f"acme n°{n}" if n % 3 else f"rien n°{n}")
        if n % 3:
            expected.append(post_id(uri))

    published = killed_while_publishing(
        command, tmp_path, post, lambda: bool(server.connections), expected
    )
    assert len(server.connections) >= 2  # (a run killed while it starts never connects)
    assert set(published) == set(expected)
    assert len(expected) > 100
    # A kill between publishing a batch and saving the cursor replays that batch once (the
    # store keeps each post once, by its id); under load a batch can hold many posts.
    assert max(Counter(published).values()) <= 2


def test_sources_test_and_networks_run_once_from_the_command_line(
    jetstream: Callable[[], FakeJetstream], write_config: Callable[..., Path], tmp_path: Path
) -> None:
    """What a user runs: ``veille sources test`` checks that the stream sends events and shows
    what one poll keeps; ``veille networks run --once`` publishes it and ``veille status``
    shows the connector's health."""
    server = jetstream()
    stop = threading.Event()

    def publish() -> None:
        n = 0
        while not stop.wait(0.02):
            n += 1
            server.post(f"acme n°{n}" if n % 2 else f"autre chose n°{n}")

    config = write_config(
        {
            "data_dir": str(tmp_path / "data"),
            "brands": [{"name": "Acme", "query": "acme"}],
            "sources": {"networks": [bluesky(server)]},
        }
    )
    publisher = threading.Thread(target=publish, daemon=True)
    publisher.start()
    try:
        result = CliRunner().invoke(cli, ["--config", str(config), "sources", "test", "bsky"])
        assert result.exit_code == 0, result.output
        assert (
            "the stream sends events; posts kept when one of the brands' queries matches (1)"
            in result.output
        )
        assert "one poll: " in result.output
        assert "bsky.app/profile/did:plc:alice/post/" in result.output
        result = CliRunner().invoke(cli, ["--config", str(config), "networks", "run", "--once"])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(cli, ["--config", str(config), "status", "--format", "json"])
        [row] = json.loads(result.output)["networks"]
        assert (row["name"], row["status"]) == ("bsky", "ok")
    finally:
        stop.set()
        publisher.join(5)


def test_a_replay_cut_short_by_max_events_never_moves_the_cursor_back(
    jetstream: Callable[[], FakeJetstream], poller: Callable[..., Harness]
) -> None:
    """The replay from ``rewind`` before the cursor starts with events already read: a poll that
    stops inside it (``max_events``) keeps the cursor where it was, and the next reads on."""
    server = jetstream()
    first = poller(bluesky(server))
    first.poller.poll_due()
    for i in range(6):
        server.post(f"acme {i}")
    first.poller.poll_due(force=True)
    saved = first.state.get("bsky", "bluesky").cursor_map()["time_us"]
    first.close()
    server.post("acme après")

    second = poller(bluesky(server, max_events=3))
    [outcome] = second.poller.poll_due(force=True)

    assert outcome.new == 0  # 3 events of the replay, all published before
    assert second.state.get("bsky", "bluesky").cursor_map()["time_us"] == saved
    second.poller.poll_due(force=True)
    second.poller.poll_due(force=True)
    assert second.texts() == [
        "acme 0",
        "acme 1",
        "acme 2",
        "acme 3",
        "acme 4",
        "acme 5",
        "acme après",
    ]
    assert len(server.connections) == 2
