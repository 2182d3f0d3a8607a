"""The Bluesky connector's AppView side (search, followers), against a local PDS
(`tests.support.appview`) and a local Jetstream (`veille.demo.jetstream`), each enforcing the
documented contract: sessions and their refresh, ``searchPosts``' cursors and limits,
``getProfiles``' 25 actors, the ``RateLimit-*`` headers, ``{"error", "message"}`` bodies. Each
test names the documented behaviour it checks.

Polls read the stream for a fraction of a second of real time; the schedule, the search
windows and the cache run on a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crawlers.networks.bluesky import post_id
from crawlers.networks.settings import BlueskySettings
from ingest.clock import FakeClock
from ingest.settings import Brand
from tests.support.appview import FakeAppView
from tests.support.networks import Harness
from veille.demo.jetstream import FakeJetstream

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HANDLE = "veille.bsky.social"
PASSWORD = "app-pw-Xk42-secret-9qd1"
BRANDS = [Brand(name="Acme", query="acme"), Brand(name="Lumen", query='"lumen telecom"')]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def jetstream() -> Iterator[FakeJetstream]:
    server = FakeJetstream().start()
    yield server
    server.stop()


@pytest.fixture
def appview(clock: FakeClock) -> Iterator[Callable[..., FakeAppView]]:
    servers: list[FakeAppView] = []

    def start(**options: Any) -> FakeAppView:
        servers.append(FakeAppView(now=clock.now, accounts={HANDLE: PASSWORD}, **options).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(*connectors: dict[str, Any]) -> Harness:
        made.append(Harness(tmp_path, list(connectors), clock, BRANDS))
        return made[-1]

    yield make
    for h in made:
        h.close()


def bluesky(
    jetstream: FakeJetstream, appview: FakeAppView, *, password: str = PASSWORD, **options: Any
) -> dict[str, Any]:
    return {
        "type": "bluesky",
        "name": "bsky",
        "jetstream": jetstream.url,
        "read_for": "200ms",
        "handle": HANDLE,
        "app_password": password,
        "service": appview.url,
    } | options


def uri(did: str, rkey: str) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def test_search_backfills_page_by_page_and_later_rounds_go_on_from_the_last(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
) -> None:
    """Documented: ``searchPosts`` takes ``q``, ``sort=latest``, ``since`` (inclusive),
    ``until`` (exclusive), ``limit`` up to 100 and the ``cursor`` of the page before; the last
    page has no cursor. Found posts are kept when a brand's query matches, as on the stream."""
    server = appview()
    server.index(uri("did:plc:old", "old"), "acme il y a longtemps")
    clock.advance(timedelta(days=2).total_seconds())  # older than the backfill: not read
    for i in range(250):
        server.index(uri("did:plc:bob", f"p{i:03d}"), f"acme numéro {i}")
        clock.advance(1)
    server.index(uri("did:plc:bob", "lumen"), "lumen tout court")  # found, no brand matches
    search = {"queries": ["acme", "lumen"], "backfill": "1d", "max_pages": 2, "every": "5m"}
    h = harness(bluesky(jetstream, server, search=search))

    [first] = h.poller.poll_due()
    assert (first.status, first.new) == ("ok", 200)  # two pages of acme; lumen matched no brand
    clock.advance(2)
    [second] = h.poller.poll_due()  # pages were left: polled again soon, from the cursor
    assert (second.status, second.new) == ("ok", 50)

    asked = server.called("app.bsky.feed.searchPosts")
    acme = [q for q in asked if q["q"] == ["acme"]]
    assert [q.get("cursor") for q in acme] == [None, ["100"], ["200"]]
    assert {(q["sort"][0], q["limit"][0]) for q in asked} == {("latest", "100")}
    assert len({(q["since"][0], q["until"][0]) for q in acme}) == 1  # one window, paged
    assert "acme il y a longtemps" not in h.texts()

    server.index(uri("did:plc:bob", "new"), "acme encore")
    clock.advance(timedelta(minutes=6).total_seconds())
    [third] = h.poller.poll_due()
    assert (third.status, third.new) == ("ok", 1)  # the overlap read again, published once
    assert len(h.published()) == 251
    assert server.sessions_made == 1


