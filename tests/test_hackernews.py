"""The Hacker News connector against a local HN Search API (`tests.support.hackernews`) that
enforces the documented contract: ``search_by_date`` newest first, ``tags``, ``numericFilters``
on ``created_at_i``, ``page``/``hitsPerPage`` with at most 1,000 hits reachable, 429 past the
hourly limit, ``{"message": ...}`` error bodies. Each test names the documented behaviour it
checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawlers.networks.hackernews import item_id
from ingest.clock import FakeClock
from ingest.record import SourceKind
from tests.support.hackernews import FakeHackerNews
from tests.support.networks import Harness, harnesses, servers
from veille.cli import cli

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def hn(clock: FakeClock) -> Iterator[Callable[..., FakeHackerNews]]:
    with servers(partial(FakeHackerNews, now=clock.now)) as start:
        yield start


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with harnesses(tmp_path, clock) as make:
        yield make


def search(server: FakeHackerNews, name: str = "hn-acme", **options: Any) -> dict[str, Any]:
    return {
        "type": "hackernews",
        "name": name,
        "search": ["acme"],
        "api_url": f"{server.url}/api/v1",
    } | options


def test_stories_and_comments_with_every_field_mapped(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness]
) -> None:
    """Documented: a hit's objectID, created_at_i, author, title, url, story_text, points,
    num_comments; a comment's comment_text (HTML), story_id, parent_id, story_title."""
    server = hn()
    story = server.story("Acme raises prices again", points=120, num_comments=45)
    first = server.comment(story, "<p>Acme&#x27;s support is <i>gone</i></p>", author="tptacek")
    server.comment(story, "acme: same here", parent=first["objectID"])
    server.story("Nothing to see", url="https://other.example")
    h = harness(search(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 3)
    assert server.requests[0] == {
        "query": "acme",
        "tags": "(story,comment)",
        "hitsPerPage": "100",
        "page": "0",
    }
    by_id = {m.id: m for m in h.published()}
    main = by_id[item_id(story["objectID"])]
    assert main.url == f"https://news.ycombinator.com/item?id={story['objectID']}"
    assert main.site == "news.ycombinator.com"
    assert main.source.kind is SourceKind.SOCIAL
    assert main.title == "Acme raises prices again"
    assert main.author is not None
    assert (main.author.handle, main.author.url) == (
        "pg",
        "https://news.ycombinator.com/user?id=pg",
    )
    assert (main.engagement.likes, main.engagement.replies) == (120, 45)
    assert main.published == START
    reply = by_id[item_id(first["objectID"])]
    assert reply.text == "Acme's support is gone"
    assert reply.title is None
    assert reply.parent == main.id
    assert reply.thread is not None
    assert (reply.thread.id, reply.thread.title) == (main.id, "Acme raises prices again")
    nested = by_id[item_id(server.hits[2]["objectID"])]
    assert nested.parent == reply.id


def test_the_cursor_asks_from_the_newest_time_and_passes_over_the_hits_at_its_boundary(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``numericFilters=created_at_i>=N``; hits of the same second as the newest
    seen come again, and are not published twice."""
    server = hn()
    server.story("acme one")
    h = harness(search(server, overlap="0s"))
    h.poller.poll_due()
    server.story("acme two, same second")
    clock.advance(330)
    server.story("acme three")

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 2)
    assert server.requests[1]["numericFilters"] == f"created_at_i>={int(START.timestamp())}"
    clock.advance(330)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 0)
    assert sorted(m.title or "" for m in h.published()) == [
        "acme one",
        "acme three",
        "acme two, same second",
    ]


def test_a_hit_the_index_added_late_is_found_within_the_overlap(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """The index adds a hit a little after it was posted: one created before the newest seen
    but listed after it is read while it is younger than ``overlap``."""
    server = hn()
    server.story("acme first")
    clock.advance(120)
    server.story("acme second")
    h = harness(search(server, overlap="5m"))
    h.poller.poll_due()
    server.story("acme late", created=START + timedelta(seconds=60))
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 1)
    assert len(h.published()) == 3


def test_a_busy_window_is_split_and_read_over_several_polls_none_lost_none_twice(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``page`` from 0, ``nbPages``; past ``max_pages`` pages the connector halves
    its time window, and reads the rest a second later."""
    server = hn()
    server.story("acme seed")
    h = harness(search(server, page_size=20, max_pages=3, overlap="0s"))
    h.poller.poll_due()
    for i in range(250):
        clock.advance(1)
        server.story(f"acme {i}")
    clock.advance(330)

    news = []
    while len(news) < 30:
        [outcome] = h.poller.poll_due(force=True)
        assert outcome.status == "ok"
        news.append(outcome.new)
        if h.poller.seconds_until_due(h.poller.connectors[0]) > 1:
            break
        clock.advance(1)

    assert sum(news) == 250
    assert len(news) > 4
    titles = [m.title or "" for m in h.published()]
    assert len(titles) == len(set(titles)) == 251
    assert max(int(q.get("hitsPerPage", 0)) for q in server.requests) == 20
    assert all(int(q["page"]) < 3 for q in server.requests)


def test_more_hits_in_one_second_than_max_pages_hold_are_read_in_one_poll(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """A window of one second cannot be halved (``created_at_i`` counts seconds): all its
    pages are read, rather than its newest ones again at every poll."""
    server = hn()
    server.story("acme seed")
    h = harness(search(server, page_size=5, max_pages=2, overlap="0s"))
    h.poller.poll_due()
    clock.advance(330)
    for i in range(23):
        server.story(f"acme {i}")

    news = []
    for _ in range(20):
        [outcome] = h.poller.poll_due(force=True)
        news.append(outcome.new)
        if h.poller.seconds_until_due(h.poller.connectors[0]) > 1:
            break
        clock.advance(1)

    assert sum(news) == 23
    assert len(news) == 2  # the first page of the newest second, then that second whole
    assert len({m.id for m in h.published()}) == 24


def test_more_hits_than_the_search_can_reach_are_split_too(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: at most 1,000 hits of one search can be reached (``nbPages`` stops
    there)."""
    server = hn()
    server.story("acme seed")
    h = harness(search(server, page_size=1000, max_pages=1, overlap="0s"))
    h.poller.poll_due()
    for i in range(1500):
        clock.advance(1)
        server.story(f"acme {i}")
    clock.advance(330)
    total = 0
    for _ in range(10):
        total += h.poller.poll_due(force=True)[0].new
        clock.advance(1)
    assert total == 1500
    assert len(h.published()) == 1501


def test_a_429_is_rate_limited_and_backed_off(
    hn: Callable[..., FakeHackerNews], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: 10,000 requests an hour from one address, then 429 ``{"message": ...}``
    (no rate-limit header: the connector backs off from its interval)."""
    server = hn(rate_limit=2)
    server.story("acme")
    h = harness(search(server))
    h.poller.poll_due()
    clock.advance(330)
    h.poller.poll_due()
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert outcome.status == "rate_limited"
    assert "exceeded the rate limit" in (outcome.error or "")
    state = h.state.get("hn-acme", "hackernews")
    assert state.next_poll - clock.now().timestamp() >= 570  # the interval, doubled


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ((500, b'{"message": "Internal error", "status": 500}'), "HTTP 500: Internal error"),
        ((200, b'{"hits": [{"objectID": "1"'), "not JSON"),
        ((200, b'{"hits": "none"}'), "has no hits"),
    ],
)
def test_a_server_error_or_malformed_json_is_a_platform_error_while_another_goes_on(
    hn: Callable[..., FakeHackerNews],
    harness: Callable[..., Harness],
    fault: tuple[int, bytes],
    says: str,
) -> None:
    broken, fine = hn(), hn()
    broken.fault = fault
    fine.story("acme fine")
    h = harness(search(broken, name="broken"), search(fine))

    outcomes = {o.connector: o for o in h.poller.poll_due()}

    assert outcomes["broken"].status == "platform_error"
    assert says in (outcomes["broken"].error or "")
    assert (outcomes["hn-acme"].status, outcomes["hn-acme"].new) == ("ok", 1)


def test_sources_test_prints_one_poll(tmp_path: Path) -> None:
    with FakeHackerNews(now=lambda: datetime.now(UTC)) as server:
        server.story("Acme est racheté", author="jl")
        config = tmp_path / "veille.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            "sources:\n"
            "  networks:\n"
            "    - type: hackernews\n"
            "      name: hn\n"
            "      search: [acme]\n"
            f"      api_url: {server.url}/api/v1\n"
        )
        result = CliRunner().invoke(cli, ["--config", str(config), "sources", "test", "hn"])
        assert result.exit_code == 0, result.output
        assert "the search answers (1 hits in all)" in result.output
        assert "one poll: 1 mentions" in result.output
        assert "@jl" in result.output
        assert "Acme est racheté" in result.output
