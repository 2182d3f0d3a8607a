"""Social-network connectors against local servers that enforce each platform's documented
contract (`veille.demo.mastodon`): the first connector is Mastodon. Each test names the
documented behaviour it checks."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner
from pydantic import TypeAdapter, ValidationError

from crawlers.networks.mastodon import status_id, status_to_mention
from crawlers.networks.settings import BlueskySettings, ConnectorSettings, MastodonSettings
from ingest.clock import Clock, FakeClock, SystemClock
from ingest.record import SourceKind
from tests.support.networks import Harness
from veille.app import App
from veille.cli import cli
from veille.demo.mastodon import FakeMastodon
from veille.settings import Settings

TOKEN = "tok-Zq81-secret-4f9a2c"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


HarnessFactory = Callable[..., Harness]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def mastodon(clock: FakeClock) -> Iterator[Callable[..., FakeMastodon]]:
    servers: list[FakeMastodon] = []

    def start(**options: Any) -> FakeMastodon:
        server = FakeMastodon(now=clock.now, tokens=frozenset({TOKEN}), **options).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[HarnessFactory]:
    made: list[Harness] = []

    def make(*connectors: dict[str, Any], clock_: Clock | None = None) -> Harness:
        h = Harness(tmp_path, list(connectors), clock_ or clock)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def tags(server: FakeMastodon, name: str = "acme-tags", **options: Any) -> dict[str, Any]:
    return {"type": "mastodon", "name": name, "instances": [server.url], "hashtags": ["acme"]} | (
        options
    )


def test_first_poll_reads_the_newest_page_and_maps_every_field(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory
) -> None:
    """Documented: a Status's id, url, account (acct, url, followers_count), counts, language,
    in_reply_to_id, spoiler_text and HTML content."""
    server = mastodon()
    host = server.url.removeprefix("http://")
    first = server.post(
        "Le service client d'<b>Acme</b> &amp; moi : 3 h d'attente #acme",
        tags=("Acme",),
        counts=(12, 3, 4),
        followers=5400,
    )
    server.post("Je confirme", tags=("acme",), acct="bob@autre.example", reply_to=first["id"])
    server.post("Spoiler", tags=("acme",), spoiler="CW : colère", lang=None)
    server.post("pas le bon tag", tags=("autre",))
    h = harness(tags(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 3)
    by_text = {m.text: m for m in h.published()}
    main = by_text["Le service client d'Acme & moi : 3 h d'attente #acme"]
    assert main.id == status_id(host, first["id"])
    assert main.source.kind is SourceKind.SOCIAL
    assert main.source.name == "acme-tags"
    assert main.url == first["url"]
    assert main.site == "127.0.0.1"
    assert main.author is not None
    assert (main.author.handle, main.author.url, main.author.followers) == (
        f"alice@{host}",
        f"{server.url}/@alice",
        5400,
    )
    assert main.author.name == "Alice"
    assert (main.engagement.likes, main.engagement.shares, main.engagement.replies) == (12, 3, 4)
    assert main.lang == "fr"
    assert main.parent is None
    assert main.published == START
    reply = by_text["Je confirme"]
    assert reply.parent == main.id
    assert reply.author is not None
    assert reply.author.handle == "bob@autre.example"
    warned = by_text["Spoiler"]
    assert warned.title == "CW : colère"
    assert warned.lang is None


def test_first_poll_reads_back_backfill_pages_through_the_next_link(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory
) -> None:
    """Documented: ``Link: <...?max_id=oldest>; rel="next"`` gives the older page."""
    server = mastodon()
    for i in range(50):
        server.post(f"post {i}", tags=("acme",))
    h = harness(tags(server, page_size=20, backfill_pages=2))

    [outcome] = h.poller.poll_due()

    assert outcome.new == 40
    assert h.texts() == sorted(f"post {i}" for i in range(10, 50))
    first, second = server.queried("/api/v1/timelines/tag/acme")
    assert "max_id" not in first
    assert "min_id" not in first
    assert second == {"limit": "20", "max_id": server.statuses[30]["id"]}


def test_later_polls_read_forward_from_min_id_through_prev_links_until_an_empty_page(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: ``min_id`` returns the page immediately newer; ``rel="prev"`` the next newer
    one; an empty page ends it. Ids are compared as numbers (995 < 1000)."""
    server = mastodon()
    server.post("before", tags=("acme",))
    h = harness(tags(server, page_size=40))
    h.poller.poll_due()
    seen = server.statuses[0]["id"]
    for i in range(95):
        server.post(f"new {i}", tags=("acme",))
    server.requests.clear()
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 95)
    assert h.texts() == sorted(["before", *(f"new {i}" for i in range(95))])
    assert len({m.id for m in h.published()}) == 96
    queries = server.queried("/api/v1/timelines/tag/acme")
    assert queries[0] == {"limit": "40", "min_id": seen}
    assert [q.get("min_id") for q in queries[1:]] == [
        server.statuses[40]["id"],
        server.statuses[80]["id"],
        server.statuses[95]["id"],
    ]
    state = h.state.get("acme-tags", "mastodon")
    assert state.cursor_map()[f"{server.url} tag acme"] == server.statuses[-1]["id"]
    assert server.statuses[-1]["id"] == "1090"


