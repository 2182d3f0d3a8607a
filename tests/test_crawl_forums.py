"""Forum spiders against forums rendered the way each engine renders them (phpBB, vBulletin,
XenForo, Simple Machines through the generic spider, Discourse's JSON API): every post found with
its author, date, thread and position; a second crawl finds nothing new; a new post is found
alone; what the spiders remember survives a restart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import identity
from crawlers.settings import ForumMarkup, ForumSite
from ingest.record import SourceKind
from tests.support.crawling import Harness
from veille.demo.forums import (
    RENDERERS,
    SMF_MARKUP,
    START_PATHS,
    Board,
    Forum,
    ForumPost,
    Thread,
)
from veille.demo.web import Routes, Web

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
ENGINES = ["phpbb", "vbulletin", "xenforo", "generic", "discourse"]
THREAD_11 = {
    "phpbb": "t=11",
    "vbulletin": "t=11",
    "xenforo": "panne-box.11",
    "generic": "topic=11",
    "discourse": "/11",
}
"""How each engine's URLs name thread 11."""


def sample_forum(engine: str) -> Forum:
    """Two boards, four threads, one of 23 posts (three pages), quotes and signatures."""
    lang = "en" if engine == "vbulletin" else "fr"
    texts = [
        "La box Lumen redémarre toute seule depuis la mise à jour.",
        "Pareil chez moi, le support Lumen dit d'attendre.",
        "Velora City : batterie à plat après deux jours sans rouler.",
        "Mon vélo électrique Velora tient 70 km, rien à redire.",
    ]
    post_id = 5000

    def posts(count: int, offset: int) -> list[ForumPost]:
        nonlocal post_id
        out = []
        for i in range(count):
            post_id += 1
            out.append(
                ForumPost(
                    post_id,
                    ["Marc_44", "Sophie.R", "Bricoleur", "Nina"][i % 4],
                    T0 + timedelta(hours=offset + i, minutes=7 * i),
                    f"{texts[(i + offset) % 4]} (message {i + 1})",
                    quote=("Sophie.R", "texte cité à ne pas reprendre") if i % 5 == 2 else None,
                    signature="Signature à ne pas reprendre" if i % 3 == 1 else None,
                    likes=i % 2,
                )
            )
        return out

    return Forum(
        host=f"forum-{engine}.example",
        title="Parlons Box",
        lang=lang,
        # an English board printing month-first dates (11-02-2026) is an American one
        tz="America/New_York" if lang == "en" else "Europe/Paris",
        boards=[
            Board(
                1,
                "box-et-fibre",
                "Box et fibre",
                threads=[
                    Thread(11, "panne-box", "Panne de box ?", posts(23, 0)),
                    Thread(12, "debit-fibre", "Débit fibre", posts(4, 30)),
                    Thread(13, "wifi", "Wifi instable", posts(2, 40)),
                ],
            ),
            Board(
                2,
                "velos",
                "Vélos électriques",
                threads=[Thread(21, "velora", "Velora", posts(6, 50))],
            ),
        ],
        threads_per_page=2,
    )


def site_for(engine: str, forum: Forum, **extra: object) -> ForumSite:
    return ForumSite(
        name=f"forum-{engine}",
        engine=engine,  # type: ignore[arg-type]
        start_urls=[f"http://{forum.host}{START_PATHS[engine]}"],
        markup=ForumMarkup(**SMF_MARKUP) if engine == "generic" else None,  # type: ignore[arg-type]
        lang=forum.lang,
        timezone=forum.tz,
        **extra,  # type: ignore[arg-type]
    )


