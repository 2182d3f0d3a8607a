"""The blog spider on a French WordPress-style blog and an English one with schema.org comments:
every article and comment found (with author, date, parent and thread), nothing new on a second
crawl, exactly the new comment or article on the next, and discovery through the feed, the
sitemap and the pages of the home page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawlers.items import identity
from crawlers.settings import BlogSite
from ingest.record import SourceKind
from tests.support.crawling import Harness
from veille.demo.blogs import Article, Blog, Comment, blog_routes
from veille.demo.web import Response, Routes, Web

NOW = datetime.now(UTC).replace(microsecond=0)


def sample_blog(style: str) -> Blog:
    lang = "fr" if style == "wordpress" else "en"
    words = {
        "fr": ("Essai du Velora City numéro", "Le moteur est doux et la batterie tient bien."),
        "en": ("Velora Trail review, part", "The motor is smooth and the battery lasts."),
    }[lang]
    articles = []
    for i in range(9):
        when = NOW - timedelta(days=i * 3 + 1)
        comments = [
            Comment(
                100 * i + j,
                ["Julie", "Kévin", "Sam", "Priya"][j],
                when + timedelta(hours=j + 1),
                f"Commentaire {j} : Velora, article {i}."
                if lang == "fr"
                else f"Comment {j}: Velora, post {i}.",
                reply_to=100 * i if j == 2 else None,
            )
            for j in range(i % 4)
        ]
        articles.append(
            Article(
                f"article-{i}",
                f"{words[0]} {i}",
                "Claire Martin" if lang == "fr" else "Sam Carter",
                when,
                f"{words[1]} " * 6 + f"\nParagraphe {i}." * 2,
                comments,
            )
        )
    return Blog(
        f"blog-{style}.example", "Le blog", lang=lang, style=style, articles=articles, per_page=4
    )  # type: ignore[arg-type]


def site_for(blog: Blog, **extra: object) -> BlogSite:
    return BlogSite(
        name=f"blog-{blog.style}", start_urls=[f"http://{blog.host}/"], lang=blog.lang, **extra
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("style", ["wordpress", "schema"])
def test_articles_and_comments_once_then_only_what_is_new(
    style: str, tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    blog = sample_blog(style)
    server = web(blog_routes(blog))
    harness = Harness(tmp_path, server)
    site = site_for(blog)

    first = harness.crawl(site)

    articles = {m.url: m for m in first if m.parent is None}
    comments = [m for m in first if m.parent is not None]
    assert len(articles) == 9
    assert len(comments) == sum(len(a.comments) for a in blog.articles) == 12
    for article in blog.articles:
        mention = articles[blog.url(article)]
        assert mention.title == article.title
        assert mention.author is not None
        assert mention.author.name == article.author
        assert mention.published == article.when
        assert mention.source.kind is SourceKind.BLOG
        assert mention.lang == blog.lang
        assert "Commentaire" not in mention.text
        assert "Comment 0" not in mention.text
        own = [m for m in comments if m.parent == mention.id]
        assert {(m.author.name if m.author else None, m.text, m.published) for m in own} == {
            (c.author, c.text, c.when) for c in article.comments
        }
        assert all(m.thread and m.thread.id == mention.id for m in own)
        assert sorted(m.thread.position for m in own if m.thread) == list(range(1, len(own) + 1))
    assert harness.outcomes[0].status == "ok"

    assert harness.crawl(site) == []

    blog.articles[2].comments.append(Comment(777, "Nouvelle", NOW, "Un nouveau commentaire."))
    server.routes.clear()
    server.routes.update(blog_routes(blog))
    added = harness.crawl(site)
    assert [(m.text, m.parent) for m in added] == [
        ("Un nouveau commentaire.", articles[blog.url(blog.articles[2])].id)
    ]

    blog.articles.append(
        Article("tout-nouveau", "Tout nouveau", "Léa Petit", NOW, "Un article neuf. " * 10)
    )
    server.routes.clear()
    server.routes.update(blog_routes(blog))
    assert [m.title for m in harness.crawl(site)] == ["Tout nouveau"]


def test_paged_comments_are_all_read_and_keep_their_ids_when_pages_shift(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    """WordPress pages long comment threads (``/comment-page-2/``): every page is read, and a
    comment's id is the same whatever page shows it, and the same as in the comment feed."""
    blog = sample_blog("wordpress")
    blog.comments_per_page = 2
    busy = blog.articles[1]
    busy.comments = [
        Comment(500 + j, f"Lecteur {j}", busy.when + timedelta(hours=j + 1), f"Avis numéro {j}.")
        for j in range(7)
    ] + [Comment(600, "Réponse", busy.when + timedelta(hours=9), "Je réponds.", reply_to=505)]
    server = web(blog_routes(blog))
    harness = Harness(tmp_path, server)
    site = site_for(blog)

    first = harness.crawl(site)
    article = next(m for m in first if m.url == blog.url(busy))
    own = [m for m in first if m.parent == article.id]
    assert sorted(m.text for m in own) == sorted(c.text for c in busy.comments)
    assert len({m.id for m in own}) == 8
    assert (blog.host, f"/{busy.slug}/comment-page-4/") in server.requests
    on_page_2 = next(m for m in own if m.text == "Avis numéro 2.")
    assert on_page_2.url == f"{blog.url(busy)}comment-page-2/#comment-502"
    assert on_page_2.id == identity(f"{blog.url(busy)}#comment-502", unique=False)
    assert harness.crawl(site) == []

    # Three threads a page now: comments move to other pages, and only the new one is new.
    blog.comments_per_page = 3
    busy.comments.append(Comment(700, "Dernier", NOW, "Le tout dernier avis."))
    server.routes.clear()
    server.routes.update(blog_routes(blog))
    assert [(m.text, m.parent) for m in harness.crawl(site)] == [
        ("Le tout dernier avis.", article.id)
    ]