def test_max_pages_leaves_the_rest_for_a_poll_soon_after(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    server = mastodon()
    server.post("seed", tags=("acme",))
    h = harness(tags(server, page_size=10, max_pages=2))
    h.poller.poll_due()
    for i in range(35):
        server.post(f"n{i}", tags=("acme",))
    clock.advance(330)

    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 20)
    assert h.poller.seconds_until_due(h.poller.connectors[0]) <= 1.0
    clock.advance(1)
    [outcome] = h.poller.poll_due()
    assert outcome.new == 15
    assert len(h.published()) == 36


def test_a_429_waits_until_x_ratelimit_reset_and_nothing_is_lost(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: past the limit, 429 ``{"error": "Too many requests"}`` until
    ``X-RateLimit-Reset`` (ISO 8601)."""
    server = mastodon(rate_limit=3)
    for i in range(5):
        server.post(f"p{i}", tags=("acme",))
    for _ in range(3):  # another client behind the same address spends the window
        httpx.get(f"{server.url}/api/v2/instance").raise_for_status()
    h = harness(tags(server))

    [outcome] = h.poller.poll_due()

    assert outcome.status == "rate_limited"
    assert "Too many requests" in (outcome.error or "")
    reset = (START + timedelta(minutes=5)).timestamp()
    state = h.state.get("acme-tags", "mastodon")
    assert (state.next_poll, state.rate_remaining, state.rate_reset) == (reset, 0, reset)
    assert state.failures == 1
    assert h.published() == []
    clock.advance(299)
    assert h.poller.due() == []
    clock.advance(1)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 5)


def test_a_spent_rate_limit_stops_the_poll_before_a_429(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: ``X-RateLimit-Remaining: 0`` means the next request is refused."""
    server = mastodon(rate_limit=3)
    server.post("seed", tags=("acme",))
    h = harness(tags(server, page_size=5))
    h.poller.poll_due()  # 1 request
    httpx.get(f"{server.url}/api/v2/instance").raise_for_status()  # 1 from another client
    for i in range(12):
        server.post(f"n{i}", tags=("acme",))
    clock.advance(60)

    [outcome] = h.poller.poll_due(force=True)  # 1 more request, then Remaining: 0

    assert (outcome.status, outcome.new) == ("rate_limited", 5)
    assert len(server.requests) == 3  # it did not ask again and meet a 429
    clock.advance(239)
    assert h.poller.due() == []
    clock.advance(1)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 7)
    assert len(h.published()) == 13


