"""Blogs of the sample web, with their comments: a WordPress-style French blog and an English
one that marks comments up with schema.org microdata, as two of the shapes the blog spider meets.

A `Blog` renders to a home page with older pages after it, a sitemap that robots.txt names, an
article page per post with its comments (replies nested), and, unless the site serves its own,
an RSS feed. Pages carry what real ones do: menus, sidebars, share buttons, a comment form, and
``?replytocom=`` links (a classic crawler trap).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import Literal
from urllib.parse import urlsplit

from veille.demo.rendering import FR_MONTHS, Site, paged
from veille.demo.web import Response, Routes


@dataclass
class Comment:
    id: int
    author: str
    when: datetime
    text: str
    reply_to: int | None = None
    website: str | None = None


@dataclass
class Article:
    slug: str
    title: str
    author: str
    when: datetime
    text: str
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Blog(Site):
    style: Literal["wordpress", "schema"] = "wordpress"
    articles: list[Article] = field(default_factory=list)
    per_page: int = 5
    feed_path: str | None = None
    """The feed the site already serves; None to render ``/feed/``."""
    comments_per_page: int | None = None
    """WordPress's paged comments: this many threads a page, oldest first, the first page on
    the article's URL and the next ones on ``/<slug>/comment-page-N/``; None for one page."""

    def url(self, article: Article) -> str:
        return f"http://{self.host}/{article.slug}/"

    def newest_first(self) -> list[Article]:
        return sorted(self.articles, key=lambda a: a.when, reverse=True)


def _human_date(blog: Blog, when: datetime) -> str:
    local = blog.local(when)
    if blog.lang == "fr":
        return f"{local.day} {FR_MONTHS[local.month - 1]} {local.year} à {local:%H}h{local:%M}"
    return f"{local:%B} {local.day}, {local.year} at {local:%I:%M %p}".replace(" 0", " ")


def _page(blog: Blog, title: str, main: str, head: str = "") -> str:
    feed = blog.feed_path or "/feed/"
    words = {"fr": ("Accueil", "À propos", "Rechercher"), "en": ("Home", "About", "Search")}
    home, about, search = words.get(blog.lang, words["en"])
    return (
        f'<!DOCTYPE html>\n<html lang="{blog.lang}"><head><meta charset="UTF-8"><meta name="'
        f'viewport" content="width=device-width, initial-scale=1"><title>{escape(title)}</title>'
        f'<link rel="alternate" type="application/rss+xml" title="{escape(blog.title)} » Flux" '
        f'href="http://{blog.host}{feed}">{head}<script src="/wp-includes/js/jquery.min.js">'
        '</script></head><body class="home blog"><div id="page" class="site"><a class="skip-link'
        ' screen-reader-text" href="#content">Aller au contenu</a><header id="masthead" class='
        f'"site-header"><p class="site-title"><a href="/" rel="home">{escape(blog.title)}</a></p>'
        '<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">'
        f'<li><a href="/">{home}</a></li><li><a href="/a-propos/">{about}</a></li></ul></nav>'
        f'</header><div id="content" class="site-content"><main id="main" class="site-main">{main}'
        '</main><aside id="secondary" class="widget-area"><section class="widget widget_search">'
        f'<form role="search" method="get" action="/"><label>{search}<input type="search" name="s"'
        '></label></form></section><section class="widget widget_calendar"><div class="calendar_'
        'wrap"><a href="/calendar/?month=2026-10">«</a> <a href="/calendar/?month=2026-12">»</a>'
        '</div></section></aside></div><footer id="colophon" class="site-footer"><div class='
        '"site-info">Fièrement propulsé par WordPress</div></footer></div>'
        '<div class="cookie-banner">Ce site utilise des cookies. <button>OK</button></div>'
        "</body></html>"
    )


