"""The feed poller against a local web: formats, conditional GET, incremental polling, backoff,
robots.txt, and every kind of bad feed reported and counted while the good ones go through."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from crawlers.feeds.google import google_news_rss_url, to_google_query, unwrap_google_link
from crawlers.fetch import Fetcher
from crawlers.items import Found, identity, to_mention
from crawlers.robots import RobotsCache
from crawlers.settings import FeedSource, HttpSettings
from ingest.clock import FakeClock
from ingest.query import parse
from ingest.record import mention_id
from tests.support.polling import PollHarness
from veille.demo.web import Response, Routes, Web

RSS = "application/rss+xml"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def rss(*items: tuple[str, str], title: str = "Blog") -> str:
    body = "".join(
        f"<item><title>{t}</title><link>http://blog.example/{slug}</link>"
        f"<pubDate>Mon, 02 Nov 2026 10:00:00 +0000</pubDate><description>{t} text</description>"
        "</item>"
        for slug, t in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{body}'
        "</channel></rss>"
    )


ATOM = (
    '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
    'xml:lang="en"><title>News</title><entry><id>urn:a1</id><title>Acme wins</title>'
    '<link href="http://news.example/a1"/><updated>2026-11-01T10:00:00Z</updated>'
    "<author><name>Jo</name></author><summary>Acme wins a prize</summary></entry></feed>"
)
JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "J",
        "language": "fr",
        "items": [
            {
                "id": "j1",
                "url": "http://json.example/j1",
                "title": "Acme en JSON",
                "content_text": "Un article",
                "date_published": "2026-11-01T08:00:00+01:00",
            },
            "not an item",
        ],
    }
)


class Harness(PollHarness):
    def __init__(
        self,
        tmp_path: Path,
        web: Web,
        feeds: list[FeedSource],
        *,
        clock: FakeClock | None = None,
        read_timeout: float = 5.0,
    ) -> None:
        self.clock = clock or FakeClock(NOW)
        http = HttpSettings(
            proxy=web.proxy,
            read_timeout=timedelta(seconds=read_timeout),
            total_timeout=timedelta(seconds=read_timeout * 2),
            host_delay=timedelta(0),
        )
        super().__init__(tmp_path, feeds, http=http, clock=self.clock)


def feed(name: str, url: str, **kwargs: object) -> FeedSource:
    return FeedSource(name=name, url=url, **kwargs)  # type: ignore[arg-type]


WebFactory = Callable[[Routes], Web]
HarnessFactory = Callable[..., Harness]


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[HarnessFactory]:
    made: list[Harness] = []

    def make(web: Web, feeds: list[FeedSource], **kwargs: object) -> Harness:
        made.append(Harness(tmp_path, web, feeds, **kwargs))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for h in made:
        h.close()


def test_every_format_becomes_mentions(web: WebFactory, harness: HarnessFactory) -> None:
    site = web(
        {
            ("blog.example", "/rss"): Response.text(
                rss(("p1", "Acme un"), ("p2", "Acme deux")), RSS
            ),
            ("news.example", "/atom"): Response.text(ATOM, "application/atom+xml"),
            ("json.example", "/feed.json"): Response.text(JSON_FEED, "application/feed+json"),
        }
    )
    h = harness(
        site,
        [
            feed("rss", "http://blog.example/rss", lang="fr"),
            feed("atom", "http://news.example/atom", kind="news"),
            feed("json", "http://json.example/feed.json"),
        ],
    )
    outcomes = {o.feed: o for o in h.poller.poll_due()}
    assert {n: o.new for n, o in outcomes.items()} == {"rss": 2, "atom": 1, "json": 1}
    by_url = {m.url: m for m in h.published()}
    one = by_url["http://blog.example/p1"]
    assert one.id == mention_id(url="http://blog.example/p1")
    assert (one.site, one.source.name, one.lang, one.title) == (
        "blog.example",
        "rss",
        "fr",
        "Acme un",
    )
    atom = by_url["http://news.example/a1"]
    assert (atom.author and atom.author.name, atom.lang, atom.source.kind) == ("Jo", "en", "news")
    json_item = by_url["http://json.example/j1"]
    assert json_item.published.isoformat() == "2026-11-01T07:00:00+00:00"
    assert h.counts()["invalid_entries"] == 1  # the JSON Feed item that is not an object


def test_a_json_feed_behind_a_byte_order_mark_or_in_utf_16_is_read(
    web: WebFactory, harness: HarnessFactory
) -> None:
    """RFC 8259 lets JSON come in UTF-8, 16 or 32; a UTF-8 byte order mark is common."""
    site = web(
        {
            ("bom.example", "/feed"): Response(b"\xef\xbb\xbf" + JSON_FEED.encode(), "text/plain"),
            ("wide.example", "/feed"): Response(JSON_FEED.encode("utf-16"), "application/json"),
        }
    )
    h = harness(
        site, [feed("bom", "http://bom.example/feed"), feed("wide", "http://wide.example/feed")]
    )
    assert {o.feed: (o.status, o.new) for o in h.poller.poll_due()} == {
        "bom": ("ok", 1),
        "wide": ("ok", 1),
    }


def test_a_comment_feed_keeps_each_comment_as_the_blog_spider_names_it(
    web: WebFactory, harness: HarnessFactory
) -> None:
    """WordPress comment feeds link every comment as its article plus a fragment: each is its
    own mention, answering the article, with the id the blog spider gives the same comment."""
    comments = rss(
        ("p1/#comment-1", "Acme, bravo"),
        ("p1/#comment-2", "Acme, bof"),
        ("p1/comment-page-2/#comment-3", "Acme, page deux"),
    )
    site = web({("blog.example", "/comments/feed"): Response.text(comments, RSS)})
    h = harness(site, [feed("comments", "http://blog.example/comments/feed")])
    assert [o.new for o in h.poller.poll_due()] == [3]
    article = mention_id(url="http://blog.example/p1/")
    by_url = {m.url: m for m in h.published()}
    assert len(by_url) == 3
    paged = by_url["http://blog.example/p1/comment-page-2/#comment-3"]
    assert paged.id == identity("http://blog.example/p1/#comment-3", unique=False)
    for url, mention in by_url.items():
        crawled = to_mention(
            Found(
                kind="comment",
                url=url,
                text=mention.text,
                unique=False,
                parent_url="http://blog.example/p1/",
            ),
            source="blog",
            kind="blog",
            fetched=NOW,
        )
        assert (mention.id, mention.parent) == (crawled.id, article)
    assert article not in {m.id for m in by_url.values()}


def test_bad_feeds_are_reported_and_counted_and_good_ones_still_go_through(
    web: WebFactory, harness: HarnessFactory
) -> None:
    cp1252 = rss(("s1", "Société déçue à Noël")).replace('<?xml version="1.0"?>', "")
    routes: Routes = {
        ("good.example", "/rss"): Response.text(rss(("g1", "Acme ok")), RSS),
        ("html.example", "/feed"): Response.text("<!doctype html><html><body>Nope</body></html>"),
        ("text.example", "/feed"): Response.text("this is not xml at all", "text/plain"),
        ("gone.example", "/feed"): Response(status=404),
        ("error.example", "/feed"): Response(status=500),
        ("busy.example", "/feed"): Response(status=429, headers={"Retry-After": "7200"}),
        ("slow.example", "/feed"): Response(b"<rss/>", RSS, delay=30),
        ("huge.example", "/feed"): Response(b"<rss>" + b" " * (50 * 1024 * 1024), RSS),
        ("latin.example", "/feed"): Response(cp1252.encode("cp1252"), "application/xml"),
        ("broken.example", "/feed"): Response.text(
            rss(("b1", "Fish & Chips"), ("b2", "Acme <unclosed")).replace("&amp;", "&"), RSS
        ),
    }
    site = web(routes)
    feeds = [feed(host.split(".")[0], f"http://{host}{path}") for host, path in routes]
    h = harness(site, feeds, read_timeout=1.0)
    outcomes = {o.feed: o for o in h.poller.poll_due()}

    assert {n: o.status for n, o in outcomes.items()} == {
        "good": "ok",
        "html": "hard",
        "text": "hard",
        "gone": "soft",
        "error": "soft",
        "busy": "soft",
        "slow": "soft",
        "huge": "hard",
        "latin": "ok",
        "broken": "ok",
    }
    assert "HTML page" in (outcomes["html"].error or "")
    assert "404" in (outcomes["gone"].error or "")
    assert "timeout" in (outcomes["slow"].error or "")
    assert "too large" in (outcomes["huge"].error or "")
    titles = sorted(m.title or "" for m in h.published())
    assert titles == ["Acme", "Acme ok", "Fish & Chips", "Société déçue à Noël"]
    counts = h.counts()
    assert counts["polls"] == 10
    assert counts["ok"] == 3
    assert counts["soft_failures"] == 4
    assert counts["hard_failures"] == 1  # too large
    assert counts["not_a_feed"] == 2
    assert counts["malformed"] >= 1
    states = {s.name: s for s in h.state.all()}
    assert states["busy"].next_poll - h.clock.now().timestamp() >= 7200  # Retry-After honoured
    assert states["gone"].failures == 1
    assert states["good"].failures == 0


def test_conditional_get_and_only_new_entries_are_published(
    web: WebFactory, harness: HarnessFactory
) -> None:
    routes: Routes = {
        ("blog.example", "/rss"): Response.text(
            rss(("p1", "Acme un")), RSS, headers={"ETag": '"v1"'}
        )
    }
    site = web(routes)
    h = harness(site, [feed("blog", "http://blog.example/rss")])
    assert [o.new for o in h.poller.poll_due()] == [1]

    h.clock.advance(16 * 60)
    assert [o.status for o in h.poller.poll_due()] == ["not_modified"]

    routes[("blog.example", "/rss")] = Response.text(
        rss(("p2", "Acme deux"), ("p1", "Acme un")), RSS, headers={"ETag": '"v2"'}
    )
    h.clock.advance(16 * 60)
    assert [o.new for o in h.poller.poll_due()] == [1]
    assert sorted(m.title or "" for m in h.published()) == ["Acme deux", "Acme un"]

    # The state survives a restart: a new poller on the same files publishes nothing again.
    again = harness(site, [feed("blog", "http://blog.example/rss")], clock=h.clock)
    h.clock.advance(16 * 60)
    assert [o.status for o in again.poller.poll_due()] == ["not_modified"]
    assert len(again.published()) == 2


def test_a_feed_is_polled_on_its_interval_and_backs_off_after_failures(
    web: WebFactory, harness: HarnessFactory
) -> None:
    site = web({("down.example", "/rss"): Response(status=503)})
    h = harness(site, [feed("down", "http://down.example/rss", interval="10m")])
    delays = []
    for _ in range(4):
        h.poller.poll_due(force=True)
        (state,) = h.state.all()
        delays.append(round((state.next_poll - h.clock.now().timestamp()) / 60))
    assert delays == [pytest.approx(d, rel=0.06) for d in (20, 40, 80, 160)]
    assert h.poller.due() == []
    h.clock.advance(170 * 60)  # 160 minutes, plus up to 5% of jitter
    assert [f.name for f in h.poller.due()] == ["down"]


def test_robots_txt_that_disallows_the_feed_is_honoured(
    web: WebFactory, harness: HarnessFactory
) -> None:
    site = web(
        {
            ("private.example", "/robots.txt"): Response.text(
                "User-agent: *\nDisallow: /\n", "text/plain"
            ),
            ("private.example", "/rss"): Response.text(rss(("x", "secret")), RSS),
        }
    )
    h = harness(site, [feed("private", "http://private.example/rss")])
    (outcome,) = h.poller.poll_due()
    assert (outcome.status, outcome.error) == ("hard", "disallowed by robots.txt")
    assert ("private.example", "/rss") not in site.requests
    assert h.published() == []


ALLOW_ALL = "User-agent: *\nAllow: /\n"
DISALLOW_ALL = "User-agent: *\nDisallow: /\n"
ROBOTS_ANSWERS = {
    # answer: (the response, whether the feed may be fetched)
    "404": (Response.text(DISALLOW_ALL, "text/plain", status=404), True),
    "403": (Response.text(DISALLOW_ALL, "text/plain", status=403), True),
    "429": (Response.text(ALLOW_ALL, "text/plain", status=429), False),
    "503": (Response.text(ALLOW_ALL, "text/plain", status=503), False),
    "no answer": (Response.text(ALLOW_ALL, "text/plain", delay=1.0), False),
    "too large": (Response.text(ALLOW_ALL + "#" * 600_000, "text/plain"), False),
}


@pytest.mark.parametrize("answer", list(ROBOTS_ANSWERS))
def test_robots_txt_answers_are_read_as_rfc_9309_says(
    answer: str, web: WebFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4xx but 429 means no rules (its body is not read), kept as long as rules are; a 429, a
    5xx or no whole answer means nothing may be fetched, until robots.txt is asked again five
    minutes later."""
    response, allowed = ROBOTS_ANSWERS[answer]
    site = web({("robots.example", "/robots.txt"): response})
    now = [1000.0]
    monkeypatch.setattr("crawlers.robots.time", SimpleNamespace(monotonic=lambda: now[0]))
    http = HttpSettings(proxy=site.proxy, read_timeout=timedelta(seconds=0.3))
    fetcher = Fetcher(http)
    robots = RobotsCache(fetcher, ttl_seconds=3600, user_agent=http.user_agent)
    url = "http://robots.example/rss"
    asked = [("robots.example", "/robots.txt")]
    try:
        assert robots.allowed(url) is allowed
        site.routes[asked[0]] = Response.text(
            ALLOW_ALL if not allowed else DISALLOW_ALL, "text/plain"
        )
        now[0] += 299
        assert robots.allowed(url) is allowed
        assert site.requests == asked
        now[0] += 2
        if allowed:  # kept for its time to live
            assert robots.allowed(url) is True
            assert site.requests == asked
            now[0] += 3600
            assert robots.allowed(url) is False
        else:  # asked again
            assert robots.allowed(url) is True
        assert site.requests == asked * 2
    finally:
        fetcher.close()


def test_google_helpers_build_search_feeds_and_unwrap_alert_links() -> None:
    tree = parse('("acme corp" OR acme) AND NOT site:acme-pest.fr lang:fr')
    assert to_google_query(tree) == '("acme corp" OR acme) -site:acme-pest.fr'
    url = google_news_rss_url(tree, lang="en", country="us")
    assert url == (
        "https://news.google.com/rss/search?q=%28%22acme+corp%22+OR+acme%29+"
        "-site%3Aacme-pest.fr&hl=fr&gl=US&ceid=US%3Afr"
    )
    assert to_google_query(parse('"service client" NEAR/5 acme')) == (
        '"service client" AROUND(5) acme'
    )
    link = (
        "https://www.google.com/url?rct=j&sa=t&url=https://www.lemonde.fr/a/b.html"
        "&ct=ga&cd=CAIy&usg=AOv"
    )
    assert unwrap_google_link(link) == "https://www.lemonde.fr/a/b.html"
    assert unwrap_google_link("https://example.com/url?url=x") == "https://example.com/url?url=x"
