"""A local HN Search API (Algolia's, https://hn.algolia.com/api) for the tests, written from its
documentation and enforcing it.

- ``GET /api/v1/search_by_date``: ``query`` (every word must appear in the title, text, URL or
  author), ``tags`` (``story``, ``comment``, or ``(story,comment)`` for either), ``numericFilters``
  (comma-separated conditions, all to hold, on ``created_at_i``, ``points`` or ``num_comments``
  with ``<``, ``<=``, ``=``, ``>``, ``>=``; anything else is ``400 {"message": ..., "status":
  400}``), ``hitsPerPage`` (default 20, at most 1,000), ``page`` (from 0). Hits newest first
  (``created_at_i``); ``{"hits", "nbHits", "page", "nbPages", "hitsPerPage", "query",
  "params"}``; at most 1,000 hits can be reached (``paginationLimitedTo``): ``nbPages`` stops
  there and a page past it has no hits;
- a hit: ``objectID``, ``created_at``, ``created_at_i``, ``author``, ``_tags``; a story's
  ``title``, ``url``, ``story_text``, ``points``, ``num_comments``; a comment's
  ``comment_text`` (HTML), ``story_id``, ``parent_id``, ``story_title``, ``story_url``;
- rate limit: 10,000 requests an hour from one address; past it, ``429 {"message": ...,
  "status": 429}`` (no rate-limit headers are documented: none are sent), on the test's clock.

Faults: `fault` answers every search with a given status and body. A hit can be `add`-ed with
a creation time in the past, as the index does with a hit it took a while to add.
"""

from __future__ import annotations

import operator
import re
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from veille.demo.loopback import LoopbackServer, Reply, Request, json_reply

MAX_HITS_PER_PAGE = 1000
PAGINATION_LIMIT = 1000
_FILTER = re.compile(r"^(created_at_i|points|num_comments)(<=|>=|<|>|=)(-?\d+)$")
_OPS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">": operator.gt,
    ">=": operator.ge,
}


class FakeHackerNews(LoopbackServer):
    thread_name = "fake-hn-search"

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        rate_limit: int = 10_000,
        window: timedelta = timedelta(hours=1),
    ) -> None:
        super().__init__()
        self.now = now
        self.rate_limit = rate_limit
        self.window = window
        self.hits: list[dict[str, Any]] = []
        self.requests: list[dict[str, str]] = []
        """Each search's query parameters."""
        self.fault: tuple[int, bytes] | None = None
        self._next = 42_000_000
        self._spent: Counter[float] = Counter()
        self._lock = threading.Lock()

    # -- what the test publishes ---------------------------------------------------------------

    def add(self, hit: dict[str, Any], created: datetime | None = None) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            when = created or self.now()
            full = {
                "objectID": str(self._next),
                "created_at": when.astimezone(UTC)
                .isoformat(timespec="seconds")
                .replace("+00:00", ".000Z"),
                "created_at_i": int(when.timestamp()),
                **hit,
            }
            full["_tags"] = [full.pop("kind"), f"author_{hit['author']}"]
            self.hits.append(full)
            return full

    def story(
        self,
        title: str,
        *,
        author: str = "pg",
        text: str | None = None,
        url: str | None = "https://acme.example/news",
        points: int = 1,
        num_comments: int = 0,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        return self.add(
            {
                "kind": "story",
                "title": title,
                "url": url,
                "author": author,
                "story_text": text,
                "points": points,
                "num_comments": num_comments,
                "story_id": None,
            },
            created,
        )

    def comment(
        self,
        story: dict[str, Any],
        text: str,
        *,
        author: str = "dang",
        parent: str | None = None,
        created: datetime | None = None,
    ) -> dict[str, Any]:
        return self.add(
            {
                "kind": "comment",
                "comment_text": text,
                "author": author,
                "points": None,
                "num_comments": None,
                "story_id": int(story["objectID"]),
                "parent_id": int(parent or story["objectID"]),
                "story_title": story["title"],
                "story_url": story["url"],
            },
            created,
        )

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append(query)
            now = self.now().timestamp()
            window = self.window.total_seconds()
            self._spent[now - now % window] += 1
            over = self._spent[now - now % window] > self.rate_limit
        if over:
            message = "You have exceeded the rate limit of 10,000 requests per hour"
            return json_reply(429, {"message": message, "status": 429})
        if parts.path != "/api/v1/search_by_date":
            return json_reply(404, {"message": "Not Found", "status": 404})
        if self.fault is not None:
            status, body = self.fault
            return Reply(status, [("Content-Type", "application/json")], body)
        try:
            size = int(query.get("hitsPerPage", 20))
            page = int(query.get("page", 0))
            tests = [_condition(c) for c in query.get("numericFilters", "").split(",") if c]
            kinds = _tags(query.get("tags", ""))
        except ValueError as exc:
            return json_reply(400, {"message": str(exc), "status": 400})
        size = max(0, min(size, MAX_HITS_PER_PAGE))
        words = query.get("query", "").lower().split()
        with self._lock:
            hits = list(self.hits)
        found = [
            h
            for h in hits
            if kinds(set(h["_tags"]))
            and all(test(h) for test in tests)
            and all(w in _words(h) for w in words)
        ]
        found.sort(key=lambda h: (h["created_at_i"], int(h["objectID"])), reverse=True)
        reachable = found[:PAGINATION_LIMIT]
        pages = -(-len(reachable) // size) if size else 0
        chunk = reachable[page * size : (page + 1) * size] if size else []
        answer = {
            "hits": chunk,
            "nbHits": len(found),
            "page": page,
            "nbPages": pages,
            "hitsPerPage": size,
            "query": query.get("query", ""),
            "params": parts.query,
        }
        return json_reply(200, answer)


def _words(hit: dict[str, Any]) -> str:
    fields = ("title", "story_text", "comment_text", "url", "author")
    return " ".join(str(hit.get(f) or "") for f in fields).lower()


def _condition(text: str) -> Callable[[dict[str, Any]], bool]:
    match = _FILTER.match(text.strip())
    if match is None:
        raise ValueError(f"invalid numericFilters: {text!r}")
    name, op, value = match[1], _OPS[match[2]], int(match[3])
    return lambda hit: hit.get(name) is not None and op(int(hit[name]), value)


def _tags(text: str) -> Callable[[set[str]], bool]:
    """``story,comment``: both (AND); ``(story,comment)``: either (OR)."""
    if not text:
        return lambda tags: True
    either = text.startswith("(") and text.endswith(")")
    wanted = {t.strip() for t in text.strip("()").split(",")}
    if not wanted <= {"story", "comment", "poll", "pollopt", "show_hn", "ask_hn"}:
        raise ValueError(f"this fake answers story and comment tags, not {text!r}")
    return (lambda tags: bool(wanted & tags)) if either else (lambda tags: wanted <= tags)