def test_a_known_article_unchanged_in_the_sitemap_is_not_fetched_again(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    blog = sample_blog("wordpress")
    server = web(blog_routes(blog))
    harness = Harness(tmp_path, server)
    harness.crawl(site_for(blog))
    before = len(server.requests)
    harness.crawl(site_for(blog))
    paths = {path for _, path in server.requests[before:]}
    assert paths == {"/", "/feed/", "/sitemap.xml", "/robots.txt"}


def test_without_feed_or_sitemap_the_list_pages_lead_to_every_article(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    blog = sample_blog("schema")
    routes = blog_routes(blog)
    del routes[(blog.host, "/feed/")]
    del routes[(blog.host, "/sitemap.xml")]
    server = web(routes)
    mentions = Harness(tmp_path, server).crawl(site_for(blog))
    assert len([m for m in mentions if m.parent is None]) == 9
    assert (blog.host, "/page/3/") in server.requests


def test_the_sitemaps_robots_txt_names_are_read(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    blog = sample_blog("wordpress")
    routes = blog_routes(blog)
    routes[(blog.host, "/wp-sitemap.xml")] = routes.pop((blog.host, "/sitemap.xml"))
    del routes[(blog.host, "/feed/")]
    routes[(blog.host, "/robots.txt")] = Response.text(
        f"User-agent: *\nDisallow: /wp-admin/\nSitemap: http://{blog.host}/wp-sitemap.xml\n",
        "text/plain",
    )
    server = web(routes)
    mentions = Harness(tmp_path, server).crawl(site_for(blog))
    assert len([m for m in mentions if m.parent is None]) == 9
    assert (blog.host, "/wp-sitemap.xml") in server.requests
    assert (blog.host, "/sitemap.xml") not in server.requests


def test_article_pattern_keeps_other_pages_out(
    tmp_path: Path, web: Callable[[Routes], Web]
) -> None:
    blog = sample_blog("wordpress")
    routes = blog_routes(blog)
    routes[(blog.host, "/a-propos/")] = Response.text(
        "<html><body><h1>À propos</h1><p>" + "Un blog sur le vélo. " * 20 + "</p></body></html>"
    )
    sitemap = routes[(blog.host, "/sitemap.xml")]
    assert isinstance(sitemap, Response)
    sitemap.body = sitemap.body.replace(
        b"</urlset>", f"<url><loc>http://{blog.host}/a-propos/</loc></url></urlset>".encode()
    )
    server = web(routes)
    mentions = Harness(tmp_path, server).crawl(site_for(blog, article_pattern=r"/article-\d+/$"))
    assert all("a-propos" not in m.url for m in mentions)
    assert (blog.host, "/a-propos/") not in server.requests


def test_a_site_that_moved_to_www_is_followed(tmp_path: Path, web: Callable[[Routes], Web]) -> None:
    blog = sample_blog("wordpress")
    blog.host = "www.moved.example"
    routes = blog_routes(blog)
    routes[("moved.example", "/")] = Response(
        b"", status=301, headers={"Location": "http://www.moved.example/"}
    )
    server = web(routes)
    site = BlogSite(name="moved", start_urls=["http://moved.example/"], lang="fr")
    mentions = Harness(tmp_path, server).crawl(site)
    assert len([m for m in mentions if m.parent is None]) == 9
    assert {m.site for m in mentions} == {"moved.example"}
