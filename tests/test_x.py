"""The X connector against a local X API v2 (`tests.support.x`) that enforces its documented
contract: the bearer token, recent search's fields, ``since_id`` and ``next_token``, the
``x-rate-limit-*`` headers and 429, the monthly usage cap, the post lookup's ``Not Found
Error``. Each test names the documented behaviour it checks."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from crawlers.networks.quota import quota_of
from crawlers.networks.state import NetworkStateStore
from crawlers.networks.x import post_id
from ingest.clock import FakeClock
from ingest.record import SourceKind
from tests.support.killing import killed_while_publishing
from tests.support.networks import (
    Harness,
    command_line,
    harnesses,
    servers,
)
from tests.support.x import FakeX

TOKEN = "AAAAAAAAAAAAAAAAAAAAAXtest%2Bbearer0123456789"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 12, 1, tzinfo=UTC)
SEARCH = "/2/tweets/search/recent"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def x(clock: FakeClock) -> Iterator[Callable[..., FakeX]]:
    with servers(
        lambda **options: FakeX(now=clock.now, tokens=frozenset({TOKEN}), **options)
    ) as start:
        yield start


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with harnesses(tmp_path, clock) as make:
        yield make


def config(server: FakeX, **options: Any) -> dict[str, Any]:
    return {"type": "x", "name": "x", "token": TOKEN, "search": ["acme"], "api": server.url} | (
        options
    )


def read(h: Harness) -> int:
    quota = quota_of(h.state.get("x", "x").cursor_map())
    assert quota is not None
    return quota.used


def test_a_post_is_mapped_with_its_author_metrics_reply_and_conversation(
    x: Callable[..., FakeX], harness: Callable[..., Harness]
) -> None:
    """Documented: ``expansions=author_id`` puts the authors in ``includes.users``;
    ``public_metrics``, ``lang``, ``conversation_id`` and ``referenced_tweets`` (``replied_to``)
    come back when asked for in ``tweet.fields``."""
    server = x()
    first = server.post("Acme m'a encore facturé deux fois", metrics=(40, 12, 3, 5100))
    reply = server.post("Pareil chez Acme", user="bob", followers=80, reply_to=first["id"])
    server.post("acme", lang="und")
    server.post("rien à voir")
    h = harness(config(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 3)
    by_text = {m.text: m for m in h.published()}
    main = by_text["Acme m'a encore facturé deux fois"]
    assert main.id == post_id(first["id"])
    assert main.url == f"https://x.com/alice/status/{first['id']}"
    assert main.source.kind is SourceKind.SOCIAL
    assert main.author is not None
    assert (main.author.handle, main.author.name, main.author.url, main.author.followers) == (
        "alice",
        "Alice",
        "https://x.com/alice",
        1200,
    )
    e = main.engagement
    assert (e.likes, e.shares, e.replies, e.views) == (40, 12, 3, 5100)
    assert (main.lang, main.parent, main.thread) == ("fr", None, None)
    answer = by_text["Pareil chez Acme"]
    assert answer.parent == main.id
    assert answer.thread is not None
    assert answer.thread.id == main.id
    assert answer.url == f"https://x.com/bob/status/{reply['id']}"
    assert by_text["acme"].lang is None  # "und": no language declared
    [asked] = server.queried(SEARCH)
    assert asked["expansions"] == "author_id"
    assert set(asked["tweet.fields"].split(",")) >= {"public_metrics", "conversation_id"}
    assert read(h) == server.billed == 3


def test_the_first_poll_reads_the_newest_page_only_and_a_malformed_post_is_skipped(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Without ``since_id`` a search goes back 7 days, which could be a month's budget: the
    first poll takes the newest page and leaves its ``next_token``."""
    server = x()
    for i in range(150):
        server.post(f"acme {i}")
    server.posts[-1]["public_metrics"] = {"like_count": -3}  # an answer not as documented
    h = harness(config(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 99)
    assert h.counters.read()["networks"]["skipped"] == 1
    assert len(server.queried(SEARCH)) == 1
    assert read(h) == server.billed == 100
    server.post("acme new")
    clock.advance(900)
    assert h.poller.poll_due(force=True)[0].new == 1


def test_later_polls_read_since_the_newest_and_page_across_polls_nothing_doubled_or_lost(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``since_id`` returns what is newer; ``meta.next_token`` gives the next page
    of the same search (another search's token is ``400 Invalid Request``)."""
    server = x()
    for i in range(30):
        server.post(f"acme old {i}")
    h = harness(config(server, max_results=100, max_pages=2))
    assert h.poller.poll_due()[0].new == 30
    newest = server.posts[-1]["id"]
    for i in range(250):
        server.post(f"acme {i}")
    clock.advance(900)

    [outcome] = h.poller.poll_due(force=True)
    assert (outcome.status, outcome.new) == ("ok", 200)
    assert h.poller.seconds_until_due(h.poller.connectors[0]) <= 1.0
    for i in range(7):  # while the reading is not complete
        server.post(f"acme late {i}")
    clock.advance(1)
    assert h.poller.poll_due()[0].new == 50
    clock.advance(900)
    assert h.poller.poll_due(force=True)[0].new == 7

    searches = server.queried(SEARCH)
    assert "since_id" not in searches[0]
    assert [s.get("since_id") for s in searches[1:]] == [
        newest,
        newest,
        newest,
        server.posts[-8]["id"],
    ]
    assert ["next_token" in s for s in searches] == [False, False, True, True, False]
    published = h.published()
    assert len(published) == len({m.id for m in published}) == 30 + 250 + 7
    assert read(h) == server.billed == 287


def test_the_monthly_budget_stops_the_connector_before_it_is_spent_until_the_first_utc(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """X bills each post read: a page asks for no more than the budget has left, and at fewer
    than 10 (the least ``max_results``) the connector stops until the month's first day."""
    server = x()
    h = harness(config(server, monthly_posts=150, recheck_per_poll=0))
    server.post("acme seed")
    h.poller.poll_due()
    for i in range(200):
        server.post(f"acme {i}")
    clock.advance(900)
    [outcome] = h.poller.poll_due(force=True)
    assert (outcome.status, outcome.new) == ("quota_spent", 149)  # what it read is kept
    assert [q["max_results"] for q in server.queried(SEARCH)[1:]] == ["100", "49"]
    assert read(h) == 150

    sent = len(server.requests)
    clock.advance(900)
    [outcome] = h.poller.poll_due(force=True)
    assert outcome.status == "quota_spent"
    assert "monthly budget spent (150/150 posts read" in (outcome.error or "")
    assert len(server.requests) == sent
    assert server.billed == 150
    state = h.state.get("x", "x")
    assert state.next_poll == clock.now().timestamp() + 6 * 3600  # until then, every 6 h
    assert state.rate_remaining == 448  # a spent budget is no rate limit

    clock.advance(NEXT_MONTH.timestamp() - clock.now().timestamp())
    [outcome] = h.poller.poll_due(force=True)
    assert (outcome.status, outcome.new) == ("ok", 51)  # the rest of the reading
    assert read(h) == 51
    assert len({m.id for m in h.published()}) == 201


def test_a_page_asks_for_no_more_than_the_budget_has_left(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    server = x()
    h = harness(config(server, monthly_posts=45, recheck_per_poll=0))
    server.post("acme seed")
    h.poller.poll_due()
    for i in range(60):
        server.post(f"acme {i}")
    clock.advance(900)
    h.poller.poll_due(force=True)
    assert [q["max_results"] for q in server.queried(SEARCH)] == ["45", "44"]
    assert read(h) == server.billed == 45


def test_x_s_usage_cap_is_a_spent_budget_until_next_month(
    x: Callable[..., FakeX], harness: Callable[..., Harness]
) -> None:
    """Documented: past the monthly cap, 429 ``UsageCapExceeded``."""
    server = x(cap=0)
    server.post("acme")
    h = harness(config(server))
    [outcome] = h.poller.poll_due()
    assert outcome.status == "quota_spent"
    assert "UsageCapExceeded" in (outcome.error or "")
    quota = quota_of(h.state.get("x", "x").cursor_map())
    assert quota is not None
    assert quota.reset == NEXT_MONTH.timestamp()


def test_a_429_waits_until_x_rate_limit_reset_and_a_spent_limit_stops_before_one(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``x-rate-limit-remaining``, ``x-rate-limit-reset`` (epoch seconds); past the
    limit, ``429 Too Many Requests`` until the reset."""
    server = x(rate_limit=2)
    server.post("acme")
    h = harness(config(server, max_results=10, recheck_per_poll=0))
    h.poller.poll_due()
    for i in range(25):
        server.post(f"acme {i}")
    clock.advance(60)

    [outcome] = h.poller.poll_due(force=True)  # one page, then remaining: 0

    reset = START.timestamp() + 900
    assert (outcome.status, outcome.new) == ("rate_limited", 10)
    assert len(server.queried(SEARCH)) == 2  # no request met a 429
    state = h.state.get("x", "x")
    assert (state.rate_remaining, state.rate_reset, state.next_poll) == (0, reset, reset)

    clock.advance(reset - clock.now().timestamp())
    for _ in range(2):  # another client spends the new window
        httpx.get(f"{server.url}{SEARCH}?query=z", headers={"Authorization": f"Bearer {TOKEN}"})
    [outcome] = h.poller.poll_due()
    assert outcome.status == "rate_limited"
    assert "Too Many Requests" in (outcome.error or "")
    assert h.state.get("x", "x").next_poll == reset + 900
    clock.advance(900)
    assert h.poller.poll_due()[0].new == 15  # two pages: the rest of the reading
    assert len({m.id for m in h.published()}) == 26


@pytest.mark.parametrize("echo", [False, True])
def test_a_refused_token_is_auth_failed_and_the_token_appears_nowhere(
    x: Callable[..., FakeX],
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
    echo: bool,
) -> None:
    """Documented: an unknown bearer token is ``401 Unauthorized`` (problem details)."""
    server = x()
    server.echo_token = echo
    secret = "AAAAwrong%2Bbut%2Bsecret0042"
    h = harness(config(server, token=secret))
    with caplog.at_level(logging.DEBUG):
        [outcome] = h.poller.poll_due()
    assert outcome.status == "auth_failed"
    assert "401: Unauthorized" in (outcome.error or "")
    assert secret not in caplog.text
    assert secret not in repr(h.state.all())
    assert server.requests[0][2] == secret


def test_an_app_outside_a_project_is_auth_failed(
    x: Callable[..., FakeX], harness: Callable[..., Harness]
) -> None:
    """Documented: ``403 Client Forbidden`` for an app not attached to a project."""
    server = x()
    server.forbidden = frozenset({TOKEN})
    h = harness(config(server))
    [outcome] = h.poller.poll_due()
    assert outcome.status == "auth_failed"
    assert "Client Forbidden" in (outcome.error or "")
    assert h.state.get("x", "x").next_poll == START.timestamp() + 24 * 3600


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ((503, b'{"title": "Service Unavailable", "detail": "busy"}'), "Service Unavailable"),
        ((200, b'{"data": [{"id": '), "not JSON"),
    ],
)
def test_a_server_error_or_malformed_json_is_a_platform_error_then_read_again(
    x: Callable[..., FakeX],
    harness: Callable[..., Harness],
    clock: FakeClock,
    fault: tuple[int, bytes],
    says: str,
) -> None:
    server = x()
    server.post("acme")
    server.fault = fault
    h = harness(config(server))
    [outcome] = h.poller.poll_due()
    assert (outcome.status, h.published()) == ("platform_error", [])
    assert says in (outcome.error or "")
    state = h.state.get("x", "x")
    assert "search acme" not in state.cursor_map()
    assert read(h) == 0  # nothing billed: no post came back
    server.fault = None
    clock.advance(state.next_poll - START.timestamp() + 1)
    assert h.poller.poll_due()[0].new == 1  # backed off, then read what it had missed


def test_a_deleted_post_is_reported_by_looking_it_up_once_an_hour_later(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``GET /2/tweets?ids=`` returns the posts that exist in ``data`` and each
    missing one in ``errors`` as ``Not Found Error``; the posts it returns are billed."""
    server = x()
    kept, gone = server.post("acme reste"), server.post("acme effacé")
    h = harness(config(server))
    h.poller.poll_due()
    server.delete(gone["id"])
    clock.advance(1800)
    assert h.poller.poll_due(force=True)[0].deletions == 0  # not an hour yet
    assert server.queried("/2/tweets") == []
    clock.advance(1800)

    [outcome] = h.poller.poll_due(force=True)

    assert (outcome.status, outcome.deletions) == ("ok", 1)
    assert h.state.deleted() == [post_id(gone["id"])]
    [lookup] = server.queried("/2/tweets")
    assert sorted(lookup["ids"].split(",")) == sorted([kept["id"], gone["id"]])
    assert read(h) == server.billed == 2 + 1
    clock.advance(3600)
    assert h.poller.poll_due(force=True)[0].deletions == 0
    assert len(server.queried("/2/tweets")) == 1  # each post is looked up once


def test_sources_test_and_status_show_the_posts_read_this_month(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user runs; the token (from ``${X_BEARER_TOKEN}``) appears in none of it.
    ``sources test`` checks the token with ``counts/recent``, which reads no post."""
    with FakeX(now=lambda: datetime.now(UTC), tokens=frozenset({TOKEN})) as server:
        server.post("Acme, service client aux abonnés absents", user="carol")
        server.post("acme ou pas acme")
        monkeypatch.setenv("X_BEARER_TOKEN", TOKEN)
        run = command_line(
            tmp_path,
            "    - type: x\n"
            "      name: x-acme\n"
            '      token: "${X_BEARER_TOKEN}"\n'
            '      search: ["acme -is:retweet"]\n'
            "      monthly_posts: 5000\n"
            f"      api: {server.url}\n",
            TOKEN,
        )

        code, out = run("sources", "test", "x-acme")
        assert code == 0, out
        assert "query 'acme -is:retweet': posts in the last 7 days: 2" in out
        assert "one poll: 2 mentions" in out
        assert "Carol" in out
        code, out = run("networks", "run", "--once")
        assert code == 0, out
        code, out = run("status", "--format", "json")
        [row] = json.loads(out)["networks"]
        assert (row["status"], row["mentions"]) == ("ok", 2)
        assert (row["quota"]["used"], row["quota"]["budget"], row["quota"]["unit"]) == (
            2,
            5000,
            "posts",
        )
        assert row["quota"]["reset"].endswith("-01T00:00:00+00:00")
        assert row["rate_limit"]["limit"] == 450
        code, out = run("status")
        assert "2/5000 posts until" in out

        monkeypatch.setenv("X_BEARER_TOKEN", "AAAArevoked0000000000011")
        server.echo_token = True
        code, out = run("sources", "test", "x-acme")
        assert code == 1
        assert "auth_failed" in out
        assert "AAAArevoked0000000000011" not in out


def test_settings_take_the_documented_bounds() -> None:
    from pydantic import ValidationError

    from crawlers.networks.settings import XSettings

    base = {"type": "x", "name": "x", "token": "t", "search": ["acme"]}
    for wrong in ({"max_results": 5}, {"max_results": 101}, {"search": []}, {"monthly_posts": 0}):
        with pytest.raises(ValidationError):
            XSettings.model_validate(base | wrong)
    assert XSettings.model_validate(base).recheck_after == timedelta(hours=1)


@pytest.mark.slow
def test_sigkill_at_random_moments_while_x_keeps_posting_loses_no_post_and_counts_reads(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """``veille networks run`` killed with SIGKILL ten times at random moments while posts keep
    coming: every post reaches ``mentions.raw`` (a reading's ``since_id`` and ``next_token`` are
    saved only after its posts are published); one is published twice only when a kill lands
    between publishing and marking it seen. The budget counts what X billed, short at most of
    the pages of the polls a kill cut (their count is saved with their cursors)."""
    with FakeX(
        now=lambda: datetime.now(UTC), tokens=frozenset({TOKEN}), rate_limit=10**6
    ) as server:
        connector = config(server, interval="100ms", max_results=10, max_pages=2)
        config_path = write_config(
            {"data_dir": str(tmp_path / "data"), "sources": {"networks": [connector]}}
        )
        command = [sys.executable, "-m", "veille.cli", "--config", str(config_path)]

        def publish(n: int) -> None:
            server.post(f"acme n°{n}" if n % 4 else f"rien n°{n}")

        def stored_on_the_server() -> set[str]:
            return {post_id(p["id"]) for p in server.posts if "acme" in p["text"]}

        published = killed_while_publishing(
            [*command, "networks", "run"],
            tmp_path,
            publish,
            lambda: bool(server.requests),
            stored_on_the_server,
        )
        expected = stored_on_the_server()
        state = NetworkStateStore(tmp_path / "data" / "state" / "networks.db")
        try:
            quota = quota_of(state.get("x", "x").cursor_map())
        finally:
            state.close()
        billed = server.billed
    assert set(published) == expected
    assert len(expected) > 100
    assert len(published) - len(set(published)) <= 10 * 2 * 10  # at most a poll's pages a kill
    assert quota is not None
    assert billed - 10 * 2 * 10 <= quota.used <= billed


def test_a_connector_stopped_longer_than_a_week_starts_again_from_the_newest_post(
    x: Callable[..., FakeX], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: recent search covers 7 days; a ``since_id`` older than that is ``400
    Invalid Request`` ("Please use a 'since_id' that is larger than ...")."""
    server = x()
    server.post("acme avant")
    h = harness(config(server, recheck_per_poll=0, max_pages=1))
    h.poller.poll_due()
    clock.advance(8 * 24 * 3600)
    server.post("acme après")

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 1)
    _, refused, fresh = server.queried(SEARCH)
    assert "since_id" in refused
    assert "since_id" not in fresh
    assert h.texts() == ["acme après", "acme avant"]
