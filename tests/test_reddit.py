"""The Reddit connector against a local Reddit (`tests.support.reddit`) that enforces the
documented contract: the application-only token, Listings paged by ``after`` and ``before``,
``raw_json``, the ``X-Ratelimit-*`` headers and 429, the User-Agent rule, and the RSS feeds.
Each test names the documented behaviour it checks."""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from crawlers.networks.hackernews import item_id
from crawlers.networks.reddit import thing_id
from crawlers.networks.settings import RedditSettings
from ingest.clock import FakeClock
from ingest.record import SourceKind
from tests.support.hackernews import FakeHackerNews
from tests.support.killing import killed_while_publishing
from tests.support.networks import Harness, harnesses, servers
from tests.support.reddit import FakeReddit
from veille.cli import cli

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
APP = "veille-app-id"
SECRET = "s3cr3t-Qx81-reddit-7f2a"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def reddit(clock: FakeClock) -> Iterator[Callable[..., FakeReddit]]:
    with servers(
        lambda **options: FakeReddit(now=clock.now, apps={APP: SECRET}, **options)
    ) as start:
        yield start


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with harnesses(tmp_path, clock) as make:
        yield make


def app(server: FakeReddit, name: str = "reddit-acme", **options: Any) -> dict[str, Any]:
    """A connector with an approved app, on ``server``."""
    return {
        "type": "reddit",
        "name": name,
        "client_id": APP,
        "client_secret": SECRET,
        "user_agent": "python:veille-tests:0.1 (by /u/veille)",
        "api_url": server.url,
        "www_url": server.url,
    } | options


def feeds(server: FakeReddit, name: str = "reddit-rss", **options: Any) -> dict[str, Any]:
    """A connector without an app: the RSS feeds."""
    return {"type": "reddit", "name": name, "www_url": server.url} | options


def test_an_app_token_then_listings_with_every_field_mapped(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness]
) -> None:
    """Documented: the application-only token (Basic client_id:secret, grant_type=
    client_credentials), then ``Authorization: bearer`` on oauth.reddit.com; ``raw_json=1``;
    a t3's title, selftext, author, score, num_comments, permalink, created_utc; a t1's body,
    link_id, parent_id, link_title."""
    server = reddit()
    post = server.post(
        "Acme & moi : 3 h d'attente", text="Le SAV <ne répond pas>", score=42, num_comments=7
    )
    reply = server.comment(post, "Pareil chez moi", score=-3)
    server.comment(post, "Et encore", parent=reply["name"], author="[deleted]")
    server.post("rien à voir", sub="cuisine")
    h = harness(app(server, search=["acme"], subreddits=["france"]))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 3)
    [(_, path, _, basic)] = [r for r in server.requests if r[0] == "POST"]
    assert path == "/api/v1/access_token"
    assert basic is not None
    assert basic.startswith("Basic ")
    assert all(
        auth is not None and auth.startswith("Bearer tok-")
        for method, path, _, auth in server.requests
        if method == "GET"
    )
    assert server.agents == {"python:veille-tests:0.1 (by /u/veille)"}
    assert server.queried("/search") == [
        {"q": "acme", "sort": "new", "type": "link", "limit": "100", "raw_json": "1"}
    ]
    by_id = {m.id: m for m in h.published()}
    main = by_id[thing_id(post["name"])]
    assert main.title == "Acme & moi : 3 h d'attente"
    assert main.text == "Le SAV <ne répond pas>"
    assert main.url == f"{server.url}{post['permalink']}"
    assert main.source.kind is SourceKind.SOCIAL
    assert main.author is not None
    assert (main.author.handle, main.author.url) == ("alice", f"{server.url}/user/alice")
    assert (main.engagement.likes, main.engagement.replies) == (42, 7)
    assert main.thread is not None
    assert main.thread.title == "r/france: Acme & moi : 3 h d'attente"
    assert main.published == START
    comment = by_id[thing_id(reply["name"])]
    assert comment.parent == main.id
    assert comment.thread is not None
    assert (comment.thread.id, comment.thread.url) == (main.id, main.url)
    assert comment.engagement.likes == 0  # a negative score is no count of likes
    nested = by_id[thing_id(server.things[2]["data"]["name"])]
    assert nested.parent == comment.id
    assert nested.author is None  # [deleted]


