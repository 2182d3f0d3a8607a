"""The YouTube connector against a local YouTube (`tests.support.youtube`) that enforces the Data
API v3's documented contract: the key, the quota and its 403 ``quotaExceeded``, ``pageToken``
bound to its request, ``publishedAfter``/``publishedBefore``, the comment threads' errors, the
channel feeds. Each test names the documented behaviour it checks."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from crawlers.networks.quota import pacific_day, quota_of
from crawlers.networks.settings import YoutubeSettings
from crawlers.networks.state import NetworkStateStore
from crawlers.networks.youtube import video_mention_id
from ingest.clock import FakeClock
from ingest.record import SourceKind, mention_id
from tests.support.killing import killed_while_publishing
from tests.support.networks import (
    Harness,
    command_line,
    harnesses,
    servers,
)
from tests.support.youtube import CHANNEL, FakeYoutube

KEY = "AIzaSyTest-Key_0123456789abcdefXYZ"
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # 01:00 in California
MIDNIGHT_PT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # PST is UTC-8


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def youtube(clock: FakeClock) -> Iterator[Callable[..., FakeYoutube]]:
    with servers(
        lambda **options: FakeYoutube(now=clock.now, keys=frozenset({KEY}), **options)
    ) as start:
        yield start


@pytest.fixture
def harness(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., Harness]]:
    with harnesses(tmp_path, clock) as make:
        yield make


def config(server: FakeYoutube, **options: Any) -> dict[str, Any]:
    return {
        "type": "youtube",
        "name": "yt",
        "key": KEY,
        "search": ["acme"],
        "api": f"{server.url}/youtube/v3",
        "feeds": f"{server.url}/feeds/videos.xml",
    } | options


def used(h: Harness) -> int:
    quota = quota_of(h.state.get("yt", "youtube").cursor_map())
    assert quota is not None
    return quota.used


def test_a_poll_finds_new_videos_with_their_counts_and_comments(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``search.list`` gives ``id.videoId`` and a snippet; ``videos.list`` the
    statistics (strings) and the declared language; ``commentThreads.list`` the top-level
    comment with its author's channel, likes and reply count. Costs: 100 + 1 + 1 a video."""
    server = youtube()
    clock.advance(-3600)
    video = server.upload(
        "Acme : le test du nouvel aspirateur",
        description="Déçu par Acme, voici pourquoi.",
        counts=(15400, 320, 2),
    )
    server.upload("Rien à voir")
    clock.advance(3600)
    first = server.comment(video["id"], "Même problème chez moi avec Acme", likes=7, replies=2)
    h = harness(config(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 2)
    by_url = {m.url: m for m in h.published()}
    main = by_url[f"https://www.youtube.com/watch?v={video['id']}"]
    assert main.id == video_mention_id(video["id"])
    assert main.source.kind is SourceKind.SOCIAL
    assert (main.title, main.text) == (
        "Acme : le test du nouvel aspirateur",
        "Déçu par Acme, voici pourquoi.",
    )
    assert main.author is not None
    assert (main.author.name, main.author.handle, main.author.url) == (
        "Acme Fans",
        CHANNEL,
        f"https://www.youtube.com/channel/{CHANNEL}",
    )
    assert (main.engagement.views, main.engagement.likes, main.engagement.replies) == (
        15400,
        320,
        2,
    )
    assert main.lang == "fr"
    assert main.published == START - timedelta(hours=1)
    native = first["id"]
    comment = by_url[f"https://www.youtube.com/watch?v={video['id']}&lc={native}"]
    assert comment.id == mention_id(source="youtube", native_id=native)
    assert comment.text == "Même problème chez moi avec Acme"
    assert comment.parent == main.id
    assert comment.thread is not None
    assert comment.thread.id == main.id
    assert comment.author is not None
    assert (comment.author.name, comment.author.handle) == ("@bob", "bob")
    assert (comment.engagement.likes, comment.engagement.replies) == (7, 2)
    [search] = server.called("search")
    assert search["publishedAfter"] == "2026-11-29T09:00:00Z"  # backfill: a day
    assert search["publishedBefore"] == "2026-11-30T09:00:00Z"
    assert (search["order"], search["type"], search["maxResults"]) == ("date", "video", "50")
    assert server.called("videos")[0]["part"] == "snippet,statistics"
    assert used(h) == server.spent_today() == 100 + 1 + 1


def test_search_pages_across_polls_in_a_pinned_window_nothing_doubled_or_lost(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``nextPageToken`` gives the next page of the same request (a token on
    another request is ``400 invalidPageToken``); ``publishedBefore`` keeps the window still
    while videos keep coming."""
    server = youtube()
    clock.advance(-7200)
    for i in range(120):
        server.upload(f"acme {i}", comments=False)
    clock.advance(7200)
    h = harness(config(server, max_pages=2, comment_videos=0))

    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 100)
    connector = h.poller.connectors[0]
    assert h.poller.seconds_until_due(connector) <= 1.0  # pages left: soon

    for i in range(5):  # published while the first window is still being read
        server.upload(f"acme late {i}", comments=False)
    clock.advance(1)
    [outcome] = h.poller.poll_due()
    assert (outcome.status, outcome.new) == ("ok", 20)
    third = server.called("search")[2]
    assert third["publishedBefore"] == "2026-11-30T09:00:00Z"
    assert "pageToken" in third

    clock.advance(1800)
    [outcome] = h.poller.poll_due(force=True)
    assert (outcome.status, outcome.new) == ("ok", 5)
    fourth = server.called("search")[3]
    assert fourth["publishedAfter"] == "2026-11-30T08:50:00Z"  # 10 minutes back
    assert "pageToken" not in fourth
    published = h.published()
    assert len(published) == len({m.id for m in published}) == 125
    assert used(h) == server.spent_today() == 4 * 100 + 4


def test_comments_are_read_down_to_the_newest_already_read_and_paged_across_polls(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``order=time`` gives the newest threads first, ``maxResults`` up to 100 and
    ``nextPageToken`` for the next ones."""
    server = youtube()
    video = server.upload("acme unboxing")
    for i in range(150):
        server.comment(video["id"], f"c{i}")
        clock.advance(1)
    h = harness(config(server, comment_pages=1))

    assert h.poller.poll_due()[0].new == 1 + 100
    clock.advance(1800)
    for i in range(3):
        server.comment(video["id"], f"new {i}")
        clock.advance(1)
    assert h.poller.poll_due(force=True)[0].new == 50  # the first reading's last page
    clock.advance(1800)
    assert h.poller.poll_due(force=True)[0].new == 3  # then only what is newer than it
    threads = server.called("commentThreads")
    assert [("pageToken" in q) for q in threads] == [False, True, False]
    assert all(q["order"] == "time" and q["maxResults"] == "100" for q in threads)
    texts = {m.text for m in h.published()}
    assert texts >= {*(f"c{i}" for i in range(150)), "new 0", "new 1", "new 2"}
    assert len(h.published()) == 1 + 150 + 3


def test_a_video_with_comments_off_or_gone_is_no_longer_watched(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: ``403 commentsDisabled``, ``403 forbidden`` and ``404 videoNotFound`` of
    domain ``youtube.commentThread`` are the video's, not the key's."""
    server = youtube()
    closed = server.upload("acme sans commentaires", comments=False)
    gone = server.upload("acme bientôt supprimée")
    hidden = server.upload("acme privée")
    server.private.add(hidden["id"])
    h = harness(config(server))
    h.poller.poll_due()
    server.delete(gone["id"])
    clock.advance(1800)

    [outcome] = h.poller.poll_due(force=True)
    assert outcome.status == "ok"
    clock.advance(1800)
    h.poller.poll_due(force=True)
    asked = [q["videoId"] for q in server.called("commentThreads")]
    # the closed one once; the other while it was there, once more to learn it is gone
    assert sorted(asked) == sorted([closed["id"], hidden["id"], gone["id"], gone["id"]])


def test_the_daily_budget_stops_the_connector_before_it_is_spent_until_midnight_pacific(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: a search costs 100 units; the quota is renewed at midnight Pacific Time."""
    server = youtube()
    server.upload("acme", comments=False)
    h = harness(config(server, daily_budget=250, comment_videos=0))
    h.poller.poll_due()
    clock.advance(1800)
    h.poller.poll_due(force=True)
    assert used(h) == 101 + 100  # the video found again needs no counts
    sent = len(server.requests)
    clock.advance(1800)

    [outcome] = h.poller.poll_due(force=True)

    assert outcome.status == "quota_spent"
    assert "daily budget spent (201/250 units)" in (outcome.error or "")
    assert len(server.requests) == sent  # nothing sent that would go past the budget
    state = h.state.get("yt", "youtube")
    quota = quota_of(state.cursor_map())
    assert quota is not None
    assert quota.reset == MIDNIGHT_PT.timestamp() == pacific_day(clock.now())[1]
    assert state.rate_remaining is None  # a spent budget is no rate limit
    assert state.next_poll == clock.now().timestamp() + 6 * 3600  # the longest backoff
    clock.advance(state.next_poll - clock.now().timestamp())
    assert h.poller.poll_due()[0].status == "quota_spent"  # still the same Pacific day
    assert len(server.requests) == sent

    clock.advance(MIDNIGHT_PT.timestamp() - clock.now().timestamp())
    server.upload("acme again", comments=False)
    [outcome] = h.poller.poll_due(force=True)
    assert (outcome.status, outcome.new) == ("ok", 1)
    assert used(h) == 101  # a new day


def test_searches_come_first_and_comments_get_what_the_days_searches_will_not_need(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness]
) -> None:
    """23 hours to midnight Pacific, polled every 24 hours: one more search (101 units) to keep
    for. A budget of 101 + 2 + 101 leaves two comment calls: the two newest videos'."""
    server = youtube()
    videos = [server.upload(f"acme {i}", at=START - timedelta(minutes=10 - i)) for i in range(5)]
    h = harness(config(server, daily_budget=204, interval="24h"))

    [outcome] = h.poller.poll_due()

    assert outcome.status == "ok"
    asked = [q["videoId"] for q in server.called("commentThreads")]
    assert asked == [videos[4]["id"], videos[3]["id"]]
    assert used(h) == 103


def test_a_quota_exceeded_answer_waits_until_midnight_pacific(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: past the project's quota, ``403`` with reason ``quotaExceeded`` (domain
    ``youtube.quota``): a spent quota, not a refused key."""
    server = youtube(quota=150)  # the key's project has less than the budget says
    server.upload("acme", comments=False)
    h = harness(config(server, comment_videos=0))
    h.poller.poll_due()
    clock.advance(1800)

    [outcome] = h.poller.poll_due(force=True)

    assert outcome.status == "quota_spent"
    assert "YouTube says the quota is spent" in (outcome.error or "")
    state = h.state.get("yt", "youtube")
    quota = quota_of(state.cursor_map())
    assert quota is not None
    assert quota.reset == MIDNIGHT_PT.timestamp()
    assert used(h) == 10_000  # nothing more today
    sent = len(server.requests)
    clock.advance(6 * 3600)
    assert h.poller.poll_due()[0].status == "quota_spent"
    assert len(server.requests) == sent


@pytest.mark.parametrize("echo", [False, True])
def test_a_refused_key_is_auth_failed_and_the_key_appears_nowhere(
    youtube: Callable[..., FakeYoutube],
    harness: Callable[..., Harness],
    caplog: pytest.LogCaptureFixture,
    echo: bool,
) -> None:
    """Documented: an unknown key is ``400 badRequest`` with ``API_KEY_INVALID``. The key is in
    the URL (``key=``), as the API wants it; a server that quotes it must not get it into an
    error, the state or a log of Veille's."""
    server = youtube()
    server.echo_key = echo
    bad = "AIzaSyWrong-but-Secret-987654"
    h = harness(config(server, key=bad))
    with caplog.at_level(logging.DEBUG):
        [outcome] = h.poller.poll_due()
    assert outcome.status == "auth_failed"
    assert "API key not valid" in (outcome.error or "")
    assert bad not in (outcome.error or "")
    assert bad not in repr(h.state.all())
    ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    assert not [r for r in ours if bad in r.getMessage()]
    assert server.requests[0][1]["key"] == bad  # it was sent, in the query


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ((500, b'{"error": {"code": 500, "message": "Backend Error"}}'), "HTTP 500: Backend Error"),
        ((200, b'{"items": [{not json'), "not JSON"),
    ],
)
def test_a_server_error_or_malformed_json_is_a_platform_error(
    youtube: Callable[..., FakeYoutube],
    harness: Callable[..., Harness],
    fault: tuple[int, bytes],
    says: str,
) -> None:
    server = youtube()
    server.upload("acme")
    server.fault = fault
    h = harness(config(server))
    [outcome] = h.poller.poll_due()
    assert outcome.status == "platform_error"
    assert says in (outcome.error or "")
    assert h.published() == []
    assert "search acme" not in h.state.get("yt", "youtube").cursor_map()


