"""Manners and robustness of the spiders: robots.txt honoured (RFC 9309), crawler traps and
limits keep a crawl bounded, 429 and Retry-After are respected, and broken pages, wrong
encodings, huge pages, redirects and dead sites are counted without stopping the crawl."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from crawlers.items import identity
from crawlers.robots import RobotsVerdict, robots_policy
from crawlers.settings import BlogSite, CrawlSettings, ForumSite
from ingest.errors import BusUnavailable
from ingest.record import Mention
from tests.support.crawling import Harness
from tests.test_crawl_forums import sample_forum, site_for
from veille.demo.forums import Forum, phpbb_routes
from veille.demo.web import Response, Route, Routes, Web

PARAGRAPH = "Le Velora City est un vélo électrique agréable au quotidien, silencieux et fiable. "


def article_page(title: str, body: str, charset: str | None = "utf-8") -> str:
    meta = f'<meta charset="{charset}">' if charset else ""
    return (
        f"<!doctype html><html lang='fr'><head>{meta}<title>{title}</title>"
        "<meta property='og:type' content='article'>"
        "<meta property='article:published_time' content='2026-11-10T10:00:00+01:00'></head>"
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def phpbb_where(web: Callable[[Routes], Web], path: str, answer: Route) -> tuple[Forum, Web]:
    """The sample phpBB forum served on a local web, where ``path`` answers ``answer``."""
    forum = sample_forum("phpbb")
    routes = phpbb_routes(forum)
    routes[(forum.host, path)] = answer
    return forum, web(routes)


def test_robots_disallowing_the_site_means_nothing_else_is_fetched(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum, server = phpbb_where(
        web, "/robots.txt", Response.text("User-agent: *\nDisallow: /\n", "text/plain")
    )
    harness = Harness(tmp_path, server)
    assert harness.crawl(site_for("phpbb", forum)) == []
    assert server.requests == [(forum.host, "/robots.txt")]
    outcome = harness.outcomes[0]
    assert outcome.pages == 0
    assert outcome.refused >= 1
    assert outcome.note == "robots.txt disallows everything"


def test_robots_rules_for_veille_are_followed_path_by_path(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    robots = "User-agent: *\nAllow: /\n\nUser-agent: Veille\nDisallow: /viewtopic.php\n"
    forum, server = phpbb_where(web, "/robots.txt", Response.text(robots, "text/plain"))
    assert Harness(tmp_path, server).crawl(site_for("phpbb", forum)) == []
    paths = [path for _, path in server.requests]
    assert "/viewforum.php?f=1" in paths
    assert not [p for p in paths if p.startswith("/viewtopic.php")]


UNAVAILABLE = {
    "503": Response.text("down", "text/plain", status=503),
    "429": Response.text("slow down", "text/plain", status=429),
    # Slower than the crawl's download timeout (below): no answer at all.
    "no answer": Response.text("User-agent: *\nAllow: /\n", "text/plain", delay=1.5),
}


@pytest.mark.parametrize("answer", list(UNAVAILABLE))
def test_robots_txt_unavailable_means_disallowed_until_next_crawl(
    answer: str, tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    routes = phpbb_routes(forum)
    robots = routes[(forum.host, "/robots.txt")]
    routes[(forum.host, "/robots.txt")] = UNAVAILABLE[answer]
    server = web(routes)
    harness = Harness(tmp_path, server, http={"total_timeout": "1s"})
    assert harness.crawl(site_for("phpbb", forum)) == []
    assert {path for _, path in server.requests} == {"/robots.txt"}
    assert harness.outcomes[0].status == "unreachable"
    assert harness.outcomes[0].note == "robots.txt unreachable: nothing fetched"
    assert harness.outcomes[0].stats is not None
    assert harness.outcomes[0].stats.get("veille/robots_unavailable") == 1
    # The next crawl asks again, and reads the forum once robots.txt answers.
    routes[(forum.host, "/robots.txt")] = robots
    assert len(harness.crawl(site_for("phpbb", forum))) == 35
    assert harness.outcomes[0].status == "ok"


@pytest.mark.parametrize("status", [401, 403, 404, 410])
def test_robots_txt_missing_or_forbidden_means_no_rules(
    status: int, tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    """A 4xx other than 429 says there is no robots.txt to follow: what its body says is not
    read, and everything may be fetched."""
    forum = sample_forum("phpbb")
    routes = phpbb_routes(forum)
    routes[(forum.host, "/robots.txt")] = Response.text(
        "User-agent: *\nDisallow: /\n", "text/plain", status=status
    )
    server = web(routes)
    harness = Harness(tmp_path, server)
    assert len(harness.crawl(site_for("phpbb", forum))) == 35
    assert harness.outcomes[0].status == "ok"
    assert server.requests.count((forum.host, "/robots.txt")) == 1


def test_robots_policy_reads_each_answer_as_rfc_9309_says() -> None:
    """The one policy the feed fetcher and the spiders both follow."""
    for status in (200, 203, 204, 206):
        assert robots_policy(status) is RobotsVerdict.RULES
    for status in (400, 401, 403, 404, 410, 418, 451, 499):
        assert robots_policy(status) is RobotsVerdict.ALLOW_ALL
    for status in (None, 304, 310, 429, 500, 502, 503, 504, 599):
        assert robots_policy(status) is RobotsVerdict.DISALLOW_ALL


def test_traps_and_limits_keep_the_crawl_bounded(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    """An endless calendar, session ids that change on every page, sort orders, print views,
    and an endless list of pages: the crawl follows none of the traps and stops at its limits."""
    host = "trap.example"
    routes: Routes = {}
    for n in range(1, 400):
        sid = f"{n:032x}"
        links = "".join(
            f'<article><h2 class="entry-title"><a href="/post-{n}-{k}/?PHPSESSID={sid}">'
            f"Article {n}.{k}</a></h2></article>"
            for k in range(2)
        )
        routes[(host, "/" if n == 1 else f"/page/{n}/")] = Response.text(
            f"<html><body>{links}"
            f'<a href="/calendar/?month=2026-{n % 12 + 1:02d}">Calendrier</a>'
            f'<a href="/agenda/{2026 + n}/01/">Agenda</a>'
            f'<a href="/?orderby=title&amp;order=asc">Trier</a>'
            f'<a href="/post-{n}-0/?replytocom=3">Répondre</a>'
            f'<a class="next" rel="next" href="/page/{n + 1}/?sid={sid}">Suivant</a>'
            "</body></html>"
        )
        routes[(host, f"/calendar/{2026 + n}/")] = Response.text(
            f'<a rel="next" href="/calendar/{2027 + n}/">Année suivante</a>'
        )
        for k in range(2):
            routes[(host, f"/post-{n}-{k}/")] = Response.text(
                article_page(f"Article {n}.{k}", PARAGRAPH * 3)
            )
    server = web(routes)
    settings = CrawlSettings(max_pages=60, max_pagination=10, backoff=timedelta(seconds=0.1))
    harness = Harness(tmp_path, server, crawl=settings)
    site = BlogSite(name="trap", start_urls=[f"http://{host}/"], sitemaps=[], feeds=[])
    mentions = harness.crawl(site)

    paths = [path for _, path in server.requests]
    assert len(paths) <= 60 + 5  # max_pages, plus robots.txt and pages already in flight
    assert not [p for p in paths if "calendar" in p or "agenda" in p or "order" in p]
    assert not [p for p in paths if "sid=" in p.lower() or "replytocom" in p]
    assert len(paths) == len(set(paths))  # session ids removed: no page twice
    assert max(int(p.split("/")[2]) for p in paths if p.startswith("/page/")) <= 11
    assert mentions
    assert all("PHPSESSID" not in m.url for m in mentions)
    assert harness.outcomes[0].refused > 0


def test_phpbb_sort_links_print_views_and_forms_are_not_followed(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    server = web(phpbb_routes(forum))
    mentions = Harness(tmp_path, server).crawl(site_for("phpbb", forum))
    paths = [path for _, path in server.requests]
    for trap in ("sk=", "sd=", "view=print", "posting.php", "ucp.php", "memberlist.php", "sid="):
        assert not [p for p in paths if trap in p], trap
    # The threads themselves were read, every page of them: each post is there, once.
    posts = [post for thread in forum.threads() for post in thread.posts]
    assert sorted(m.id for m in mentions) == sorted(
        identity(f"http://{forum.host}/viewtopic.php?p={post.id}") for post in posts
    )


def test_429_waits_for_retry_after_then_gets_the_page(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    routes = phpbb_routes(forum)
    page = routes[(forum.host, "/viewtopic.php?t=13")]
    assert isinstance(page, Response)
    seen: list[float] = []

    def busy_then_fine(_etag: str) -> Response:
        seen.append(time.monotonic())
        if len(seen) == 1:
            return Response.text(
                "slow down", "text/plain", status=429, headers={"Retry-After": "1"}
            )
        return page

    routes[(forum.host, "/viewtopic.php?t=13")] = busy_then_fine
    server = web(routes)
    harness = Harness(tmp_path, server)
    mentions = harness.crawl(site_for("phpbb", forum))
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.95  # never sooner than Retry-After
    assert len([m for m in mentions if m.thread and m.thread.title == "Wifi instable"]) == 2
    assert harness.outcomes[0].stats is not None
    assert harness.outcomes[0].stats.get("veille/retries") == 1


def test_a_site_that_asks_to_wait_too_long_is_left_for_later(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum, server = phpbb_where(
        web,
        "/viewtopic.php?t=13",
        Response.text("slow down", "text/plain", status=429, headers={"Retry-After": "7200"}),
    )
    harness = Harness(tmp_path, server)
    mentions = harness.crawl(site_for("phpbb", forum))
    assert not [m for m in mentions if m.thread and m.thread.title == "Wifi instable"]
    assert server.requests.count((forum.host, "/viewtopic.php?t=13")) == 1
    assert harness.outcomes[0].stats is not None
    assert harness.outcomes[0].stats.get("veille/retry_after_too_long") == 1
    # What was left is not recorded as read: the next crawl gets it, and only it.
    server.routes[(forum.host, "/viewtopic.php?t=13")] = phpbb_routes(forum)[
        (forum.host, "/viewtopic.php?t=13")
    ]
    again = harness.crawl(site_for("phpbb", forum))
    assert "Wifi instable" in {m.thread.title for m in again if m.thread}
    assert len(mentions) + len(again) == 35
    assert not {m.id for m in mentions} & {m.id for m in again}


def test_bad_pages_are_counted_and_the_good_ones_kept(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    host = "messy.example"
    good = article_page("Bon article", PARAGRAPH * 3)
    broken = (
        "<html><head><meta charset='utf-8'><title>Cassé</title>"
        "<meta property='article:published_time' content='2026-11-10T10:00:00+01:00'>"
        "<body><article><h1>Page cassée<p>" + PARAGRAPH * 3 + "<div><span><p>sans fin"
    )
    latin1 = article_page("Mauvais charset", "Élodie a écrit : " + PARAGRAPH * 3, None)
    links = "".join(
        f'<article><h2 class="entry-title"><a href="/{slug}/">{slug}</a></h2></article>'
        for slug in ("good", "broken", "lies", "nocharset", "huge", "old", "gone", "error", "image")
    )
    routes: Routes = {
        (host, "/"): Response.text(f"<html><body>{links}</body></html>"),
        (host, "/good/"): Response.text(good),
        (host, "/broken/"): Response.text(broken),
        # The header says UTF-8; the bytes are windows-1252.
        (host, "/lies/"): Response(latin1.encode("cp1252"), "text/html; charset=utf-8"),
        (host, "/nocharset/"): Response(latin1.encode("cp1252"), "text/html"),
        (host, "/huge/"): Response.text(article_page("Énorme", PARAGRAPH * 4000)),
        (host, "/old/"): Response(b"", status=301, headers={"Location": f"http://{host}/new/"}),
        (host, "/new/"): Response.text(article_page("Déménagé", PARAGRAPH * 3)),
        (host, "/error/"): Response.text("boom", status=500),
        (host, "/image/"): Response(b"\x89PNG\r\n\x1a\n" + b"\x00" * 500, "image/png"),
    }
    server = web(routes)
    harness = Harness(tmp_path, server, http={"max_bytes": 100_000})
    site = BlogSite(name="messy", start_urls=[f"http://{host}/"])
    mentions = harness.crawl(site)

    titles = {m.title: m for m in mentions}
    assert {"Bon article", "Page cassée", "Mauvais charset", "Déménagé"} <= set(titles)
    assert "Énorme" not in titles
    assert "Élodie a écrit : Le Velora City est un vélo" in titles["Mauvais charset"].text
    assert "\ufffd" not in titles["Mauvais charset"].text
    assert titles["Déménagé"].url == f"http://{host}/new/"
    outcome = harness.outcomes[0]
    assert outcome.status == "ok"
    assert outcome.stats is not None
    stats = outcome.stats
    assert stats.get("veille/errors/too_large") == 1
    assert stats.get("veille/errors/http_404") == 1
    assert stats.get("veille/errors/http_500") == 1
    assert stats.get("veille/encoding_repaired", 0) >= 1
    assert stats.get("veille/not_text") == 1
    assert outcome.errors == 3
    assert server.requests.count((host, "/error/")) == 3  # two retries, then given up


def test_a_dead_site_is_reported_and_tried_later(tmp_path: Path) -> None:
    harness = Harness(tmp_path, None, crawl=CrawlSettings(retries=0))
    site = ForumSite(name="dead", engine="phpbb", start_urls=["http://127.0.0.1:9/index.php"])
    assert harness.crawl(site) == []
    outcome = harness.outcomes[0]
    assert outcome.status == "unreachable"
    runner = harness.runner([site])
    state = runner.state.site("dead")
    assert state.failures == 1
    assert state.last_status == "unreachable"
    assert state.next_crawl - time.time() > 0.9 * site.interval.total_seconds() * 2


class FlakyBus:
    """A bus that refuses every publish while ``down``."""

    def __init__(self, bus: object) -> None:
        self.bus = bus
        self.down = True

    def publish(self, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
        if self.down:
            raise BusUnavailable("the bus is down")
        self.bus.publish(topic, records)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self.bus, name)


def test_when_the_bus_is_down_nothing_is_recorded_and_the_next_crawl_publishes_all(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    server = web(phpbb_routes(forum))
    harness = Harness(tmp_path, server)
    flaky = FlakyBus(harness.bus)
    harness.bus = flaky  # type: ignore[assignment]
    assert harness.crawl(site_for("phpbb", forum)) == []
    assert harness.outcomes[0].status == "bus_unavailable"
    flaky.down = False
    mentions = harness.crawl(site_for("phpbb", forum))
    assert len(mentions) == 35
    assert len({m.id for m in mentions}) == 35


def test_a_stopped_crawl_resumes_without_losing_or_doubling(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    routes = phpbb_routes(forum)
    for key, route in list(routes.items()):
        if isinstance(route, Response) and "viewtopic" in key[1]:
            route.delay = 0.3  # slow pages, so that the stop comes mid-crawl
    server = web(routes)
    harness = Harness(tmp_path, server)
    runner = harness.runner([site_for("phpbb", forum)])
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    first = runner.crawl(stop=stop)
    timer.cancel()
    assert first[0].status == "stopped"
    published = {(m.partition, m.offset) for m in harness.bus.peek("mentions.raw", 1000)}
    harness.seen = set(published)
    before = {Mention.from_json(m.value).id for m in harness.bus.peek("mentions.raw", 1000)}
    rest = harness.crawl(site_for("phpbb", forum))
    assert before.isdisjoint({m.id for m in rest})
    assert len(before) + len(rest) == 35