def test_an_expired_access_token_is_refreshed_then_a_revoked_refresh_signs_in_again(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
) -> None:
    """Documented: an expired access JWT is ``401 {"error": "ExpiredToken"}``;
    ``refreshSession`` with the refresh JWT gives a new pair; a refused refresh means signing
    in again with ``createSession``."""
    server = appview()
    h = harness(bluesky(jetstream, server, search={"queries": ["acme"], "every": "5m"}))
    h.poller.poll_due()
    server.expire_sessions()
    server.index(uri("did:plc:bob", "a"), "acme après expiration")
    clock.advance(timedelta(minutes=6).total_seconds())

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 1)
    assert (server.sessions_made, len(server.called("com.atproto.server.refreshSession"))) == (1, 1)
    server.expire_sessions()
    server.revoke_refresh()
    server.index(uri("did:plc:bob", "b"), "acme après révocation")
    clock.advance(timedelta(minutes=6).total_seconds())
    [again] = h.poller.poll_due()
    assert (again.status, again.new) == ("ok", 1)
    assert server.sessions_made == 2


def test_mentions_from_the_stream_and_search_carry_followers_cached_with_a_ttl(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
) -> None:
    """Documented: ``getProfiles`` takes 25 ``actors`` at most and answers each profile's
    ``followersCount``, ``handle``, ``displayName``."""
    server = appview()
    authors = [f"did:plc:a{i:02d}" for i in range(30)]
    for i, did in enumerate(authors):
        server.profile(did, f"a{i:02d}.bsky.social", followers=100 + i, name=f"Auteur {i}")
    h = harness(bluesky(jetstream, server, followers_ttl="1h"))
    h.poller.poll_due()  # connects the stream
    for did in authors:
        jetstream.post("acme encore en panne", did=did)
    jetstream.post("acme", did="did:plc:inconnu")  # no profile: no followers, no error
    clock.advance(2)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 31)
    asked = server.called("app.bsky.actor.getProfiles")
    assert sorted(len(q["actors"]) for q in asked) == [6, 25]
    by_did = {m.url.split("/")[4]: m for m in h.published()}
    assert by_did["did:plc:a07"].author is not None
    assert by_did["did:plc:a07"].author.followers == 107
    assert by_did["did:plc:a07"].author.handle == "a07.bsky.social"
    assert by_did["did:plc:a07"].author.name == "Auteur 7"
    assert by_did["did:plc:inconnu"].author is not None
    assert by_did["did:plc:inconnu"].author.followers is None

    jetstream.post("acme toujours", did=authors[0])
    clock.advance(2)
    h.poller.poll_due()
    assert len(server.called("app.bsky.actor.getProfiles")) == 2  # from the cache
    server.profile(authors[0], "a00.bsky.social", followers=5000)
    clock.advance(timedelta(hours=2).total_seconds())
    jetstream.post("acme, deux heures plus tard", did=authors[0])
    h.poller.poll_due()
    assert len(server.called("app.bsky.actor.getProfiles")) == 3  # the TTL passed
    newest = next(m for m in h.published() if m.text == "acme, deux heures plus tard")
    assert newest.author is not None
    assert newest.author.followers == 5000


def test_a_post_seen_on_the_stream_and_in_search_is_stored_once(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
) -> None:
    """Documented: a post is ``at://<did>/app.bsky.feed.post/<rkey>`` on the firehose and in
    the AppView's ``postView.uri``: one id; the AppView adds its counts."""
    server = appview()
    h = harness(bluesky(jetstream, server, search={"queries": ["acme"], "every": "5m"}))
    h.poller.poll_due()
    seen = jetstream.post("acme m'a raccroché au nez", did="did:plc:carol", rkey="3lsame")
    server.index(seen, "acme m'a raccroché au nez", counts=(7, 2, 1))
    clock.advance(timedelta(minutes=6).total_seconds())

    [outcome] = h.poller.poll_due()
    clock.advance(timedelta(minutes=6).total_seconds())
    h.poller.poll_due()  # the next round reads it again (overlap), and the stream's replay

    assert outcome.new == 1
    [mention] = h.published()
    assert mention.id == post_id(seen)
    assert (mention.engagement.likes, mention.engagement.shares) == (7, 2)