def _wordpress_comment(blog: Blog, article: Article, comment: Comment, depth: int, url: str) -> str:
    author = (
        f'<a href="{escape(comment.website)}" rel="external nofollow ugc" class="url">'
        f"{escape(comment.author)}</a>"
        if comment.website
        else escape(comment.author)
    )
    replies = [c for c in article.comments if c.reply_to == comment.id]
    children = (
        '<ol class="children">'
        + "".join(_wordpress_comment(blog, article, c, depth + 1, url) for c in replies)
        + "</ol>"
        if replies
        else ""
    )
    says = "dit :" if blog.lang == "fr" else "says:"
    reply = "Répondre" if blog.lang == "fr" else "Reply"
    return (
        f'<li id="comment-{comment.id}" class="comment even depth-{depth}"><article id="div-'
        f'comment-{comment.id}" class="comment-body"><footer class="comment-meta"><div class="'
        f'comment-author vcard"><img alt="" src="/avatar/{comment.id}.png" class="avatar" height='
        f'"42" width="42"><b class="fn">{author}</b> <span class="says">{says}</span></div><div '
        f'class="comment-metadata"><a href="{url}#comment-{comment.id}"><time datetime="'
        f'{blog.local(comment.when).isoformat(timespec="seconds")}">'
        f'{_human_date(blog, comment.when)}</time></a></div></footer><div class="comment-content'
        f'"><p>{escape(comment.text)}</p></div><div class="reply"><a rel="nofollow" class="comment'
        f'-reply-link" href="{blog.url(article)}?replytocom={comment.id}#respond">{reply}</a></div>'
        f"</article>{children}</li>"
    )


def _schema_comment(blog: Blog, comment: Comment) -> str:
    return (
        f'<div class="comment" id="c-{comment.id}" itemprop="comment" itemscope itemtype="https://'
        'schema.org/Comment"><div class="comment-header"><span itemprop="author" itemscope '
        f'itemtype="https://schema.org/Person"><span itemprop="name">{escape(comment.author)}'
        f'</span></span> <a class="permalink" href="#c-{comment.id}"><time itemprop="dateCreated"'
        f' datetime="{comment.when.isoformat(timespec="seconds")}">'
        f'{_human_date(blog, comment.when)}</time></a> <button class="upvote">▲ 3</button></div>'
        f'<div class="comment-body" itemprop="text"><p>{escape(comment.text)}</p></div></div>'
    )


def comment_pages(blog: Blog, article: Article) -> list[list[Comment]]:
    """The article's comment threads (a comment and its replies), page by page."""
    top = [c for c in article.comments if c.reply_to is None]
    size = blog.comments_per_page or max(1, len(top))
    return [list(page.items) for page in paged(top, size)]


def comment_page_url(blog: Blog, article: Article, page: int) -> str:
    url = blog.url(article)
    return url if page == 1 else f"{url}comment-page-{page}/"


def _comment_navigation(blog: Blog, article: Article, page: int, pages: int) -> str:
    if pages == 1:
        return ""
    older, newer = (
        ("Commentaires plus anciens", "Commentaires plus récents")
        if blog.lang == "fr"
        else ("Older comments", "Newer comments")
    )
    links = ""
    if page > 1:
        links += (
            f'<div class="nav-previous"><a href="{comment_page_url(blog, article, page - 1)}'
            f'#comments">{older}</a></div>'
        )
    if page < pages:
        links += (
            f'<div class="nav-next"><a href="{comment_page_url(blog, article, page + 1)}'
            f'#comments">{newer}</a></div>'
        )
    return f'<nav class="navigation comment-navigation"><div class="nav-links">{links}</div></nav>'