def test_later_polls_read_forward_with_before_until_the_newest_none_lost_none_twice(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``before=<fullname>`` gives the page just newer than that thing, newest
    first. When the newest page is all new, the connector reads forward from its cursor."""
    server = reddit()
    seed = server.post("seed", sub="acme")
    h = harness(app(server, subreddits=["acme"], comments=False, page_size=10))
    h.poller.poll_due()
    for i in range(35):
        clock.advance(1)
        server.post(f"new {i}", sub="acme")
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 35)
    assert sorted(m.title or "" for m in h.published()) == sorted(
        ["seed", *(f"new {i}" for i in range(35))]
    )
    befores = [q.get("before") for q in server.queried("/r/acme/new")[2:]]
    names = [t["data"]["name"] for t in server.things]
    assert befores == [seed["name"], names[10], names[20], names[30]]
    clock.advance(330)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 0)
    assert len(server.queried("/r/acme/new")) == 7  # one page: nothing new


def test_max_pages_leaves_the_rest_for_a_poll_soon_after(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    server = reddit()
    server.post("seed", sub="acme")
    h = harness(app(server, subreddits=["acme"], comments=False, page_size=5, max_pages=3))
    h.poller.poll_due()
    for i in range(23):
        clock.advance(1)
        server.post(f"n{i}", sub="acme")
    clock.advance(330)

    news = []
    for _ in range(3):
        [outcome] = h.poller.poll_due()
        news.append(outcome.new)
        clock.advance(1)
    assert news == [10, 10, 3]
    assert h.poller.seconds_until_due(h.poller.connectors[0]) > 1
    titles = [m.title for m in h.published()]
    assert sorted(t or "" for t in titles) == sorted(["seed", *(f"n{i}" for i in range(23))])


def test_a_deleted_cursor_post_falls_back_to_reading_back_with_after(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: a ``before`` fullname no longer in the listing gives an empty page; the
    connector then pages back with ``after`` from the newest page to its cursor's time."""
    server = reddit()
    seed = server.post("seed", sub="acme")
    h = harness(app(server, subreddits=["acme"], comments=False, page_size=5))
    h.poller.poll_due()
    server.delete(seed["name"])
    for i in range(12):
        clock.advance(1)
        server.post(f"n{i}", sub="acme")
    clock.advance(330)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 12)
    assert [q.get("after") for q in server.queried("/r/acme/new")[3:]] == [
        server.things[7]["data"]["name"],
        server.things[2]["data"]["name"],
    ]


def test_the_token_is_asked_again_when_it_expires_or_a_401_says_so(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: a token lasts ``expires_in`` seconds; an expired or revoked one is 401
    ``{"message": "Unauthorized", "error": 401}``."""
    server = reddit(token_ttl=timedelta(hours=1))
    server.post("acme un", sub="acme")
    h = harness(app(server, subreddits=["acme"], comments=False))
    h.poller.poll_due()
    clock.advance(3600)
    server.post("acme deux", sub="acme")
    assert h.poller.poll_due()[0].new == 1
    server.expire_tokens()  # Reddit revokes it early
    clock.advance(330)
    server.post("acme trois", sub="acme")

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 1)
    assert [r[0] for r in server.requests] == ["POST", "GET", "POST", "GET", "GET", "POST", "GET"]
    assert len(h.published()) == 3


def test_remaining_zero_stops_the_poll_until_reset_seconds_and_a_429_waits_too(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``X-Ratelimit-Remaining`` (a decimal) and ``X-Ratelimit-Reset`` (seconds
    until the 10-minute window ends); past the limit, 429 until then."""
    server = reddit(rate_limit=3)
    post = server.post("acme", sub="acme")
    server.comment(post, "acme aussi")
    h = harness(app(server, subreddits=["acme"]))
    assert h.poller.poll_due()[0].new == 2  # 2 requests of 3
    clock.advance(60)
    server.post("acme encore", sub="acme")

    [outcome] = h.poller.poll_due(force=True)  # the 3rd answers Remaining: 0.0

    assert (outcome.status, outcome.new) == ("rate_limited", 1)
    window_end = START.timestamp() + 600
    state = h.state.get("reddit-acme", "reddit")
    assert (state.rate_limit, state.rate_remaining, state.rate_reset) == (3, 0, window_end)
    assert state.next_poll == window_end
    assert len(server.queried("/r/acme/comments")) == 1  # not asked again to meet a 429

    clock.advance(window_end - clock.now().timestamp())
    token = httpx.post(  # another process with the same app spends the new window
        f"{server.url}/api/v1/access_token",
        data={"grant_type": "client_credentials"},
        auth=(APP, SECRET),
        headers={"User-Agent": "python:other:1.0 (by /u/veille)"},
    ).json()["access_token"]
    for _ in range(3):
        httpx.get(
            f"{server.url}/r/acme/new",
            headers={"Authorization": f"bearer {token}", "User-Agent": "python:other:1.0"},
        )
    clock.advance(120)
    [outcome] = h.poller.poll_due()
    assert outcome.status == "rate_limited"
    assert "Too Many Requests" in (outcome.error or "")
    assert h.state.get("reddit-acme", "reddit").next_poll == window_end + 600
    clock.advance(480)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, len(h.published())) == ("ok", 3)


