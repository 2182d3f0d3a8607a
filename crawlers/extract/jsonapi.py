"""Posts a page embeds as a JSON:API document for its scripts to render (Flarum prints its
discussion that way, with only names and text in a ``<noscript>`` copy): the ``posts`` resources
with their ``createdAt``, ``contentHtml`` and author (a ``users`` resource, by its display name).

A post's permalink is the discussion's URL and the post's number (``/d/3187-slug/5``), the
address the forum gives each post; without a number, the discussion's URL and ``#post-ID``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from parsel import Selector

from crawlers.extract.dates import parse_date
from crawlers.extract.forum_html import ForumPost
from crawlers.extract.text import html_to_text


def _documents(sel: Selector) -> Iterator[dict[str, Any]]:
    for script in sel.xpath("//script[contains(@type, 'json')]/text()").getall():
        if '"included"' not in script and '"data"' not in script:
            continue
        try:
            payload = json.loads(script)
        except ValueError:
            continue
        if not isinstance(payload, dict):
            continue
        for doc in (payload.get("apiDocument"), payload):
            if isinstance(doc, dict) and isinstance(doc.get("included", doc.get("data")), list):
                yield doc


def _resources(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for key in ("data", "included"):
        value = doc.get(key)
        items = value if isinstance(value, list) else [value]
        found += [r for r in items if isinstance(r, dict) and isinstance(r.get("attributes"), dict)]
    return found


def _user(post: dict[str, Any], users: dict[str, dict[str, Any]]) -> str | None:
    relation = post.get("relationships", {}).get("user", {}).get("data")
    user = users.get(str(relation.get("id"))) if isinstance(relation, dict) else None
    if user is None:
        return None
    for name in ("displayName", "username"):
        value = user.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def embedded_posts(
    sel: Selector, thread: str, *, tz: str = "UTC", now: datetime | None = None
) -> list[ForumPost]:
    """The posts of the first JSON:API document on the page that has any, in number order."""
    for doc in _documents(sel):
        resources = _resources(doc)
        users = {str(r.get("id")): r["attributes"] for r in resources if r.get("type") == "users"}
        posts = [
            r
            for r in resources
            if r.get("type") == "posts" and isinstance(r["attributes"].get("contentHtml"), str)
        ]
        if not posts:
            continue
        posts.sort(key=lambda r: r["attributes"].get("number") or 0)
        out: list[ForumPost] = []
        for post in posts:
            attributes = post["attributes"]
            text = html_to_text(attributes["contentHtml"])
            if not text:
                continue
            number = attributes.get("number")
            url = f"{thread.rstrip('/')}/{number}" if number else f"{thread}#post-{post.get('id')}"
            created = attributes.get("createdAt")
            out.append(
                ForumPost(
                    native_id=str(post.get("id")),
                    url=url,
                    text=text,
                    author=_user(post, users),
                    published=parse_date(created, tz=tz, now=now)
                    if isinstance(created, str)
                    else None,
                    position=number if isinstance(number, int) else len(out) + 1,
                )
            )
        if out:
            return out
    return []