def test_a_bad_token_is_reported_and_backed_off_while_another_connector_goes_on(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: a token the server does not know is 401 ``{"error": "The access token is
    invalid"}``."""
    server = mastodon()
    server.post("Acme est en panne", tags=("acme",))
    bad = {
        "type": "mastodon",
        "name": "acme-search",
        "instances": [{"url": server.url, "token": "wrong-token-123"}],
        "search": ["acme"],
    }
    h = harness(bad, tags(server))

    outcomes = {o.connector: o for o in h.poller.poll_due()}

    assert outcomes["acme-search"].status == "auth_failed"
    assert "The access token is invalid" in (outcomes["acme-search"].error or "")
    assert (outcomes["acme-tags"].status, outcomes["acme-tags"].new) == ("ok", 1)
    state = h.state.get("acme-search", "mastodon")
    assert state.next_poll == START.timestamp() + timedelta(hours=24).total_seconds()
    assert h.counters.read()["networks"]["auth_failed_failures"] == 1
    server.post("encore en panne", tags=("acme",))
    clock.advance(330)
    assert [c.name for c in h.poller.due()] == ["acme-tags"]
    assert [o.new for o in h.poller.poll_due()] == [1]


def test_search_with_a_token_pages_by_min_id(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: ``/api/v2/search?type=statuses`` with a user token, paged by ``min_id``."""
    server = mastodon()
    server.post("rien à voir")
    server.post("Acme encore")
    good = {
        "type": "mastodon",
        "name": "acme-search",
        "instances": [{"url": server.url, "token": TOKEN}],
        "search": ["acme"],
        "page_size": 2,
    }
    h = harness(good)
    assert h.poller.poll_due()[0].new == 1
    for i in range(3):
        server.post(f"acme {i}")
    clock.advance(330)
    assert h.poller.poll_due()[0].new == 3
    assert [q.get("min_id") for q in server.queried("/api/v2/search")[1:]] == ["996", "998", "999"]
    assert all(token == TOKEN for path, _, token in server.requests if path == "/api/v2/search")


@pytest.mark.parametrize(
    ("fault", "says"),
    [((500, b'{"error": "boom"}'), "HTTP 500: boom"), ((200, b"[{not json"), "not JSON")],
)
def test_a_server_error_or_malformed_json_is_reported_and_backed_off(
    mastodon: Callable[..., FakeMastodon],
    harness: HarnessFactory,
    clock: FakeClock,
    fault: tuple[int, bytes],
    says: str,
) -> None:
    server = mastodon()
    server.post("one", tags=("acme",))
    server.fault = fault
    h = harness(tags(server))

    [outcome] = h.poller.poll_due()
    assert outcome.status == "platform_error"
    assert says in (outcome.error or "")
    first = h.state.get("acme-tags", "mastodon")
    assert 570 <= first.next_poll - START.timestamp() <= 630  # the interval, doubled
    clock.advance(first.next_poll - START.timestamp() + 1)
    h.poller.poll_due()
    second = h.state.get("acme-tags", "mastodon")
    assert second.failures == 2
    assert second.errors == 2
    assert 1140 <= second.next_poll - first.next_poll <= 1260

    server.fault = None
    clock.advance(second.next_poll - first.next_poll + 1)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 1)
    assert h.state.get("acme-tags", "mastodon").failures == 0


def test_state_survives_a_restart_no_post_twice_none_lost(
    mastodon: Callable[..., FakeMastodon], tmp_path: Path, clock: FakeClock
) -> None:
    server = mastodon()
    for i in range(3):
        server.post(f"a{i}", tags=("acme",))
    first = Harness(tmp_path, [tags(server)], clock)
    first.poller.poll_due()
    first.close()
    for i in range(4):
        server.post(f"b{i}", tags=("acme",))
    clock.advance(330)

    again = Harness(tmp_path, [tags(server)], clock)
    try:
        [outcome] = again.poller.poll_due()
        assert outcome.new == 4
        assert again.texts() == sorted([*(f"a{i}" for i in range(3)), *(f"b{i}" for i in range(4))])
        assert server.queried("/api/v1/timelines/tag/acme")[1]["min_id"] == "997"
    finally:
        again.close()


def test_a_page_read_twice_is_published_once(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """As after a crash between publishing and saving the cursors."""
    server = mastodon()
    for i in range(3):
        server.post(f"a{i}", tags=("acme",))
    h = harness(tags(server))
    h.poller.poll_due()
    h.state.save(h.state.get("acme-tags", "mastodon").__class__("acme-tags", "mastodon"))
    clock.advance(330)
    assert h.poller.poll_due()[0].new == 0
    assert len(h.published()) == 3


def test_secrets_never_reach_logs_states_or_errors(
    mastodon: Callable[..., FakeMastodon],
    harness: HarnessFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that quotes the token it was sent in its 401 must not get it into a log, the
    state file or an outcome."""
    server = mastodon()
    server.echo_token = True
    secret = "wrong-but-secret-token-77"
    connector = {
        "type": "mastodon",
        "name": "leaky",
        "instances": [{"url": server.url, "token": secret}],
        "search": ["acme"],
    }
    h = harness(connector)
    with caplog.at_level(logging.DEBUG):
        [outcome] = h.poller.poll_due()
    assert outcome.status == "auth_failed"
    assert "(received ***)" in (outcome.error or "")
    assert secret not in caplog.text
    assert secret not in repr(h.state.all())
    assert server.requests[0][2] == secret  # it was sent, in the header only
    assert secret not in json.dumps(server.requests[0][1])


def test_run_polls_each_connector_in_its_own_thread_and_stops_promptly(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory
) -> None:
    server = mastodon()
    server.post("Acme", tags=("acme",))
    broken = {
        "type": "mastodon",
        "name": "down",
        "instances": ["http://127.0.0.1:9"],
        "hashtags": ["acme"],
    }
    h = harness(broken, tags(server), clock_=SystemClock())
    stop = threading.Event()
    thread = threading.Thread(target=h.poller.run, args=(stop,))
    thread.start()
    deadline = time.monotonic() + 10
    while not h.published() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert [m.text for m in h.published()] == ["Acme"]
    states = {s.name: s for s in h.state.all()}
    assert states["down"].last_status == "platform_error"
    assert states["acme-tags"].last_status == "ok"


def test_settings_refuse_search_without_a_token_and_take_bare_urls() -> None:
    with pytest.raises(ValidationError, match="search needs an access token"):
        MastodonSettings.model_validate(
            {"type": "mastodon", "name": "x", "instances": ["https://m.example"], "search": ["a"]}
        )
    settings = MastodonSettings.model_validate(
        {"type": "mastodon", "name": "x", "instances": ["https://m.example/"], "hashtags": ["#a"]}
    )
    assert settings.instances[0].url == "https://m.example"
    assert settings.hashtags == ["a"]


def test_sources_test_networks_run_and_status_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user runs: ``veille sources test``, ``veille networks run --once``, ``veille
    status``; the token (from ``${MASTODON_TOKEN}``) appears in none of them."""
    with FakeMastodon(now=lambda: datetime.now(UTC), tokens=frozenset({TOKEN})) as server:
        server.post("Acme a encore planté", tags=("acme",), acct="carol")
        server.post("acme : support injoignable")
        monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
        config = tmp_path / "veille.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            "brands: [{name: Acme, query: acme}]\n"
            "sources:\n"
            "  networks:\n"
            "    - type: mastodon\n"
            "      name: masto\n"
            f'      instances: [{{url: "{server.url}", token: "${{MASTODON_TOKEN}}"}}]\n'
            "      hashtags: [acme]\n"
            "      search: [acme]\n"
        )

        def run(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(cli, ["--config", str(config), *args])
            assert TOKEN not in result.output
            return result.exit_code, result.output

        code, out = run("sources", "test", "masto")
        assert code == 0, out
        assert "the token is accepted (account @veille)" in out
        assert "one poll: 2 mentions" in out
        assert "@carol" in out
        code, out = run("sources", "test", "nope")
        assert code == 2
        assert "no connector named 'nope'" in out

        code, out = run("networks", "run", "--once")
        assert code == 0, out
        assert "masto" in out
        assert " ok " in out
        code, out = run("status", "--format", "json")
        assert code == 0, out
        [row] = json.loads(out)["networks"]
        assert (row["name"], row["status"], row["mentions"]) == ("masto", "ok", 2)
        assert row["rate_limit"]["limit"] == 300
        assert row["rate_limit"]["remaining"] < 300
        code, out = run("status")
        assert "masto" in out
        assert "/300 until" in out

        monkeypatch.setenv("MASTODON_TOKEN", "revoked-token-0001")
        server.echo_token = True
        code, out = run("sources", "test", "masto")
        assert code == 1
        assert "auth_failed" in out
        assert "revoked-token-0001" not in out


def test_veille_run_has_a_networks_worker_only_when_connectors_are_configured(
    tmp_path: Path, settings_for: Callable[..., Settings]
) -> None:
    plain = {"data_dir": str(tmp_path / "data")}
    connector = {"type": "mastodon", "name": "m", "instances": ["http://127.0.0.1:9"]}
    with App(settings_for(plain)) as app:
        assert "networks" not in [w.name for w in app.workers()]
    networks = {**plain, "sources": {"networks": [{**connector, "hashtags": ["acme"]}]}}
    with App(settings_for(networks)) as app:
        assert "networks" in [w.name for w in app.workers()]


def test_the_commented_example_in_configs_sources_yaml_is_valid() -> None:
    lines = (Path(__file__).resolve().parents[1] / "configs" / "sources.yaml").read_text()
    block = lines[lines.index("  # networks:") :].splitlines()
    example = []
    for line in block:
        if not line.startswith("  #"):
            break
        example.append(line[:2] + line[4:])
    settings = yaml.safe_load("\n".join(example))["networks"]
    mastodon, bluesky = [TypeAdapter(ConnectorSettings).validate_python(c) for c in settings]
    assert isinstance(mastodon, MastodonSettings)
    assert mastodon.instances[1].token is not None
    assert isinstance(bluesky, BlueskySettings)


def test_a_deleted_status_is_reported_once_by_looking_it_up_again(
    mastodon: Callable[..., FakeMastodon], harness: HarnessFactory, clock: FakeClock
) -> None:
    """Documented: ``GET /api/v1/statuses/:id`` answers 404 ``{"error": "Record not found"}``
    for a status that was deleted. Statuses older than ``recheck_window`` are not looked up."""
    server = mastodon()
    old = server.post("vieux", tags=("acme",))
    clock.advance(3600)
    kept, gone = server.post("reste", tags=("acme",)), server.post("effacé", tags=("acme",))
    host = server.url.removeprefix("http://")
    h = harness(tags(server, recheck_window="30m"))
    h.poller.poll_due()
    server.delete(gone["id"])
    server.delete(old["id"])  # too old to be watched: its deletion is not looked for
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.deletions) == ("ok", 1)
    assert h.state.deleted() == [status_id(host, gone["id"])]
    looked_up = [p for p, _, _ in server.requests if p.startswith("/api/v1/statuses/")]
    assert sorted(looked_up) == [f"/api/v1/statuses/{i}" for i in (kept["id"], gone["id"])]
    clock.advance(330)
    assert h.poller.poll_due()[0].deletions == 0
    assert h.state.get("acme-tags", "mastodon").deletions == 1
    assert h.counters.read()["networks"]["deletions"] == 1


def test_a_boost_is_the_boosted_status_and_a_status_without_words_is_no_mention() -> None:
    """Documented: a Status's ``reblog`` holds the boosted status; ``content`` is HTML."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    boosted = {
        "id": "1500",
        "created_at": "2026-11-30T08:00:00.000Z",
        "url": "https://ailleurs.example/@dan/1500",
        "content": "<p>Acme rembourse enfin</p>",
        "account": {"acct": "dan@ailleurs.example", "followers_count": 3},
        "favourites_count": 1,
    }
    boost = {"id": "2000", "created_at": "2026-11-30T09:00:00Z", "reblog": boosted, "content": ""}
    mention = status_to_mention(boost, "m.example", "src", now)
    assert mention.id == status_id("m.example", "1500")
    assert mention.text == "Acme rembourse enfin"
    assert mention.author is not None
    assert mention.author.handle == "dan@ailleurs.example"
    with pytest.raises(ValidationError, match="a mention needs a text or a title"):
        status_to_mention({**boosted, "content": "<p></p>"}, "m.example", "src", now)