def test_a_refused_app_is_auth_failed_without_its_secret_anywhere_while_another_goes_on(
    reddit: Callable[..., FakeReddit],
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Documented: unknown credentials at the token endpoint are 401 ``{"message":
    "Unauthorized", "error": 401}``; this server also quotes what it received."""
    server = reddit()
    server.echo_secret = True
    server.post("Acme en panne", sub="acme")
    wrong = "wrong-but-secret-77xq"
    h = harness(
        app(server, name="bad-app", subreddits=["acme"], client_secret=wrong),
        feeds(server, subreddits=["acme"], comments=False),
    )
    with caplog.at_level(logging.DEBUG):
        outcomes = {o.connector: o for o in h.poller.poll_due()}

    bad = outcomes["bad-app"]
    assert bad.status == "auth_failed"
    assert "401: Unauthorized (received" in (bad.error or "")
    assert wrong not in (bad.error or "")
    assert wrong not in caplog.text
    assert wrong not in repr(h.state.all())
    assert (outcomes["reddit-rss"].status, outcomes["reddit-rss"].new) == ("ok", 1)


def test_a_token_the_api_refuses_twice_is_auth_failed_and_appears_nowhere(
    reddit: Callable[..., FakeReddit],
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Documented: 401 on the API for a token it does not take; the connector asks for a new
    token once, then gives up. The server quotes the bearer tokens it received."""
    server = reddit()
    server.refuse_tokens = server.echo_secret = True
    server.post("Acme", sub="acme")
    h = harness(app(server, subreddits=["acme"], comments=False))
    with caplog.at_level(logging.DEBUG):
        [outcome] = h.poller.poll_due()

    assert outcome.status == "auth_failed"
    assert "401: Unauthorized (received Bearer ***)" in (outcome.error or "")
    issued = list(server.tokens)
    assert len(issued) == 2
    for token in issued:
        assert token not in (outcome.error or "")
        assert token not in caplog.text
        assert token not in repr(h.state.all())


def test_cursors_survive_a_restart_none_lost_none_twice(
    reddit: Callable[..., FakeReddit], tmp_path: Path, clock: FakeClock
) -> None:
    server = reddit()
    for i in range(3):
        server.post(f"a{i}", sub="acme")
    first = Harness(tmp_path, [app(server, subreddits=["acme"], comments=False)], clock)
    first.poller.poll_due()
    first.close()
    for i in range(4):
        clock.advance(1)
        server.post(f"b{i}", sub="acme")
    clock.advance(330)

    again = Harness(tmp_path, [app(server, subreddits=["acme"], comments=False)], clock)
    try:
        [outcome] = again.poller.poll_due()
        assert outcome.new == 4
        assert sorted(m.title or "" for m in again.published()) == [
            "a0",
            "a1",
            "a2",
            "b0",
            "b1",
            "b2",
            "b3",
        ]
    finally:
        again.close()


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ((500, b'{"message": "Internal Server Error", "error": 500}'), "HTTP 500"),
        ((200, b"{oops"), "not JSON"),
    ],
)
def test_a_server_error_or_malformed_json_is_a_platform_error_while_another_goes_on(
    reddit: Callable[..., FakeReddit],
    harness: Callable[..., Harness],
    fault: tuple[int, bytes],
    says: str,
) -> None:
    broken, fine = reddit(), reddit()
    broken.fault = fault
    fine.post("Acme", sub="acme")
    h = harness(app(broken, name="broken", subreddits=["acme"]), app(fine, subreddits=["acme"]))

    outcomes = {o.connector: o for o in h.poller.poll_due()}

    assert outcomes["broken"].status == "platform_error"
    assert says in (outcomes["broken"].error or "")
    assert (outcomes["reddit-acme"].status, outcomes["reddit-acme"].new) == ("ok", 1)
    assert h.state.get("broken", "reddit").failures == 1


