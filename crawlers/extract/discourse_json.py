"""Discourse, read through its JSON API rather than its pages (which are built in the browser).

- ``/latest.json`` lists topics, the most recently bumped first, with ``highest_post_number``
  (it changes whenever someone replies) and ``more_topics_url`` for the next page;
- ``/t/{slug}/{id}.json`` gives the topic, its first posts and ``post_stream.stream``, the ids of
  all its posts in order;
- ``/t/{id}/posts.json?post_ids[]=...`` gives the other posts, twenty at a time.

A post's permalink is ``/t/{slug}/{topic}/{post_number}``; a reply names the post it answers
(``reply_to_post_number``), which becomes its parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from crawlers.extract.dates import parse_date
from crawlers.extract.forum_html import ForumPost
from crawlers.extract.text import node_text

POSTS_PER_REQUEST = 20
_QUOTES = ["aside.quote", "aside.onebox", "div.lightbox-wrapper", ".meta", "a.mention-group"]


@dataclass(frozen=True)
class Topic:
    id: int
    slug: str
    title: str | None
    highest_post_number: int | None
    last_posted_at: str | None

    def url(self, root: str) -> str:
        return urljoin(root, f"/t/{self.slug}/{self.id}")

    @property
    def marker(self) -> str:
        return f"{self.highest_post_number}@{self.last_posted_at}"


@dataclass(frozen=True)
class TopicPage:
    topic: Topic
    posts: list[ForumPost]
    stream: list[int]
    """Every post id of the topic, in order."""


def root_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _text(html: str) -> str:
    from parsel import Selector

    return node_text(Selector(text=f"<div>{html}</div>").css("div")[0], _QUOTES)


def latest(doc: Any, url: str) -> tuple[list[Topic], str | None]:
    """The topics of a ``/latest.json`` page, and the URL of the next page."""
    topic_list = doc.get("topic_list") if isinstance(doc, dict) else None
    if not isinstance(topic_list, dict):
        raise ValueError("not a Discourse topic list (no topic_list)")
    topics = []
    for item in topic_list.get("topics") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int):
            continue
        topics.append(
            Topic(
                id=item["id"],
                slug=str(item.get("slug") or "topic"),
                title=item.get("title") or item.get("fancy_title"),
                highest_post_number=item.get("highest_post_number") or item.get("posts_count"),
                last_posted_at=item.get("last_posted_at") or item.get("bumped_at"),
            )
        )
    more = topic_list.get("more_topics_url")
    next_url = None
    if isinstance(more, str) and more:
        path, _, query = more.partition("?")
        next_url = urljoin(url, (path if path.endswith(".json") else path + ".json") + "?" + query)
    return topics, next_url


def posts(doc: Any, root: str, slug: str, topic_id: int, *, tz: str = "UTC") -> list[ForumPost]:
    """The posts in a topic or ``posts.json`` document."""
    stream = doc.get("post_stream") if isinstance(doc, dict) else None
    if not isinstance(stream, dict):
        raise ValueError("not a Discourse post stream (no post_stream)")
    thread = urljoin(root, f"/t/{slug}/{topic_id}")
    out = []
    for post in stream.get("posts") or []:
        if not isinstance(post, dict) or not isinstance(post.get("post_number"), int):
            continue
        if post.get("hidden") or post.get("deleted_at") or post.get("post_type", 1) != 1:
            continue  # hidden, deleted, or a moderator action ("closed this topic")
        text = _text(str(post.get("cooked") or ""))
        if not text:
            continue
        likes = next(
            (
                a.get("count")
                for a in post.get("actions_summary") or []
                if isinstance(a, dict) and a.get("id") == 2
            ),
            None,
        )
        reply_to = post.get("reply_to_post_number")
        username = post.get("username")
        out.append(
            ForumPost(
                native_id=str(post.get("id")),
                url=f"{thread}/{post['post_number']}",
                text=text,
                author=post.get("name") or username,
                author_url=urljoin(root, f"/u/{username}") if username else None,
                published=parse_date(post.get("created_at"), tz=tz),
                position=post["post_number"],
                likes=likes if isinstance(likes, int) else post.get("like_count"),
                parent_url=f"{thread}/{reply_to}" if isinstance(reply_to, int) else None,
            )
        )
    return out


def topic(doc: Any, url: str, *, tz: str = "UTC") -> TopicPage:
    """A ``/t/{slug}/{id}.json`` document."""
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), int):
        raise ValueError("not a Discourse topic (no id)")
    root = root_of(url)
    about = Topic(
        id=doc["id"],
        slug=str(doc.get("slug") or "topic"),
        title=doc.get("title") or doc.get("fancy_title"),
        highest_post_number=doc.get("highest_post_number") or doc.get("posts_count"),
        last_posted_at=doc.get("last_posted_at"),
    )
    stream = doc.get("post_stream", {}).get("stream") or []
    return TopicPage(
        topic=about,
        posts=posts(doc, root, about.slug, about.id, tz=tz),
        stream=[i for i in stream if isinstance(i, int)],
    )


def posts_url(root: str, topic_id: int, ids: list[int]) -> str:
    query = "&".join(f"post_ids[]={i}" for i in ids)
    return urljoin(root, f"/t/{topic_id}/posts.json?{query}")
