"""One page to the `Found` items a spider yields from it, for the spiders and for
``veille extract`` alike: an article and its comments, or the posts of a forum thread page
(HTML, or Discourse's JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from crawlers.extract import discourse_json
from crawlers.extract.article import Article, Comment, extract_article
from crawlers.extract.forum_html import ForumPost, ThreadPage, detect_engine, html_engine
from crawlers.extract.page import html_response
from crawlers.items import Found
from crawlers.settings import CommentMarkup, ForumMarkup

PageKind = Literal["article", "forum", "auto"]


def article_items(article: Article) -> list[Found]:
    """The article, then each of its comments (their parent is the article)."""
    found = Found(
        kind="article",
        url=article.url,
        text=article.text,
        title=article.title,
        author=article.author,
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
            author=comment.author,
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
        author=post.author,
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


@dataclass(frozen=True)
class Extracted:
    kind: Literal["article", "forum"]
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
) -> Extracted:
    """What the crawler would take from one page (``veille extract``)."""
    head = body.lstrip()[:1]
    if engine == "discourse" or (kind != "article" and head == b"{"):
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
    detected = engine or detect_engine(sel)
    if kind == "forum" or (kind == "auto" and (detected or markup)):
        forum = html_engine(detected or "generic", markup)
        if not forum.looks_like_thread(sel):
            raise ValueError(
                f"no posts found with the {forum.name} engine's markup; is this a thread page?"
            )
        thread = forum.parse_thread(sel, response.url, tz=tz, now=now, lang=lang)
        return Extracted("forum", forum.name, thread_items(thread))
    article = extract_article(sel, response.url, comments=comments, tz=tz, now=now, lang=lang)
    note = None if article.is_article else "this page does not look like one article"
    return Extracted("article", None, article_items(article), note)
