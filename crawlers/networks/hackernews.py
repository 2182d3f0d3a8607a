"""Hacker News: new stories and comments matching searches, through the public HN Search API
that Algolia runs (https://hn.algolia.com/api), no key.

What it reads: ``GET /api/v1/search_by_date?query=...&tags=(story,comment)&numericFilters=
created_at_i>=N&hitsPerPage=...&page=...``, newest first: ``{"hits": [...], "nbHits",
"nbPages", "page", "hitsPerPage"}``, pages numbered from 0, at most 1,000 hits reachable per
search (``nbPages`` stops there). A client may send 10,000 requests an hour; past that, 429.

The cursor of each query (``search <query>``) is a `TimeCursor` on ``created_at_i``: the newest
hit's time and the ``objectID`` of the hits read in the last ``overlap`` (the index adds a hit a
little after it is posted). A poll asks for the hits from ``overlap`` before the newest seen.
When they fill more than a page, it pages through a window that ends a second before the
newest hit (so that hits still arriving in that second do not shift the pages), and reads on a
second later. A window with more pages than ``max_pages``, or more hits than the search can
reach, is halved (from the newest hit seen) until it fits; a window of one second is not
split: all its pages are read. What was read already is passed over, so nothing is published
twice and nothing between two polls is skipped.

Mapping: a hit is one mention, identified by ``hackernews`` + its ``objectID``; its URL is the
item's page on news.ycombinator.com, the author's handle and profile page, ``points`` as likes
and ``num_comments`` as replies; a comment's parent (``parent_id``) and story (``story_id``,
``story_title``) as its thread; the comment's HTML as text.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from crawlers.extract.text import html_to_text
from crawlers.networks.base import Batch, Cursors, PlatformError
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.cursor import TimeCursor, poll_by_time
from crawlers.networks.http import JsonClient, RateGate
from crawlers.networks.settings import HackerNewsSettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock, SystemClock
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
    Engagement,
    Mention,
    Source,
    SourceKind,
    Thread,
    mention_id,
)

log = logging.getLogger(__name__)

PLATFORM = "hackernews"
SITE = "https://news.ycombinator.com"


def item_id(native: str | int) -> str:
    """The mention id of Hacker News item ``native``."""
    return mention_id(source=PLATFORM, native_id=str(native))


def item_url(native: str | int) -> str:
    return f"{SITE}/item?id={native}"


def hit_to_mention(hit: dict[str, Any], source: str, fetched: datetime) -> Mention:
    """The mention for one search hit; ValueError (or pydantic's ValidationError) if it cannot
    be one."""
    native = str(hit["objectID"])
    published = datetime.fromtimestamp(int(hit["created_at_i"]), UTC)
    author = hit.get("author")
    comment = "comment" in (hit.get("_tags") or ()) or hit.get("comment_text") is not None
    story = hit.get("story_id") if comment else native
    points, comments = hit.get("points"), hit.get("num_comments")
    return Mention(
        id=item_id(native),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=item_url(native),
        site="news.ycombinator.com",
        title=None if comment else (hit.get("title") or None),
        text=html_to_text(hit.get("comment_text") if comment else hit.get("story_text"))[
            :MAX_TEXT_CHARS
        ],
        author=Author(handle=author, url=f"{SITE}/user?id={author}")
        if isinstance(author, str) and author
        else None,
        published=min(published, fetched),
        fetched=fetched,
        parent=item_id(hit["parent_id"]) if comment and hit.get("parent_id") else None,
        thread=Thread(
            id=item_id(story),
            title=hit.get("story_title") if comment else hit.get("title"),
            url=item_url(story),
            position=None if comment else 0,
        )
        if story
        else None,
        engagement=Engagement(
            likes=points if isinstance(points, int) and points >= 0 else None,
            replies=comments if isinstance(comments, int) and comments >= 0 else None,
        ),
    )


class _Page(NamedTuple):
    hits: list[tuple[str, float, dict[str, Any]]]
    """(objectID, created_at_i, the hit), newest first."""
    pages: int
    total: int


class HackerNewsConnector(_Connector):
    def __init__(
        self, settings: HackerNewsSettings, http: HttpSettings, clock: Clock | None = None
    ) -> None:
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.clock = clock or SystemClock()
        self._client = JsonClient(http)
        self._gate = RateGate()
        self._requests = 0

    @property
    def platform(self) -> str:
        return PLATFORM

    def close(self) -> None:
        self._client.close()

    def test(self) -> list[str]:
        page = self._search(self.settings.search[0], 0, None, None, size=1)
        return [f"{self.settings.api_url}: the search answers ({page.total} hits in all)"]

    def _search(
        self, query: str, page: int, low: int | None, high: int | None, *, size: int
    ) -> _Page:
        numeric = [f"created_at_i>={low}"] if low is not None else []
        numeric += [f"created_at_i<={high}"] if high is not None else []
        params: dict[str, str | int] = {
            "query": query,
            "tags": self.settings.tags,
            "hitsPerPage": size,
            "page": page,
        }
        if numeric:
            params["numericFilters"] = ",".join(numeric)
        self._gate.check("api", self.clock.now().timestamp())
        self._requests += 1
        reply = self._client.get(f"{self.settings.api_url}/search_by_date", params)
        self._gate.note("api", reply.rate_limit)
        data = reply.data
        hits = data.get("hits") if isinstance(data, dict) else None
        if not isinstance(hits, list):
            raise PlatformError(f"search {query}: the answer has no hits")
        found = []
        for hit in hits:
            try:
                found.append((str(hit["objectID"]), float(hit["created_at_i"]), hit))
            except (KeyError, TypeError, ValueError):
                raise PlatformError(f"search {query}: a hit without objectID or date") from None
        pages, total = data.get("nbPages"), data.get("nbHits")
        if not isinstance(pages, int) or not isinstance(total, int):
            raise PlatformError(f"search {query}: the answer has no nbPages or nbHits")
        return _Page(found, pages, total)

    # -- polling -------------------------------------------------------------------------------

    def poll(self, cursors: Cursors) -> Batch:
        self._requests = 0
        queries = {f"search {q}": q for q in self.settings.search}

        def read(
            key: str, cursor: TimeCursor | None
        ) -> tuple[list[Mention | None], TimeCursor | None, bool]:
            hits, cursor, left = self._read(queries[key], cursor)
            return [self._mention(native, hit) for native, _, hit in hits], cursor, left

        overlap = self.settings.overlap.total_seconds()
        batch = poll_by_time(cursors, list(queries), overlap, read)
        return replace(batch, rate_limit=self._gate.last, requests=self._requests)

    def _mention(self, native: str, hit: dict[str, Any]) -> Mention | None:
        try:
            return hit_to_mention(hit, self.name, self.clock.now())
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            reason = str(exc).splitlines()[0]
            log.info("hackernews %s: skipped %s (%s)", self.name, native, reason)
            return None

    def _read(
        self, query: str, cursor: TimeCursor | None
    ) -> tuple[list[tuple[str, float, dict[str, Any]]], TimeCursor | None, bool]:
        """The hits of ``query`` new since ``cursor``, newest first; the cursor after them;
        whether some were left for the next poll."""
        size = self.settings.page_size
        overlap = self.settings.overlap.total_seconds()
        if cursor is None:  # the first time: the newest page only
            first = self._search(query, 0, None, None, size=size)
            return first.hits, TimeCursor.first(_keys(first.hits), overlap), False
        low = math.floor(cursor.horizon)
        first = self._search(query, 0, low, None, size=size)
        if first.total <= len(first.hits):  # one page holds them all
            fresh = [h for h in first.hits if cursor.is_new(h[0], h[1])]
            return fresh, cursor.advance(_keys(fresh)), False
        # More than a page: page through a window that ends before the newest second, which
        # may still be filling (a hit added to it would shift the pages behind it).
        newest = int(max(h[1] for h in first.hits))
        high = max(low, newest - 1)
        page = self._search(query, 0, low, high, size=size)
        narrowed = False
        while self._too_many(page) and high > low:
            if not narrowed:  # busy: skip the overlap, read on from the newest seen
                low = max(low, math.floor(cursor.newest))
            high = max(low, low + (high - low) // 2)
            narrowed = True
            page = self._search(query, 0, low, high, size=size)
        # One second cannot be split: it is read whole (at most the 1,000 reachable hits), or
        # its newest pages would be read again at every poll and the others never.
        pages = page.pages if high <= low else min(page.pages, self.settings.max_pages)
        hits = list(page.hits)
        for number in range(1, pages):
            hits += self._search(query, number, low, high, size=size).hits
        if not narrowed:  # the newest second, as far as the first page showed it
            hits = [h for h in first.hits if h[1] > high] + hits
        fresh = [h for h in hits if cursor.is_new(h[0], h[1])]
        after = cursor.advance(_keys(fresh))
        if high < newest:  # the window was read whole: the cursor moves past it
            after = after.through(high + 1)
        # Left for a poll a second later: the rest of a split window, or of the newest second
        # when the first page held nothing older.
        left = narrowed or page.pages > pages or (high < newest and first.hits[-1][1] >= newest)
        return fresh, after, left

    def _too_many(self, page: _Page) -> bool:
        """More pages than a poll reads, or more hits than the search lets be reached."""
        size = self.settings.page_size
        return page.pages > self.settings.max_pages or page.total > page.pages * size


def _keys(hits: list[tuple[str, float, dict[str, Any]]]) -> list[tuple[str, float]]:
    """(objectID, created) of ``hits``, oldest first (they come newest first)."""
    return [(h[0], h[1]) for h in reversed(hits)]