def serve(web: Web, routes: Routes) -> None:
    web.routes.clear()
    web.routes.update(routes)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_post_once_then_nothing_then_only_the_new_post(
    engine: str, tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum(engine)
    render = RENDERERS[engine]
    server = web(render(forum))
    harness = Harness(tmp_path, server)
    site = site_for(engine, forum)

    first = harness.crawl(site)

    expected = {
        p.id: (t, n + 1, p) for b in forum.boards for t in b.threads for n, p in enumerate(t.posts)
    }
    assert len(first) == len(expected) == 35
    assert harness.outcomes[0].status == "ok"
    by_position = {
        (m.thread.title if m.thread else None, m.thread.position if m.thread else None): m
        for m in first
    }
    for thread, position, post in expected.values():
        mention = by_position[(thread.title, position)]
        assert mention.author is not None
        assert mention.author.name == post.author
        assert mention.published == post.when
        assert mention.source.kind is SourceKind.FORUM
        assert mention.text.startswith(post.text)
        assert "ne pas reprendre" not in mention.text  # quotes and signatures stripped
        assert mention.thread is not None
        assert mention.thread.url is not None
    threads = {m.thread.id for m in first if m.thread}
    assert len(threads) == 4
    assert len({m.id for m in first}) == 35

    assert harness.crawl(site) == []

    forum.add_post(
        12, ForumPost(9999, "Zoé", T0 + timedelta(days=3), "Nouveau : la box Lumen est réparée.")
    )
    serve(server, render(forum))
    before = len(server.requests)
    added = harness.crawl(site)
    assert [m.text for m in added] == ["Nouveau : la box Lumen est réparée."]
    assert added[0].thread is not None
    assert added[0].thread.position == 5
    assert added[0].thread.title == "Débit fibre"
    # Only the changed thread was read again, not the 23-post one.
    fetched = [path for _, path in server.requests[before:]]
    assert fetched
    assert not any(THREAD_11[engine] in path for path in fetched), fetched


@pytest.mark.parametrize("engine", ["phpbb", "discourse"])
def test_state_survives_a_restart(
    engine: str, tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum(engine)
    server = web(RENDERERS[engine](forum))
    site = site_for(engine, forum)
    assert len(Harness(tmp_path, server).crawl(site)) == 35

    again = Harness(tmp_path, server)  # a new process: new bus and state connections
    again.seen = {(m.partition, m.offset) for m in again.bus.peek("mentions.raw", 1000)}
    assert again.crawl(site) == []
    forum.add_post(
        21, ForumPost(9998, "Paul_D", T0 + timedelta(days=4), "Velora a changé ma batterie.")
    )
    serve(server, RENDERERS[engine](forum))
    assert [m.text for m in again.crawl(site)] == ["Velora a changé ma batterie."]


def test_phpbb_post_ids_match_the_forum_feed(tmp_path: Path, web: Callable[[Routes], Web]) -> None:
    """A post seen by the forum's Atom feed and by the crawler is one mention."""
    forum = sample_forum("phpbb")
    server = web(RENDERERS["phpbb"](forum))
    mentions = Harness(tmp_path, server).crawl(site_for("phpbb", forum))
    feed_link = f"http://{forum.host}/viewtopic.php?p=5001"
    assert identity(feed_link) in {m.id for m in mentions}
    assert all("sid=" not in m.url for m in mentions)


def test_discourse_replies_name_their_parent(tmp_path: Path, web: Callable[[Routes], Web]) -> None:
    forum = sample_forum("discourse")
    server = web(RENDERERS["discourse"](forum))
    mentions = Harness(tmp_path, server).crawl(site_for("discourse", forum))
    by_url = {m.url: m for m in mentions}
    reply = by_url[f"http://{forum.host}/t/panne-box/11/3"]  # quotes post 2
    assert reply.parent == by_url[f"http://{forum.host}/t/panne-box/11/2"].id
    # Every reply (a post that quotes the one before it) as the demo wrote it: its parent, and
    # its likes, on the first page of the topic and on the posts fetched by id after it.
    (topic,) = [t for t in forum.threads() if t.id == 11]
    replies = [(n + 1, post) for n, post in enumerate(topic.posts) if post.quote]
    assert {post.likes for _, post in replies} == {0, 1}
    assert max(n for n, _ in replies) > 20  # past the topic's first page
    for number, post in replies:
        reply = by_url[f"http://{forum.host}/t/{topic.slug}/{topic.id}/{number}"]
        answered = by_url[f"http://{forum.host}/t/{topic.slug}/{topic.id}/{number - 1}"]
        assert reply.parent == answered.id
        # A post nobody liked shows no count, and its mention has none.
        assert reply.engagement.likes == (post.likes or None)


def test_search_urls_per_brand_are_entry_points(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("phpbb")
    routes = RENDERERS["phpbb"](forum)
    results = routes[(forum.host, "/viewforum.php?f=2")]
    routes[(forum.host, "/search.php?keywords=Velora&sr=topics")] = results
    server = web(routes)
    site = ForumSite(
        name="search-only",
        engine="phpbb",
        start_urls=[f"http://{forum.host}/faq.php"],
        search=[f"http://{forum.host}/search.php?keywords={{brand}}&sr=topics"],
    )
    mentions = Harness(tmp_path, server).crawl(site, search_terms=["Velora"])
    assert ("forum-phpbb.example", "/search.php?keywords=Velora&sr=topics") in server.requests
    assert {m.thread.title for m in mentions if m.thread} == {"Velora"}
    assert len(mentions) == 6


def test_a_theme_change_that_breaks_the_post_selector_falls_back_to_structure(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    forum = sample_forum("generic")
    server = web(RENDERERS["generic"](forum))
    harness = Harness(tmp_path, server)
    markup = {**SMF_MARKUP, "post": "div.post-that-no-longer-exists"}
    broken = ForumMarkup(**markup)  # type: ignore[arg-type]
    site = site_for("generic", forum).model_copy(update={"markup": broken})

    found = harness.crawl(site)

    posts = [p for b in forum.boards for t in b.threads for p in t.posts]
    assert len(found) == len(posts) == 35
    assert sorted((m.author.name if m.author else "", m.published) for m in found) == sorted(
        (p.author, p.when) for p in posts
    )
    for mention in found:
        assert "ne pas reprendre" not in mention.text  # quotes and signatures stripped
        assert any(mention.text.startswith(p.text) for p in posts)