def article_html(blog: Blog, article: Article, page: int = 1) -> str:
    """One article's page, with its comments (page ``page`` of them, when they are paged)."""
    url = comment_page_url(blog, article, page)
    local = blog.local(article.when)
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in article.text.split("\n") if p.strip())
    ld = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebSite", "name": blog.title, "url": f"http://{blog.host}/"},
            {
                "@type": "BlogPosting",
                "headline": article.title,
                "datePublished": local.isoformat(timespec="seconds"),
                "author": {"@type": "Person", "name": article.author},
                "inLanguage": blog.lang,
                "mainEntityOfPage": url,
            },
        ],
    }
    head = (
        f'<link rel="canonical" href="{url}{"#comments" if page > 1 else ""}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="og:title" content="{escape(article.title)}">'
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
    )
    if blog.style == "wordpress":
        pages = comment_pages(blog, article)
        top = pages[page - 1]
        count = len(article.comments)
        heading = (
            f"{count} réponses à « {escape(article.title)} »"
            if blog.lang == "fr"
            else f"{count} thoughts on “{escape(article.title)}”"
        )
        comments = (
            f'<div id="comments" class="comments-area"><h2 class="comments-title">{heading}</h2>'
            '<ol class="comment-list">'
            + "".join(_wordpress_comment(blog, article, c, 1, url) for c in top)
            + "</ol>"
            + _comment_navigation(blog, article, page, len(pages))
            + '<div id="respond" class="comment-respond"><h3 id="reply-title" class="'
            'comment-reply-title">Laisser un commentaire</h3><form action="/wp-comments-post.php"'
            ' method="post" id="commentform"><textarea id="comment" name="comment"></textarea>'
            '<input name="submit" type="submit" value="Publier"></form></div></div>'
            if article.comments
            else ""
        )
    else:
        comments = (
            f'<section class="comments" id="comments"><h3>{len(article.comments)} comments</h3>'
            + "".join(_schema_comment(blog, c) for c in article.comments)
            + '<form class="comment-form" action="/comments" method="post"><textarea name="body">'
            "</textarea></form></section>"
            if article.comments
            else ""
        )
    byline = "Par" if blog.lang == "fr" else "By"
    main = (
        f'<article id="post-{abs(hash(article.slug)) % 10000}" class="post type-post status-publish'
        f' hentry"><header class="entry-header"><h1 class="entry-title">{escape(article.title)}'
        f'</h1><div class="entry-meta"><span class="posted-on"><a href="{url}" rel="bookmark">'
        f'<time class="entry-date published" datetime="{local.isoformat(timespec="seconds")}">'
        f'{_human_date(blog, article.when)}</time></a></span> <span class="byline">{byline} '
        f'<span class="author vcard"><a class="url fn n" href="/author/{article.author.split()[0]}'
        f'/">{escape(article.author)}</a></span></span></div></header><div class="entry-content">'
        f'{paragraphs}</div><footer class="entry-footer"><div class="share"><a href="https://'
        f'twitter.com/intent/tweet?url={url}">Partager</a></div></footer></article>{comments}'
    )
    return _page(blog, article.title, main, head)


def blog_routes(blog: Blog) -> Routes:
    """Every page of ``blog``."""
    host = blog.host
    articles = blog.newest_first()
    routes: Routes = {
        (host, "/robots.txt"): Response.text(
            f"User-agent: *\nDisallow: /wp-admin/\nSitemap: http://{host}/sitemap.xml\n",
            "text/plain",
        )
    }
    for page in paged(articles, blog.per_page):
        items = "".join(
            f'<article class="post type-post"><header class="entry-header"><h2 class="entry-title'
            f'"><a href="{blog.url(a)}" rel="bookmark">{escape(a.title)}</a></h2></header><div '
            f'class="entry-summary"><p>{escape(a.text.split(chr(10))[0][:160])}…</p></div>'
            "</article>"
            for a in page.items
        )
        older = "Articles plus anciens" if blog.lang == "fr" else "Older posts"
        nav = (
            f'<nav class="navigation posts-navigation"><div class="nav-previous"><a href="/page/'
            f'{page.number + 2}/">{older}</a></div></nav>'
            if page.has_next
            else ""
        )
        path = "/" if page.number == 0 else f"/page/{page.number + 1}/"
        routes[(host, path)] = Response.text(_page(blog, blog.title, items + nav))
    urls = "".join(
        f"<url><loc>{blog.url(a)}</loc><lastmod>"
        f"{max([a.when] + [c.when for c in a.comments]).isoformat(timespec='seconds')}</lastmod>"
        "</url>"
        for a in articles
    )
    routes[(host, "/sitemap.xml")] = Response.text(
        '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/'
        f'sitemap/0.9">{urls}</urlset>',
        "application/xml",
    )
    if blog.feed_path is None:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{blog.url(a)}</link>"
            f"<pubDate>{format_datetime(a.when)}</pubDate><dc:creator>{escape(a.author)}"
            f"</dc:creator><description>{escape(a.text[:200])}</description></item>"
            for a in articles[:10]
        )
        routes[(host, "/feed/")] = Response.text(
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:dc="http://purl.org/'
            f'dc/elements/1.1/"><channel><title>{escape(blog.title)}</title><link>http://{host}/'
            f"</link><language>{blog.lang}</language>{items}</channel></rss>",
            "application/rss+xml; charset=utf-8",
        )
    for article in articles:
        routes[(host, f"/{article.slug}/")] = Response.text(article_html(blog, article))
        if blog.style == "wordpress":
            for number in range(2, len(comment_pages(blog, article)) + 1):
                path = urlsplit(comment_page_url(blog, article, number)).path
                routes[(host, path)] = Response.text(article_html(blog, article, number))
    return routes
