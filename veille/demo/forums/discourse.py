"""Discourse's JSON API: ``/latest.json`` (paged), ``/t/{slug}/{id}.json`` (a topic and its first
posts) and ``/t/{id}/posts.json`` (more posts). Replies that quote the post before them answer it
(``reply_to_post_number``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html import escape
from typing import Any

from veille.demo.forums.base import Engine, paragraphs
from veille.demo.forums.model import Forum, ForumPost, Thread, latest_first
from veille.demo.rendering import paged
from veille.demo.web import Response, Route

_JSON = "application/json; charset=utf-8"


class Discourse(Engine):
    start_path = "/latest.json"
    robots = "User-agent: *\nDisallow: /admin/\nDisallow: /auth/\nDisallow: /u/\n"

    def __init__(self, forum: Forum, chunk_size: int = 20) -> None:
        super().__init__(forum)
        self.chunk_size = chunk_size
        """How many posts a topic's document carries; the rest come from ``posts.json``."""

    def pages(self) -> Iterator[tuple[str, Route]]:
        per = self.forum.threads_per_page
        for page in paged(latest_first(self.forum.threads()), per):
            doc: dict[str, Any] = {
                "users": [],
                "topic_list": {
                    "can_create_topic": False,
                    "per_page": per,
                    "topics": [_listed(t) for t in page.items],
                },
            }
            if page.has_next:
                doc["topic_list"]["more_topics_url"] = (
                    f"/latest?no_definitions=true&page={page.number + 1}"
                )
            path = "/latest.json" + (
                f"?no_definitions=true&page={page.number}" if page.number else ""
            )
            yield path, Response.text(json.dumps(doc), _JSON)
        for topic in self.forum.threads():
            yield from self._topic(topic)

    def _topic(self, topic: Thread) -> Iterator[tuple[str, Route]]:
        numbered = [
            self._post(topic, p, n + 1, n if p.quote else None) for n, p in enumerate(topic.posts)
        ]
        topic_doc: dict[str, Any] = {
            "post_stream": {
                "posts": numbered[: self.chunk_size],
                "stream": [p.id for p in topic.posts],
            },
            "id": topic.id,
            "title": topic.title,
            "fancy_title": escape(topic.title),
            "posts_count": len(topic.posts),
            "created_at": topic.posts[0].when.isoformat(),
            "views": 40,
            "reply_count": len(topic.posts) - 1,
            "highest_post_number": len(topic.posts),
            "last_posted_at": topic.last.when.isoformat(),
            "archetype": "regular",
            "slug": topic.slug,
            "category_id": 5,
            "chunk_size": self.chunk_size,
        }
        yield f"/t/{topic.slug}/{topic.id}.json", Response.text(json.dumps(topic_doc), _JSON)
        by_id = {p["id"]: p for p in numbered}

        def posts_json(_etag: str) -> Response:
            return Response.text(json.dumps({"post_stream": {"posts": list(by_id.values())}}))

        yield f"/t/{topic.id}/posts.json", posts_json

    def _post(
        self, topic: Thread, post: ForumPost, number: int, reply_to: int | None
    ) -> dict[str, object]:
        quote = ""
        if post.quote:
            who, said = post.quote
            quote = (
                f'<aside class="quote no-group" data-username="{escape(who)}" data-post="'
                f'{number - 1}" data-topic="{topic.id}"><div class="title"><div class="quote-'
                f'controls"></div>{escape(who)}:</div><blockquote><p>{paragraphs(said)}</p>'
                "</blockquote></aside>"
            )
        text = "".join(f"<p>{escape(line)}</p>" for line in post.text.split("\n"))
        username = post.author.lower().replace(" ", "_")
        when = post.when.isoformat().replace("+00:00", "Z")
        return {
            "id": post.id,
            "name": post.author,
            "username": username,
            "avatar_template": f"/user_avatar/forum/{username}/{{size}}/1_2.png",
            "created_at": when,
            "cooked": quote + text,
            "post_number": number,
            "post_type": 1,
            "updated_at": when,
            "reply_count": 0,
            "reply_to_post_number": reply_to,
            "quote_count": 1 if post.quote else 0,
            "reads": 12,
            "score": 3.2,
            "topic_id": topic.id,
            "topic_slug": topic.slug,
            "display_username": post.author,
            "actions_summary": [{"id": 2, "count": post.likes}] if post.likes else [],
            "moderator": False,
            "hidden": False,
            "deleted_at": None,
            "user_id": len(post.author),
            "trust_level": 1,
        }


def _listed(t: Thread) -> dict[str, object]:
    """A topic as ``/latest.json`` lists it."""
    return {
        "id": t.id,
        "title": t.title,
        "fancy_title": escape(t.title),
        "slug": t.slug,
        "posts_count": len(t.posts),
        "reply_count": len(t.posts) - 1,
        "highest_post_number": len(t.posts),
        "created_at": t.posts[0].when.isoformat(),
        "last_posted_at": t.last.when.isoformat(),
        "bumped": True,
        "bumped_at": t.last.when.isoformat(),
        "archetype": "regular",
        "pinned": False,
        "visible": True,
        "closed": False,
        "views": 40,
        "like_count": 2,
        "category_id": 5,
    }
