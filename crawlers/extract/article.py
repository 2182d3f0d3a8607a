"""Blog and news pages: the article (title, author, date, main text) and each of its comments,
and, on listing pages, the links that lead to articles.

The main text comes from trafilatura, with the comment area cut out first. Title, author and
date come from what the page declares for machines (JSON-LD, Open Graph, ``<time datetime>``)
before trafilatura's guesses, because trafilatura keeps only the day of a date.

The article's author, first that gives a name once cleaned (`crawlers.extract.authors`): the
JSON-LD article's ``author`` (a name, a list of them, or ``@id`` references to ``Person``
nodes of the ``@graph``, as Yoast prints them), microdata (``itemprop=author``, its
``itemprop=name`` inside), a ``rel=author`` link, ``<meta name=author>``, the theme's byline,
then trafilatura's guess. Structured data first: a theme's byline text carries "by", dates and
roles, and sometimes something else entirely. Comment and sidebar authors are never the
article's.

Comments are found, in order, by the site's ``comments`` selectors, then WordPress's markup,
then schema.org ``Comment`` microdata, then elements whose id or class says comment. A comment's
permalink usually only differs from the article's by its fragment (``#comment-12``); the fragment
is then its identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from parsel import Selector

from crawlers.extract.authors import clean_author
from crawlers.extract.dates import first_date
from crawlers.extract.page import base_url, canonical_link, ld_nodes, meta, page_lang
from crawlers.extract.select import (
    alternatives,
    date_texts,
    first,
    first_link,
    first_text,
    select,
    to_xpath,
)
from crawlers.extract.text import node_text
from crawlers.items import article_of
from crawlers.settings import CommentMarkup
from ingest.record import MAX_TEXT_CHARS

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "BlogPosting",
        "LiveBlogPosting",
        "SocialMediaPosting",  # Tumblr's posts
        "NewsArticle",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "ReviewNewsArticle",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
    }
)
# Where comment areas live, cut out before the main text is extracted.
COMMENT_AREAS = [
    "#comments",
    "#respond",
    ".comments-area",
    ".comment-list",
    ".commentlist",
    "section.comments",
    "#disqus_thread",
    "[itemprop=comment]",
]
# Not the article's own author: in a comment, a sidebar, a menu, a footer.
_ARTICLE_OWN = (
    "not(ancestor-or-self::*[contains(@itemtype, 'Comment') or contains(@itemprop, 'comment') "
    "or @id='comments' or starts-with(@id, 'comment-') or contains(@class, 'comment-list') "
    "or contains(@class, 'commentlist') or contains(@class, 'comments-area') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' comment ') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' widget ') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' sidebar ') "
    "or contains(concat(' ', normalize-space(@class), ' '), ' related ')] "
    "or ancestor::aside or ancestor::nav or ancestor::footer[not(ancestor::article)])"
)
_MICRODATA_AUTHOR = (
    f"//*[contains(concat(' ', normalize-space(@itemprop), ' '), ' author ')][{_ARTICLE_OWN}]"
)
_REL_AUTHOR = f"//a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')][{_ARTICLE_OWN}]"
_BYLINES = (
    ".byline .author, .author .fn, .entry-author, .author-name, .post-author, .article-author, "
    ".byline, .author"
)

_WORDPRESS = CommentMarkup(
    comment="li.comment, li.pingback, div.comment[id^=comment-]",
    author=".comment-author .fn, .comment-author cite, .comment-author",
    date=".comment-metadata time, .comment-meta time, .comment-metadata, .comment-meta a",
    content=".comment-content, .comment-text, .comment-body > p",
    permalink=".comment-metadata a, .comment-meta a",
    remove=[".reply", ".comment-reply-link", ".children", ".comment-awaiting-moderation"],
)
_SCHEMA_ORG = CommentMarkup(
    comment="[itemtype$='schema.org/Comment'], [itemtype$='schema.org/Answer']",
    author="[itemprop=author] [itemprop=name], [itemprop=author]",
    date="[itemprop=dateCreated], [itemprop=datePublished], time",
    content="[itemprop=text]",
    permalink="a[href*='#'], [itemprop=url]",
    remove=["[itemtype$='schema.org/Comment']"],
)
_LOOSE = CommentMarkup(
    comment="xpath://*[(starts-with(@id, 'comment-') and translate(substring-after(@id, "
    "'comment-'), '0123456789', '') = '') or contains(concat(' ', normalize-space(@class), ' '), "
    "' comment ')][not(self::form or .//form or .//textarea)]",
    author=".comment-author, .author, .user, .username, cite",
    date="time, .comment-date, .date",
    content=".comment-content, .comment-body, .comment-text, .content, p",
    permalink="a[href*='#']",
    remove=["[id^=comment-]", ".reply"],
)


# The article's own date, not one of a sidebar's lists of latest posts and comments.
_OUTSIDE = (
    "not(ancestor::aside or ancestor::nav or ancestor::*[contains(@class, 'related') or "
    "contains(@class, 'widget') or contains(@class, 'latest') or contains(@class, 'recent') "
    "or contains(@class, 'sidebar') or contains(@class, 'comment') or contains(@id, 'comment')])"
)
_ARTICLE_DATE = (
    f"xpath://article//time[{_OUTSIDE}], xpath://*[contains(@class, 'entry-date') or "
    f"contains(@class, 'post-date') or contains(@class, 'published')][{_OUTSIDE}], "
    f"xpath://time[{_OUTSIDE}], article time, .entry-date, .published, time"
)


@dataclass(frozen=True)
class Comment:
    url: str
    """The comment's permalink (often the article's URL with a ``#comment-N`` fragment)."""
    text: str
    author: str | None = None
    author_url: str | None = None
    published: datetime | None = None
    position: int = 0
    unique: bool = False
    """Whether ``url`` names the comment alone without its fragment."""


