"""Render the demo's content (`veille.demo.content`) as feeds and pages of the sample web.

Each site publishes the way its kind of site does: the French blog an RSS 2.0 feed, the English
blog Atom, the forum a phpBB-style Atom feed of its latest posts, the news site a JSON Feed, the
fishing shop RSS, and a Google Alerts-style Atom feed per brand whose links are Google redirects.
A review site shows one brand's French reviews (`veille.demo.reviews`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from urllib.parse import quote

from veille.demo.blogs import Article as BlogArticle
from veille.demo.blogs import Blog, blog_routes
from veille.demo.blogs import Comment as BlogComment
from veille.demo.content import (
    ALERTS_HOST,
    BLOG_EN,
    BLOG_EN_POSTS,
    BLOG_FR,
    BLOG_FR_POSTS,
    COMMENTS,
    FISHING,
    FISHING_POSTS,
    FORUM,
    NEWS_JSON,
    NEWS_POSTS,
    NEWS_SITES,
    OUTAGE_NEWS,
    SamplePost,
    alert_entries,
    forum_posts,
)
from veille.demo.forums import Board, Forum, ForumPost, phpbb_routes
from veille.demo.forums import Thread as ForumThread
from veille.demo.reviews import REVIEW_HOST, demo_review_site, review_routes
from veille.demo.web import Response, Routes

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"


def url_of(post: SamplePost) -> str:
    if post.thread:
        return f"http://{post.site}/viewtopic.php?p={forum_number(post)}"
    return f"http://{post.site}/{post.slug}/"


_FORUM_NUMBERS: dict[str, int] = {}


def forum_number(post: SamplePost) -> int:
    """A phpBB-style global post number."""
    if not _FORUM_NUMBERS:
        for i, p in enumerate(forum_posts()):
            _FORUM_NUMBERS[p.slug] = 1000 + i
    return _FORUM_NUMBERS[post.slug]


def _when(now: datetime, post: SamplePost) -> datetime:
    return now - timedelta(minutes=post.minutes_ago)


def _newest_first(posts: list[SamplePost]) -> list[SamplePost]:
    return sorted(posts, key=lambda p: p.minutes_ago)


def rss(title: str, site: str, lang: str, posts: list[SamplePost], now: datetime) -> str:
    items = "".join(
        f"<item><title>{escape(p.title or '')}</title><link>{url_of(p)}</link>"
        f'<guid isPermaLink="true">{url_of(p)}</guid>'
        f"<pubDate>{format_datetime(_when(now, p))}</pubDate>"
        f"<dc:creator>{escape(p.author)}</dc:creator>"
        f"<description>{escape('<p>' + escape(p.text) + '</p>')}</description></item>"
        for p in _newest_first(posts)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>{escape(title)}</title><link>http://{site}/</link><language>{lang}</language>"
        f"<description>{escape(title)}</description>{items}</channel></rss>"
    )


def atom(
    title: str,
    feed_id: str,
    posts: list[SamplePost],
    now: datetime,
    *,
    link_of: Callable[[SamplePost], str] = url_of,
    lang: str | None = None,
) -> str:
    lang_attr = f' xml:lang="{lang}"' if lang else ""
    entries = "".join(
        f'<entry><id>{escape(url_of(p))}</id><title type="html">{escape(p.title or "")}</title>'
        f'<link href="{escape(link_of(p))}"/>'
        f"<published>{_when(now, p).isoformat()}</published>"
        f"<updated>{_when(now, p).isoformat()}</updated>"
        f"<author><name>{escape(p.author)}</name></author>"
        f'<content type="html">{escape("<p>" + escape(p.text) + "</p>")}</content></entry>'
        for p in _newest_first(posts)
    )
    updated = now.isoformat()
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom"'
        f"{lang_attr}><id>{escape(feed_id)}</id><title>{escape(title)}</title>"
        f"<updated>{updated}</updated>{entries}</feed>"
    )


def json_feed(title: str, site: str, posts: list[SamplePost], now: datetime) -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": f"http://{site}/",
            "language": "fr",
            "items": [
                {
                    "id": url_of(p),
                    "url": url_of(p),
                    "title": p.title,
                    "content_text": p.text,
                    "date_published": _when(now, p).isoformat(),
                    "authors": [{"name": p.author}],
                }
                for p in _newest_first(posts)
            ],
        },
        ensure_ascii=False,
    )


def google_link(post: SamplePost) -> str:
    return (
        f"https://www.google.com/url?rct=j&sa=t&url={quote(url_of(post), safe='')}"
        f"&ct=ga&cd=CAIyGjE4&usg=AOvVaw"
    )


def article_page(post: SamplePost, now: datetime) -> str:
    when = _when(now, post)
    return (
        f'<!doctype html><html lang="{post.lang}"><head><meta charset="utf-8">'
        f"<title>{escape(post.title or '')}</title></head><body><article>"
        f"<h1>{escape(post.title or '')}</h1>"
        f'<p class="byline">{escape(post.author)}, <time datetime="{when.isoformat()}">'
        f"{when:%d/%m/%Y %H:%M}</time></p><p>{escape(post.text)}</p></article></body></html>"
    )


def _alerts_for(brand_word: str) -> list[SamplePost]:
    return [
        p
        for p in alert_entries()
        if brand_word in (p.title or "").lower() or brand_word in p.text.lower()
    ]


def demo_routes(now: datetime) -> Routes:
    """Every page and feed of the sample web, dated relative to ``now``."""
    forum = forum_posts()
    blog_en = BLOG_EN_POSTS + [p for p in OUTAGE_NEWS if p.site == BLOG_EN]
    news = NEWS_POSTS + [p for p in OUTAGE_NEWS if p.site in NEWS_SITES]
    routes: Routes = {
        (BLOG_FR, "/feed.xml"): Response.text(
            rss("Le blog du cycliste urbain", BLOG_FR, "fr", BLOG_FR_POSTS, now), RSS
        ),
        (BLOG_EN, "/atom.xml"): Response.text(
            atom("Tech Daily", f"http://{BLOG_EN}/", blog_en, now, lang="en"), ATOM
        ),
        (FORUM, "/feed.php"): Response.text(
            atom(
                "Parlons Box : derniers messages",
                f"http://{FORUM}/",
                _newest_first(forum)[:FORUM_FEED_SIZE],
                now,
                lang="fr",
            ),
            ATOM,
        ),
        (NEWS_JSON, "/feed.json"): Response.text(
            json_feed("Les Nouvelles", NEWS_JSON, [p for p in news if p.site == NEWS_JSON], now),
            JSON_FEED,
        ),
        (FISHING, "/rss.xml"): Response.text(
            rss("Velora Pêche, la boutique", FISHING, "fr", FISHING_POSTS, now), RSS
        ),
    }
    for brand_word, alert in (("velora", "velora"), ("lumen", "lumen")):
        routes[(ALERTS_HOST, f"/alerts/feeds/04801/{alert}")] = Response.text(
            atom(
                f"Google Alert - {brand_word}",
                f"tag:google.com,2005:reader/user/04801/state/com.google/alert/{alert}",
                _alerts_for(brand_word),
                now,
                link_of=google_link,
            ),
            ATOM,
        )
    for post in BLOG_FR_POSTS + blog_en + news + FISHING_POSTS:
        routes[(post.site, f"/{post.slug}/")] = Response.text(article_page(post, now))
    # The forum's pages and the blogs' pages with their comments, for the spiders.
    routes.update(phpbb_routes(demo_forum(now)))
    for blog in demo_blogs(now):
        routes.update(blog_routes(blog))
    routes.update(review_routes(demo_review_site(now)))
    return routes


FORUM_FEED_SIZE = 15
"""The forum's feed carries only its latest posts, as phpBB's does: the crawler finds the rest."""

_FORUM_BOARDS = [
    (
        1,
        "box-et-fibre",
        "Box et fibre",
        ["lumen-box-5-avis", "service-client", "migration-fibre", "panne-lumen", "lumen-en-panne"],
    ),
    (2, "mobile", "Forfaits mobiles", ["forfait-mobile"]),
    (3, "divers", "Divers", ["lampe-torche"]),
]


def demo_forum(now: datetime) -> Forum:
    """The forum as phpBB pages: post numbers as in its feed (`forum_number`)."""
    threads: dict[str, ForumThread] = {}
    for post in forum_posts():
        assert post.thread is not None
        if post.thread not in threads:
            title = (post.title or "").removeprefix("Re: ")
            threads[post.thread] = ForumThread(len(threads) + 1, post.thread, title)
        threads[post.thread].posts.append(
            ForumPost(forum_number(post), post.author, _when(now, post), post.text)
        )
    boards = [
        Board(board_id, slug, title, threads=[threads[t] for t in names])
        for board_id, slug, title, names in _FORUM_BOARDS
    ]
    return Forum(FORUM, "Parlons Box", boards=boards)


def demo_blogs(now: datetime) -> list[Blog]:
    """The two blogs, with their comments (the French one styled like WordPress)."""
    blogs = []
    for host, title, lang, style, feed, posts in (
        (BLOG_FR, "Le blog du cycliste urbain", "fr", "wordpress", "/feed.xml", BLOG_FR_POSTS),
        (
            BLOG_EN,
            "Tech Daily",
            "en",
            "schema",
            "/atom.xml",
            BLOG_EN_POSTS + [p for p in OUTAGE_NEWS if p.site == BLOG_EN],
        ),
    ):
        articles = []
        for i, post in enumerate(posts):
            comments = [
                BlogComment(1000 + 10 * i + n, author, now - timedelta(minutes=ago), text)
                for n, (author, text, ago) in enumerate(COMMENTS.get((host, post.slug), []))
            ]
            articles.append(
                BlogArticle(
                    post.slug, post.title or "", post.author, _when(now, post), post.text, comments
                )
            )
        blog = Blog(host, title, lang, style=style, articles=articles, feed_path=feed)  # type: ignore[arg-type]
        if style == "wordpress":
            blog.comments_per_page = 2  # as busy WordPress blogs do: /comment-page-2/...
        blogs.append(blog)
    return blogs


DEMO_SITES = {
    "blogs": [
        {"name": "cyclurbain-blog", "start_urls": [f"http://{BLOG_FR}/"], "lang": "fr"},
        {"name": "techdaily-blog", "start_urls": [f"http://{BLOG_EN}/"], "lang": "en"},
    ],
    "forums": [
        {
            "name": "parlonsbox-forum",
            "engine": "phpbb",
            "start_urls": [f"http://{FORUM}/index.php"],
            "lang": "fr",
        }
    ],
    "reviews": [
        {
            "name": "avisconso-reviews",
            "start_urls": [f"http://{REVIEW_HOST}/entreprise/lumen-telecom.fr"],
            "lang": "fr",
        }
    ],
}
"""The demo's ``sources.blogs``, ``sources.forums`` and ``sources.reviews``: what the spiders
crawl."""


DEMO_FEEDS = [
    {"name": "cyclurbain", "url": f"http://{BLOG_FR}/feed.xml", "kind": "blog", "lang": "fr"},
    {"name": "techdaily", "url": f"http://{BLOG_EN}/atom.xml", "kind": "blog", "lang": "en"},
    {"name": "parlonsbox", "url": f"http://{FORUM}/feed.php", "kind": "forum", "lang": "fr"},
    {"name": "lesnouvelles", "url": f"http://{NEWS_JSON}/feed.json", "kind": "news", "lang": "fr"},
    {"name": "velora-peche", "url": f"http://{FISHING}/rss.xml", "kind": "blog", "lang": "fr"},
    {
        "name": "alerts-velora",
        "url": f"http://{ALERTS_HOST}/alerts/feeds/04801/velora",
        "kind": "news",
    },
    {
        "name": "alerts-lumen",
        "url": f"http://{ALERTS_HOST}/alerts/feeds/04801/lumen",
        "kind": "news",
    },
]
"""The demo's ``sources.feeds``."""

DEMO_BRANDS = [
    {
        "name": "Velora",
        "query": '(velora OR "velora bikes" OR @velorabikes) AND NOT site:velora-peche.example',
        "products": ["Velora City", "Velora Trail"],
    },
    {
        "name": "Lumen Télécom",
        "aliases": ["Lumen", "Lumen Telecom"],
        "query": '"lumen telecom" OR @lumentelecom OR (lumen NEAR/4 (box OR fibre OR fiber OR '
        'forfait OR réseau OR network OR panne OR outage OR hotline OR "service client" OR '
        "support))",
        "products": ["Lumen Box 5"],
    },
]
"""The demo's ``brands``."""