def test_without_an_app_the_rss_feeds_are_read_and_paged_the_same_way(
    reddit: Callable[..., FakeReddit], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``/search.rss?q=&sort=new``, ``/r/{sub}/new/.rss``, ``/r/{sub}/comments/
    .rss``: Atom entries whose id is the fullname, author ``/u/name``, content ending with
    "submitted by"; ``limit`` and ``before`` as for the listings."""
    server = reddit()
    post = server.post("Acme rembourse enfin", sub="france", text="Après 3 mois")
    server.comment(post, "Enfin !", author="carol")
    h = harness(feeds(server, search=["acme"], subreddits=["france"], page_size=3))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 2)  # the post came twice, published once
    assert all(r[3] is None for r in server.requests)  # no key, no token
    by_id = {m.id: m for m in h.published()}
    main = by_id[thing_id(post["name"])]
    assert (main.title, main.text) == ("Acme rembourse enfin", "Après 3 mois")
    assert main.author is not None
    assert main.author.handle == "alice"
    assert main.url == f"{server.url}{post['permalink']}"
    comment = by_id[thing_id(server.things[1]["data"]["name"])]
    assert comment.text == "Enfin !"
    assert comment.thread is not None
    assert (comment.thread.id, comment.thread.title) == (main.id, "r/france: Acme rembourse enfin")

    for i in range(7):
        clock.advance(1)
        server.post(f"acme {i}", sub="france")
    clock.advance(330)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 7)
    assert [q.get("before") for q in server.queried("/r/france/new/.rss")[2:]] == [
        post["name"],
        server.things[4]["data"]["name"],
        server.things[7]["data"]["name"],
    ]
    assert len(h.published()) == 9


def test_settings_need_both_halves_of_an_app_and_something_to_read() -> None:
    with pytest.raises(ValidationError, match="needs both client_id and client_secret"):
        RedditSettings.model_validate(
            {"type": "reddit", "name": "r", "search": ["a"], "client_id": "x"}
        )
    with pytest.raises(ValidationError, match="give search queries, or subreddits"):
        RedditSettings.model_validate({"type": "reddit", "name": "r"})
    settings = RedditSettings.model_validate(
        {"type": "reddit", "name": "r", "subreddits": ["r/france", "/r/Paris"]}
    )
    assert settings.subreddits == ["france", "Paris"]


def test_sources_test_checks_the_app_and_prints_one_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user runs: ``veille sources test NAME``, the secret from ``${REDDIT_SECRET}``;
    a revoked secret is auth_failed, and appears nowhere."""
    with FakeReddit(now=lambda: datetime.now(UTC), apps={APP: SECRET}) as server:
        server.post("Acme a encore planté", sub="france", author="dave")
        monkeypatch.setenv("REDDIT_SECRET", SECRET)
        config = tmp_path / "veille.yaml"
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            "sources:\n"
            "  networks:\n"
            "    - type: reddit\n"
            "      name: rdt\n"
            f"      client_id: {APP}\n"
            '      client_secret: "${REDDIT_SECRET}"\n'
            "      subreddits: [france]\n"
            f"      api_url: {server.url}\n"
            f"      www_url: {server.url}\n"
        )

        def run(*args: str) -> tuple[int, str]:
            result = CliRunner().invoke(cli, ["--config", str(config), *args])
            return result.exit_code, result.output

        code, out = run("sources", "test", "rdt")
        assert code == 0, out
        assert "client id and secret are accepted" in out
        assert "one poll: 1 mentions" in out
        assert "@dave" in out
        assert SECRET not in out
        assert any(a.startswith("python:veille:") for a in server.agents)

        monkeypatch.setenv("REDDIT_SECRET", "revoked-secret-0001")
        server.echo_secret = True
        code, out = run("sources", "test", "rdt")
        assert code == 1
        assert "auth_failed" in out
        assert "revoked-secret-0001" not in out
        assert json.dumps(out)  # printable


def test_sigkill_at_random_moments_while_both_platforms_publish_loses_nothing(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """``veille networks run`` with a Reddit and a Hacker News connector, killed with SIGKILL
    ten times at random moments while both servers keep publishing: each restart reads on
    from the saved cursors, so every post and comment reaches ``mentions.raw``; one can be
    published twice only when a kill lands between publishing and marking it seen (the store
    keeps it once, by its id)."""
    now = lambda: datetime.now(UTC)  # noqa: E731
    fake = FakeReddit(now=now, apps={APP: SECRET}, rate_limit=1_000_000)
    with fake as rdt, FakeHackerNews(now=now) as hn:
        config = write_config(
            {
                "data_dir": str(tmp_path / "data"),
                "sources": {
                    "networks": [
                        app(rdt, subreddits=["acme"], page_size=20, max_pages=3, interval="100ms"),
                        {
                            "type": "hackernews",
                            "name": "hn",
                            "search": ["acme"],
                            "api_url": f"{hn.url}/api/v1",
                            "page_size": 20,
                            "max_pages": 3,
                            "interval": "100ms",
                        },
                    ]
                },
            }
        )
        command = [sys.executable, "-m", "veille.cli", "--config", str(config), "networks", "run"]
        expected: list[str] = []

        def publish(n: int) -> None:
            post = rdt.post(f"acme n°{n}", sub="acme")
            comment = rdt.comment(post, f"réponse n°{n}")
            story = hn.story(f"acme story {n}")
            hn.story(f"other story {n}", url="https://other.example")
            expected.extend(
                [thing_id(post["name"]), thing_id(comment["name"]), item_id(story["objectID"])]
            )

        published = killed_while_publishing(
            command, tmp_path, publish, lambda: bool(rdt.tokens), expected, every=0.05
        )
    assert set(published) == set(expected)
    assert len(expected) > 150
    assert max(Counter(published).values()) <= 2  # a batch replayed once by a kill, at most
