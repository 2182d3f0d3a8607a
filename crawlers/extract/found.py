"""One page to the `Found` items a spider yields from it, for the spiders and for
``veille extract`` alike: an article and its comments, the posts of a forum thread page
(HTML, or Discourse's JSON), or the reviews of a page of reviews.

Every item's author is cleaned here, in the builders, whatever extractor found it
(`crawlers.extract.authors.clean_author`): extractors hand over what the page says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from crawlers.extract import discourse_json
from crawlers.extract.article import Article, Comment, extract_article
from crawlers.extract.authors import clean_author
from crawlers.extract.forum_html import (
    ENGINES,
    ForumPost,
    ThreadPage,
    detect_engine,
    html_engine,
)
from crawlers.extract.page import canonical_link, html_response, page_lang
from crawlers.extract.posts import Structure, page_is_thread, structural_thread
from crawlers.extract.reviews import MAX_REVIEWS, ReviewPage, extract_reviews
from crawlers.items import Found, identity, review_native
from crawlers.settings import CommentMarkup, ForumMarkup

if TYPE_CHECKING:
    from parsel import Selector

PageKind = Literal["article", "forum", "review", "auto"]


def article_items(article: Article) -> list[Found]:
    """The article, then each of its comments (their parent is the article)."""
    found = Found(
        kind="article",
        url=article.url,
        text=article.text,
        title=article.title,
        author=clean_author(article.author),
        published=article.published,
        lang=article.lang,
        thread_url=article.url,
        thread_title=article.title,
        position=0,
    )
    return [found, *comment_items(article.comments, found)]


def comment_items(comments: list[Comment], article: Found, *, numbered: bool = True) -> list[Found]:
    """Comments on ``article``; ``numbered``: their position in the article's thread is their
    order on the page (true of its first page of comments only)."""
    return [
        Found(
            kind="comment",
            url=comment.url,
            unique=comment.unique,
            text=comment.text,
            author=clean_author(comment.author),
            author_url=comment.author_url,
            published=comment.published,
            lang=article.lang,
            thread_url=article.url,
            thread_title=article.title,
            position=comment.position if numbered else None,
            parent_url=article.url,
        )
        for comment in comments
    ]


def post_item(post: ForumPost, thread_url: str, title: str | None, lang: str | None) -> Found:
    """A forum post; the thread's first post carries the thread's title as its own."""
    return Found(
        kind="post",
        url=post.url,
        unique=post.unique,
        text=post.text,
        title=title if post.position == 1 else None,
        author=clean_author(post.author),
        author_url=post.author_url,
        published=post.published,
        lang=lang,
        thread_url=thread_url,
        thread_title=title,
        position=post.position,
        parent_url=post.parent_url,
        likes=post.likes,
    )


def thread_items(thread: ThreadPage) -> list[Found]:
    return [post_item(p, thread.thread_url, thread.title, thread.lang) for p in thread.posts]


def _is_article_text(post: ForumPost, article: Found) -> bool:
    """Whether a post found by structure is the article itself (its opening, seen again)."""
    return len(post.text) > len(article.text) / 2 and post.text[:200] in article.text


def structural_comments(posts: list[ForumPost], article: Found) -> list[Found]:
    """Posts found by structure under an article, as its comments (the article itself, when
    the structure took it for an opening post, is left out)."""
    article_id = identity(article.url, article.unique)
    comments = [
        Comment(
            url=post.url,
            text=post.text,
            author=post.author,
            author_url=post.author_url,
            published=post.published,
            position=index,
            unique=post.unique,
        )
        for index, post in enumerate(
            (
                p
                for p in posts
                if identity(p.url, p.unique) != article_id and not _is_article_text(p, article)
            ),
            start=1,
        )
    ]
    return comment_items(comments, article)


def article_thread(items: list[Found]) -> list[Found]:
    """A thread that opens with an article (XenForo's article threads): the article, then the
    replies as its comments."""
    if not items:
        return items
    article = replace(items[0], kind="article")
    return [article, *(replace(i, kind="comment", parent_url=article.url) for i in items[1:])]


def review_items(page: ReviewPage, root: str, lang: str | None) -> list[Found]:
    """The reviews of ``page``, one of the pages of the list of reviews that starts at ``root``
    (their ids are scoped by it)."""
    return [
        Found(
            kind="review",
            url=review.url or page.url,
            native=review_native(root, review.key, own=review.own),
            text=review.text,
            title=review.title,
            author=clean_author(review.author),
            author_url=review.author_url,
            published=review.published,
            lang=lang,
            thread_url=root,
            thread_title=page.item,
            rating=review.rating,
        )
        for review in page.reviews
    ]


def _reviews(
    sel: Selector, url: str, limit: int, *, tz: str, now: datetime | None, lang: str | None
) -> Extracted:
    reviews = extract_reviews(sel, url, limit=limit, tz=tz, now=now, lang=lang)
    items = review_items(reviews, canonical_link(sel, url) or url, page_lang(sel) or lang)
    note = f"read as {reviews.syntax}" if reviews.syntax else "no schema.org reviews found"
    problems = ", ".join(f"{n} {what}" for what, n in sorted(reviews.problems.items()))
    return Extracted("review", None, items, f"{note}; skipped: {problems}" if problems else note)


@dataclass(frozen=True)
class Extracted:
    kind: Literal["article", "forum", "review"]
    engine: str | None
    items: list[Found]
    note: str | None = None


def extract(
    body: bytes,
    url: str,
    *,
    content_type: str | None = None,
    kind: PageKind = "auto",
    engine: str | None = None,
    markup: ForumMarkup | None = None,
    comments: CommentMarkup | None = None,
    tz: str = "UTC",
    lang: str | None = None,
    now: datetime | None = None,
    max_reviews: int = MAX_REVIEWS,
) -> Extracted:
    """What the crawler would take from one page (``veille extract``)."""
    head = body.lstrip()[:1]
    if (engine == "discourse" and head != b"<") or (kind != "article" and head == b"{"):
        try:
            doc = json.loads(body)
            page = discourse_json.topic(doc, url, tz=tz)
        except ValueError as exc:
            raise ValueError(f"not a Discourse topic (JSON): {exc}") from None
        topic_url = page.topic.url(discourse_json.root_of(url))
        items = [post_item(p, topic_url, page.topic.title, lang) for p in page.posts]
        missing = len(page.stream) - len(page.posts)
        note = f"{missing} more posts are fetched by id by the spider" if missing > 0 else None
        return Extracted("forum", "discourse", items, note)
    response = html_response(body, url, content_type)
    sel = response.selector
    if kind == "review":
        return _reviews(sel, response.url, max_reviews, tz=tz, now=now, lang=lang)
    detected = engine or detect_engine(sel)
    if detected not in ENGINES:  # Discourse saved as HTML: no selectors, its structure
        detected = None
    if kind == "forum" or (kind == "auto" and (detected or markup)):
        if detected or markup:
            forum = html_engine(detected or "generic", markup)
            if forum.looks_like_thread(sel):
                thread = forum.parse_thread(sel, response.url, tz=tz, now=now, lang=lang)
                if thread.posts and kind == "auto" and sel.css("article.message--article"):
                    return Extracted("article", forum.name, article_thread(thread_items(thread)))
                if thread.posts:
                    return Extracted("forum", forum.name, thread_items(thread))
        thread, _ = structural_thread(sel, response.url, tz=tz, now=now, lang=lang)
        if thread.posts:
            return Extracted("forum", "structure", thread_items(thread), "posts found by structure")
        if kind == "forum":
            raise ValueError("no posts found on this page, by markup or by structure")
    how: Structure | None = None
    if kind == "auto":
        structure, how = structural_thread(sel, response.url, tz=tz, now=now, lang=lang)
        if page_is_thread(sel, how):
            return Extracted(
                "forum", "structure", thread_items(structure), "posts found by structure"
            )
    article = extract_article(
        sel,
        response.url,
        comments=comments,
        tz=tz,
        now=now,
        lang=lang,
        prune=list(how.areas) if how is not None else None,
    )
    note = None if article.is_article else "this page does not look like one article"
    items = article_items(article)
    if comments is None and how is not None and how.posts:
        # Repeated blocks with an author and a date read a comment section better than the
        # article extractor's guesses of comment markup (an opening post is the article).
        comment_posts = how.posts[1:] if how.opening else how.posts
        items = [items[0], *structural_comments(comment_posts, items[0])]
    return Extracted("article", None, items, note)