def test_channel_feeds_cost_no_quota_and_a_bad_channel_does_not_stop_the_others(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness]
) -> None:
    """Documented: ``/feeds/videos.xml?channel_id=`` is the channel's Atom feed, with
    ``yt:videoId`` and the views and likes in ``media:community``; no key needed."""
    server = youtube()
    video = server.upload("Nouveau chez Acme", description="Le détail", counts=(900, 12, 0))
    missing = "UC" + "x" * 22
    h = harness(config(server, key=None, search=[], channels=[missing, CHANNEL]) | {"name": "yt"})

    [outcome] = h.poller.poll_due()

    assert outcome.status == "platform_error"  # the missing channel's 404, reported
    [mention] = h.published()
    assert mention.id == video_mention_id(video["id"])
    assert (mention.title, mention.text) == ("Nouveau chez Acme", "Le détail")
    assert (mention.engagement.views, mention.engagement.likes) == (900, 12)
    assert mention.author is not None
    assert (mention.author.name, mention.author.handle) == ("Acme Fans", CHANNEL)
    assert server.spent_today() == 0
    assert all("key" not in q for _, q in server.requests)


def test_settings_want_a_key_for_search_and_something_to_read() -> None:
    with pytest.raises(ValidationError, match="search needs an API key"):
        YoutubeSettings.model_validate({"type": "youtube", "name": "y", "search": ["acme"]})
    with pytest.raises(ValidationError, match="give search queries"):
        YoutubeSettings.model_validate({"type": "youtube", "name": "y", "key": "k"})
    with pytest.raises(ValidationError, match="channels"):
        YoutubeSettings.model_validate({"type": "youtube", "name": "y", "channels": ["acme"]})