def test_remaining_zero_stops_the_calls_until_the_reset_and_nothing_is_lost(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
) -> None:
    """Documented: ``RateLimit-Remaining`` counts what is left until ``RateLimit-Reset``
    (epoch seconds); past it, 429. Veille stops at 0, before a 429, and goes on after."""
    server = appview(rate_limit=3)
    for i in range(250):
        server.index(uri("did:plc:bob", f"r{i:03d}"), f"acme {i}")
    clock.advance(1)
    h = harness(bluesky(jetstream, server, search={"queries": ["acme"]}))

    [limited] = h.poller.poll_due()  # createSession, page 1, page 2: the window is spent

    assert (limited.status, limited.new) == ("rate_limited", 200)
    state = h.state.get("bsky", "bluesky")
    assert state.rate_remaining == 0
    assert state.rate_reset == (START + timedelta(minutes=5)).timestamp()
    assert len(server.requests) == 3  # no request made past the limit
    clock.advance(timedelta(minutes=5, seconds=1).total_seconds())
    h.poller.poll_due()
    assert len(h.published()) == 250


def test_secrets_never_reach_state_logs_or_errors_even_when_echoed(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    clock: FakeClock,
) -> None:
    """Documented: a refused sign-in is ``401 AuthenticationRequired``; here the server quotes
    the password, and the tokens, back. The session's JWTs live in memory only."""
    caplog.set_level(logging.DEBUG)
    server = appview()
    server.echo_secrets = True
    wrong = "app-pw-Wrong-secret-77aa"
    bad = harness(bluesky(jetstream, server, password=wrong, name="bad"))
    good = harness(bluesky(jetstream, server, search={"queries": ["acme"]}))
    server.index(uri("did:plc:bob", "s"), "acme")

    [refused] = bad.poller.poll_due()
    good.poller.poll_due()
    server.expire_sessions()
    clock.advance(timedelta(minutes=6).total_seconds())
    good.poller.poll_due()

    assert refused.status == "auth_failed"
    assert "Invalid identifier or password" in (refused.error or "")
    shown = caplog.text + (refused.error or "") + repr(bad.state.all())
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    tokens = server.issued()
    assert len(tokens) >= 3  # the first pair, and the refreshed access JWT
    for secret in [wrong, PASSWORD, *tokens]:
        assert secret not in shown
        assert secret.encode() not in stored


@pytest.mark.parametrize(
    "fault",
    [(500, b'{"error": "InternalServerError", "message": "Internal Server Error"}'), (200, b"{")],
)
def test_a_broken_appview_is_reported_and_the_stream_still_publishes(
    jetstream: FakeJetstream,
    appview: Callable[..., FakeAppView],
    harness: Callable[..., Harness],
    clock: FakeClock,
    fault: tuple[int, bytes],
) -> None:
    """Documented: errors are ``{"error", "message"}`` with an HTTP status; an answer is JSON.
    A 500 or a body that is not JSON is reported and backed off; what the stream brought is
    published without followers, and they come once the AppView answers again."""
    server = appview()
    server.profile("did:plc:dan", "dan.bsky.social", followers=42)
    h = harness(bluesky(jetstream, server))
    h.poller.poll_due()
    server.fault = fault
    jetstream.post("acme plante encore", did="did:plc:dan")
    clock.advance(2)

    [broken] = h.poller.poll_due()

    assert (broken.status, broken.new) == ("platform_error", 1)
    [mention] = h.published()
    assert mention.author is not None
    assert mention.author.followers is None
    server.fault = None
    jetstream.post("acme, toujours", did="did:plc:dan")
    clock.advance(60)
    [healed] = h.poller.poll_due()
    assert (healed.status, healed.new) == ("ok", 1)
    latest = next(m for m in h.published() if m.text == "acme, toujours")
    assert latest.author is not None
    assert latest.author.followers == 42


def test_settings_ask_for_both_handle_and_app_password_and_an_account_to_search() -> None:
    with pytest.raises(ValidationError, match="both handle and app_password"):
        BlueskySettings.model_validate({"type": "bluesky", "name": "b", "handle": HANDLE})
    with pytest.raises(ValidationError, match="search needs an account"):
        BlueskySettings.model_validate(
            {"type": "bluesky", "name": "b", "search": {"queries": ["acme"]}}
        )
    settings = BlueskySettings.model_validate(
        {"type": "bluesky", "name": "b", "handle": HANDLE, "app_password": PASSWORD}
    )
    assert PASSWORD not in repr(settings)