@dataclass(frozen=True)
class Article:
    url: str
    title: str | None
    text: str
    author: str | None = None
    published: datetime | None = None
    lang: str | None = None
    comments: list[Comment] = field(default_factory=list)
    is_article: bool = True
    """False for pages that are not one article (a home page, a listing, a tag page)."""


@dataclass(frozen=True)
class Listing:
    """Where a blog page leads: its feeds, the articles it links to, its next page."""

    feeds: list[str]
    articles: list[str]
    next_page: str | None


def structured(sel: Selector) -> dict[str, Any]:
    """The first schema.org Article the page declares in JSON-LD (empty if none)."""
    for item in ld_nodes(sel):
        kinds = item.get("@type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if ARTICLE_TYPES.intersection(k for k in kinds if isinstance(k, str)):
            return item
    return {}


def _ld_nodes_by_id(sel: Selector) -> dict[str, dict[str, Any]]:
    """Every JSON-LD node of the page that has an ``@id`` and says more than it."""
    ids: dict[str, dict[str, Any]] = {}
    for node in ld_nodes(sel):
        key = node.get("@id")
        if isinstance(key, str) and len(node) > 1:
            ids.setdefault(key, node)
    return ids


def _ld_author(value: Any, ids: dict[str, dict[str, Any]], depth: int = 0) -> str | None:
    """The cleaned name(s) of a JSON-LD ``author``: a string, a node, an ``@id`` reference, or
    a list of them (joined with ", ")."""
    if depth > 3:
        return None
    if isinstance(value, list):
        names = [n for n in (_ld_author(v, ids, depth + 1) for v in value[:20]) if n]
        return ", ".join(dict.fromkeys(names)) or None
    if isinstance(value, dict):
        if "name" not in value and isinstance(value.get("@id"), str):
            value = ids.get(value["@id"], value)
        name = value.get("name")
        return _ld_author(name, ids, depth + 1) if isinstance(name, (str, list)) else None
    return clean_author(value)


def _microdata_author(sel: Selector) -> Iterator[str | None]:
    for node in sel.xpath(_MICRODATA_AUTHOR)[:5]:
        name = node.xpath(".//*[contains(concat(' ', normalize-space(@itemprop), ' '), ' name ')]")
        for each in [*name[:1], node]:
            yield each.attrib.get("content") or node_text(each)


def _declared_authors(sel: Selector, ld: dict[str, Any], guesses: _Guesses) -> Iterator[Any]:
    """What the page says of its author, most trusted first (see the module docstring)."""
    yield _ld_author(ld.get("author"), _ld_nodes_by_id(sel)) if ld.get("author") else None
    yield from _microdata_author(sel)
    yield from (node_text(link) for link in sel.xpath(_REL_AUTHOR)[:5])
    yield from (meta(sel, name) for name in ("author", "article:author", "dc.creator"))
    yield from (first_text(sel, byline) for byline in alternatives(_BYLINES))
    yield guesses.get("author")


def _article_author(sel: Selector, ld: dict[str, Any], guesses: _Guesses) -> str | None:
    return next(filter(None, map(clean_author, _declared_authors(sel, ld, guesses))), None)


def _main_text(sel: Selector, url: str, extra_removed: list[str]) -> str:
    import trafilatura

    prune = [path for expr in [*COMMENT_AREAS, *extra_removed] for path in to_xpath(expr)]
    document = trafilatura.bare_extraction(
        sel.get(),
        url=url,
        include_comments=False,
        include_tables=True,
        favor_precision=True,
        prune_xpath=prune,
    )
    if document is None or isinstance(document, dict):
        return ""
    return (document.text or "").strip()[:MAX_TEXT_CHARS]


class _Guesses:
    """trafilatura's guesses of title, author and date, worked out only when the page does not
    declare them (they cost more than the rest of the page)."""

    def __init__(self, sel: Selector, url: str) -> None:
        self.sel = sel
        self.url = url

    @cached_property
    def document(self) -> Any:
        from trafilatura.metadata import extract_metadata

        return extract_metadata(self.sel.get(), default_url=self.url)

    def get(self, name: str) -> str | None:
        value = getattr(self.document, name, None)
        return value if isinstance(value, str) and value.strip() else None


def _comments(
    sel: Selector,
    base: str,
    page: str,
    markup: CommentMarkup,
    *,
    tz: str,
    now: datetime | None,
    lang: str | None,
) -> list[Comment]:
    out: list[Comment] = []
    seen: set[str] = set()
    page_no_fragment = urldefrag(page).url
    for node in select(sel, markup.comment):
        content = first(node, markup.content) if markup.content else node
        if content is None:
            continue
        text = node_text(content, markup.remove)
        if not text:
            continue
        native = node.attrib.get("id")
        link = first_link(node, markup.permalink) if markup.permalink else None
        url = urljoin(base, link) if link else page
        if urldefrag(url).url == page_no_fragment:
            fragment = urlsplit(url).fragment or native
            url = f"{page_no_fragment}#{fragment}" if fragment else page
        unique = urldefrag(url).url != page_no_fragment
        if not unique and "#" not in url:
            continue  # nothing tells this comment apart from the article
        if url in seen:
            continue  # loose markup matched an element and the one around it
        seen.add(url)
        author_link = first(node, markup.author)
        author_href = None
        if author_link is not None and not isinstance(author_link.root, str):
            author_href = author_link.attrib.get("href") or author_link.xpath(".//a/@href").get()
        out.append(
            Comment(
                url=url,
                text=text,
                author=first_text(node, markup.author),
                author_url=urljoin(base, author_href) if author_href else None,
                published=first_date(date_texts(node, markup.date), tz=tz, now=now, lang=lang),
                position=len(out) + 1,
                unique=unique,
            )
        )
    return out


def find_comments(
    sel: Selector,
    url: str,
    markup: CommentMarkup | None = None,
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> list[Comment]:
    """The page's comments, by the first way of finding them that finds any."""
    base = base_url(sel, url)
    page = canonical_link(sel, url) or url
    for candidate in [m for m in (markup, _WORDPRESS, _SCHEMA_ORG, _LOOSE) if m is not None]:
        found = _comments(sel, base, page, candidate, tz=tz, now=now, lang=lang)
        if found:
            return found
    return []


def extract_article(
    sel: Selector,
    url: str,
    *,
    comments: CommentMarkup | None = None,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
    prune: list[str] | None = None,
) -> Article:
    """Everything Veille reads on an article page; ``prune``: selectors of more comment areas
    to cut out of the main text (the comments `crawlers.extract.posts` found)."""
    page = canonical_link(sel, url)
    if not page or urlsplit(page).netloc != urlsplit(url).netloc:
        page = url
    ld = structured(sel)
    declared_lang = page_lang(sel) or ld.get("inLanguage") or meta(sel, "og:locale") or lang
    short = declared_lang.replace("_", "-").split("-")[0].lower() if declared_lang else None
    text = _main_text(sel, url, [*([comments.comment] if comments else []), *(prune or [])])
    guesses = _Guesses(sel, url)

    def dates() -> Iterator[str | None]:
        yield ld.get("datePublished") if isinstance(ld.get("datePublished"), str) else None
        yield meta(sel, "article:published_time", "og:published_time", "date", "dc.date")
        yield sel.xpath("//*[@itemprop='datePublished']/@content").get()
        yield sel.xpath("//*[@itemprop='datePublished']/@datetime").get()
        yield from date_texts(sel, _ARTICLE_DATE)
        yield guesses.get("date")

    published = first_date(dates(), tz=tz, now=now, lang=declared_lang)
    title = (
        meta(sel, "og:title")
        or (ld.get("headline") if isinstance(ld.get("headline"), str) else None)
        or first_text(sel, "article h1, .entry-title, .post-title, .article-title")
        or guesses.get("title")
        or first_text(sel, "h1, title")
    )
    author = _article_author(sel, ld, guesses)
    articles_on_page = len(sel.xpath("//article[not(ancestor::article)]"))
    og_type = meta(sel, "og:type")
    is_article = bool(ld) or og_type == "article"
    if not is_article:
        is_article = articles_on_page <= 1 and published is not None and len(text) >= 80
    found = find_comments(sel, url, comments, tz=tz, now=now, lang=short) if is_article else []
    return Article(
        url=page,
        title=" ".join(title.split()) if title else None,
        text=text,
        author=author,
        published=published,
        lang=short,
        comments=found,
        is_article=is_article and bool(text or title),
    )


_ARTICLE_LINKS = (
    "article h1 a, article h2 a, article h3 a, .entry-title a, .post-title a, h2.title a, "
    "a[rel=bookmark], .post h2 a, .blog-post h2 a"
)
_NEXT = (
    "link[rel=next], a[rel=next], a.next, .nav-previous a, .pagination a.next, "
    ".pagination-next a, a.older-posts, .older a"
)
_FEEDS = (
    "link[rel=alternate][type*=rss], link[rel=alternate][type*=atom], "
    "link[rel=alternate][type*='feed+json']"
)


def discover(sel: Selector, url: str) -> Listing:
    """What a blog page links to: its feeds (not the comment feeds), the articles it lists, and
    the next page of the list."""
    base = base_url(sel, url)
    feeds = []
    for link in select(sel, _FEEDS):
        href = link.attrib.get("href")
        title = (link.attrib.get("title") or "").lower()
        if href and "comment" not in title and "comment" not in href:
            feeds.append(urljoin(base, href))
    host = urlsplit(url).netloc
    articles = []
    for link in select(sel, _ARTICLE_LINKS):
        href = link.attrib.get("href")
        if href:
            target = urljoin(base, href)
            if urlsplit(target).netloc == host:
                articles.append(urldefrag(target).url)
    next_page = first_link(sel, _NEXT)
    return Listing(
        feeds=list(dict.fromkeys(feeds)),
        articles=list(dict.fromkeys(articles)),
        next_page=urljoin(base, next_page) if next_page else None,
    )


_COMMENT_PAGES = (
    ".comment-navigation a, .comments-pagination a, nav.comments a, a[href*='/comment-page-'], "
    "a[href*='cpage=']"
)


def comment_pages(sel: Selector, url: str) -> list[str]:
    """The other pages of this article's comments that the page links to (WordPress's
    ``/comment-page-2/`` or ``?cpage=2``), without fragments."""
    base, here, article = base_url(sel, url), urldefrag(url).url, article_of(url)
    pages = []
    for link in select(sel, _COMMENT_PAGES):
        href = link.attrib.get("href")
        if href:
            target = urldefrag(urljoin(base, href)).url
            if target != here and article_of(target) == article:
                pages.append(target)
    return list(dict.fromkeys(pages))