def test_sources_test_and_status_show_the_quota_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a user runs: ``veille sources test``, ``veille networks run --once``, ``veille
    status``; the key (from ``${YOUTUBE_API_KEY}``) appears in none of them."""
    with FakeYoutube(now=lambda: datetime.now(UTC), keys=frozenset({KEY})) as server:
        video = server.upload("Acme : mon avis", counts=(10, 2, 1))
        server.comment(video["id"], "Acme, jamais plus", author="@carol")
        monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
        run = command_line(
            tmp_path,
            "    - type: youtube\n"
            "      name: yt\n"
            '      key: "${YOUTUBE_API_KEY}"\n'
            "      search: [acme]\n"
            f"      channels: [{CHANNEL}]\n"
            f"      api: {server.url}/youtube/v3\n"
            f"      feeds: {server.url}/feeds/videos.xml\n",
            KEY,
        )

        code, out = run("sources", "test", "yt")
        assert code == 0, out
        assert "the API key is accepted" in out
        assert f"channel {CHANNEL}: its feed answers (videos listed: 1)" in out
        assert "one poll: 2 mentions" in out
        assert "@carol" in out

        code, out = run("networks", "run", "--once")
        assert code == 0, out
        code, out = run("status", "--format", "json")
        [row] = json.loads(out)["networks"]
        assert (row["name"], row["status"], row["mentions"]) == ("yt", "ok", 2)
        assert row["quota"]["used"] == 102
        assert (row["quota"]["budget"], row["quota"]["unit"]) == (10_000, "units")
        assert row["quota"]["reset"].endswith(("T08:00:00+00:00", "T07:00:00+00:00"))
        code, out = run("status")
        assert "102/10000 units until" in out

        monkeypatch.setenv("YOUTUBE_API_KEY", "AIzaSyRevoked-Key-000111222")
        server.echo_key = True
        code, out = run("sources", "test", "yt")
        assert code == 1
        assert "auth_failed" in out
        assert "AIzaSyRevoked-Key-000111222" not in out


def test_a_video_or_comment_not_as_documented_is_skipped_and_counted(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness]
) -> None:
    server = youtube()
    broken = server.upload("acme cassée")
    broken["snippet"]["channelTitle"] = {"not": "a name"}
    video = server.upload("acme entière")
    server.comment(video["id"], "bien")
    odd = server.comment(video["id"], "sans date")
    del odd["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
    h = harness(config(server))

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 2)
    assert sorted(m.title or m.text for m in h.published()) == ["acme entière", "bien"]
    assert h.counters.read()["networks"]["skipped"] == 2


@pytest.mark.slow
def test_sigkill_at_random_moments_while_videos_and_comments_keep_coming_loses_none(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    """``veille networks run`` killed with SIGKILL ten times at random moments while videos and
    comments keep coming: a search window's page token and a video's comment reading are saved
    only after what they brought is published, so every video and comment reaches
    ``mentions.raw``, and the units spent that were saved never exceed what YouTube counted."""
    with FakeYoutube(now=lambda: datetime.now(UTC), keys=frozenset({KEY}), quota=10**9) as server:
        connector = config(
            server,
            interval="100ms",
            daily_budget=10**8,
            max_pages=1,
            comment_videos=100,
            comment_pages=1,
        )
        config_path = write_config(
            {"data_dir": str(tmp_path / "data"), "sources": {"networks": [connector]}}
        )
        server.upload("acme n°0")

        def publish(n: int) -> None:
            if n % 50 == 0:
                server.upload(f"acme n°{n}")
            else:
                server.comment(server.videos[-1]["id"], f"avis n°{n}")

        def stored_on_the_server() -> set[str]:
            return {video_mention_id(v["id"]) for v in server.videos} | {
                mention_id(source="youtube", native_id=t["id"])
                for threads in server.comments.values()
                for t in threads
            }

        command = [sys.executable, "-m", "veille.cli", "--config", str(config_path)]
        published = killed_while_publishing(
            [*command, "networks", "run"],
            tmp_path,
            publish,
            lambda: bool(server.called("commentThreads")),
            stored_on_the_server,
        )
        expected = stored_on_the_server()
        state = NetworkStateStore(tmp_path / "data" / "state" / "networks.db")
        try:
            quota = quota_of(state.get("yt", "youtube").cursor_map())
        finally:
            state.close()
        spent = server.spent_today()
    assert set(published) == expected
    assert len(expected) > 200
    assert quota is not None
    assert quota.used <= spent


def test_a_page_token_no_longer_valid_reads_the_window_again(
    youtube: Callable[..., FakeYoutube], harness: Callable[..., Harness], clock: FakeClock
) -> None:
    """Documented: a ``pageToken`` that is not valid is ``400 invalidPageToken``; the window it
    was reading is read again from its first page, nothing lost, nothing published twice."""
    server = youtube()
    clock.advance(-600)
    for i in range(70):
        server.upload(f"acme {i}", comments=False)
    clock.advance(600)
    h = harness(config(server, max_pages=1, comment_videos=0))
    assert h.poller.poll_due()[0].new == 50
    state = h.state.get("yt", "youtube")
    cursors = state.cursor_map()
    after, before, _ = json.loads(cursors["search acme"])
    cursors["search acme"] = json.dumps([after, before, "expired-token"])
    h.state.save(replace(state, cursors=json.dumps(cursors)))
    clock.advance(1)

    [outcome] = h.poller.poll_due()

    assert (outcome.status, outcome.new) == ("ok", 0)  # the first page again: all seen
    clock.advance(1)
    assert h.poller.poll_due()[0].new == 20
    assert len(h.published()) == len({m.id for m in h.published()}) == 70
