"""A local X API v2 for the tests, written from its documentation and enforcing it.

What it serves, and the documented behaviour it holds the client to (https://docs.x.com):

- authentication (https://docs.x.com/fundamentals/authentication): ``Authorization: Bearer``
  with the app's token on every endpoint; none, or one it does not know, is ``401`` with the
  problem details ``{"title": "Unauthorized", "type": "about:blank", "status": 401, "detail":
  "Unauthorized"}``; a token it marks ``forbidden`` (an app outside a project) is ``403 Client
  Forbidden``;
- ``GET /2/tweets/search/recent`` (https://docs.x.com/x-api/posts/search-recent-posts):
  ``query`` required (512 characters at most; here: every plain word must be in the text),
  the last 7 days only, ``max_results`` 10 to 100 (default 10), ``since_id`` (one older than
  7 days is ``400 Invalid Request``, "Please use a 'since_id' that is larger than ..."),
  ``next_token`` (from ``meta.next_token`` of the same request); ``tweet.fields``,
  ``expansions``, ``user.fields`` checked against the documented names (an unknown one is
  ``400 Invalid Request``); newest first; ``{"data": [...], "includes": {"users": [...]},
  "meta": {"newest_id", "oldest_id", "result_count", "next_token"}}``, and only ``meta``
  (``result_count: 0``) when nothing matched; fields that were not asked for are left out;
- ``GET /2/tweets?ids=`` (https://docs.x.com/x-api/posts/get-posts-by-ids): 1 to 100 ids;
  those that exist in ``data``, the others in ``errors`` as ``{"value", "detail", "title": "Not
  Found Error", "resource_type": "tweet", "parameter": "ids", "resource_id", "type"}``;
- ``GET /2/tweets/counts/recent``: ``{"data": [...], "meta": {"total_tweet_count"}}``;
- rate limits (https://docs.x.com/x-api/fundamentals/rate-limits): per endpoint and 15-minute
  window, ``x-rate-limit-limit``, ``-remaining``, ``-reset`` (epoch seconds) on every answer;
  past the limit, ``429 {"title": "Too Many Requests", ...}``;
- billing (https://docs.x.com/x-api/fundamentals/post-cap): every post returned by a search or
  a lookup is counted (`billed`); past the monthly ``cap``, ``429`` ``UsageCapExceeded``.

Faults for the tests: `fault` answers every request with a given status and body, and
``echo_token`` makes a 401 quote the token it was sent.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from veille.demo.loopback import LoopbackServer, Reply, Request, json_reply

TWEET_FIELDS = {
    "attachments", "author_id", "context_annotations", "conversation_id", "created_at",
    "edit_controls", "entities", "geo", "id", "in_reply_to_user_id", "lang", "note_tweet",
    "possibly_sensitive", "public_metrics", "referenced_tweets", "reply_settings", "source",
    "text", "withheld",
}  # fmt: skip
USER_FIELDS = {
    "created_at", "description", "id", "location", "name", "profile_image_url", "protected",
    "public_metrics", "url", "username", "verified",
}  # fmt: skip
WINDOW_S = 900


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Reply:
    body = {"title": title, "detail": detail, "type": kind, "status": status}
    return json_reply(status, body, [])


class FakeX(LoopbackServer):
    thread_name = "fake-x"

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        tokens: frozenset[str],
        rate_limit: int = 450,
        cap: int = 2_000_000,
    ) -> None:
        super().__init__()
        self.now = now
        self.tokens = tokens
        self.forbidden: frozenset[str] = frozenset()
        self.rate_limit = rate_limit
        self.cap = cap
        self.posts: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        self.billed = 0
        """Posts returned by searches and lookups (what X bills)."""
        self.fault: tuple[int, bytes] | None = None
        self.echo_token = False
        self._next = 1_862_000_000_000_000_000
        self._spent: Counter[tuple[str, str, int]] = Counter()
        self._lock = threading.Lock()

    # -- what the test publishes ---------------------------------------------------------------

    def post(
        self,
        text: str,
        *,
        user: str = "alice",
        followers: int = 1200,
        lang: str = "fr",
        reply_to: str | None = None,
        metrics: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> dict[str, Any]:
        """Publish a post; ``metrics``: likes, retweets, replies, impressions."""
        with self._lock:
            self._next += 1_000_003
            native = str(self._next)
            author = self.users.setdefault(
                user,
                {
                    "id": str(abs(hash(user)) % 10**12),
                    "username": user,
                    "name": user.title(),
                    "public_metrics": {
                        "followers_count": followers,
                        "following_count": 10,
                        "tweet_count": 100,
                        "listed_count": 0,
                        "like_count": 0,
                    },
                },
            )
            parent = next((p for p in self.posts if p["id"] == reply_to), None)
            post: dict[str, Any] = {
                "id": native,
                "text": text,
                "edit_history_tweet_ids": [native],
                "created_at": self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "author_id": author["id"],
                "lang": lang,
                "conversation_id": parent["conversation_id"] if parent else native,
                "public_metrics": {
                    "like_count": metrics[0],
                    "retweet_count": metrics[1],
                    "reply_count": metrics[2],
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": metrics[3],
                },
            }
            if parent:
                post["in_reply_to_user_id"] = parent["author_id"]
                post["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            self.posts.append(post)
            return post

    def delete(self, native: str) -> None:
        with self._lock:
            self.posts = [p for p in self.posts if p["id"] != native]

    def queried(self, path: str) -> list[dict[str, str]]:
        return [q for p, q, _ in self.requests if p == path]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        with self._lock:
            self.requests.append((path, query, token))
        if token is None or token not in self.tokens:
            detail = "Unauthorized" + (f" (received {token})" if self.echo_token else "")
            return _problem(401, "Unauthorized", detail)
        if token in self.forbidden:
            return _problem(
                403,
                "Client Forbidden",
                "When authenticating requests to the Twitter API v2 endpoints, you must use keys"
                " and tokens from a Twitter developer App that is attached to a Project.",
                "https://api.twitter.com/2/problems/client-forbidden",
            )
        limits, over = self._count(path)
        if over:
            reply = _problem(429, "Too Many Requests", "Too Many Requests")
            return Reply(reply.status, [*reply.headers, *limits], reply.body)
        if self.fault is not None:
            status, body = self.fault
            return Reply(status, [("Content-Type", "application/json"), *limits], body)
        if self.billed >= self.cap and path in ("/2/tweets/search/recent", "/2/tweets"):
            reply = _problem(
                429,
                "UsageCapExceeded",
                "Usage cap exceeded: Monthly product cap",
                "https://api.twitter.com/2/problems/usage-capped",
            )
            return Reply(reply.status, [*reply.headers, *limits], reply.body)
        if path == "/2/tweets/search/recent":
            return self._search(query, limits)
        if path == "/2/tweets":
            return self._lookup(query, limits)
        if path == "/2/tweets/counts/recent":
            with self._lock:
                total = len(self._matching(query.get("query", "")))
            return json_reply(200, {"data": [], "meta": {"total_tweet_count": total}}, limits)
        return _problem(404, "Not Found Error", f"no route {path}")

    def _count(self, path: str) -> tuple[list[tuple[str, str]], bool]:
        now = int(self.now().timestamp())
        start = now - now % WINDOW_S
        with self._lock:
            self._spent[(path, "app", start)] += 1
            spent = self._spent[(path, "app", start)]
        headers = [
            ("x-rate-limit-limit", str(self.rate_limit)),
            ("x-rate-limit-remaining", str(max(0, self.rate_limit - spent))),
            ("x-rate-limit-reset", str(start + WINDOW_S)),
        ]
        return headers, spent > self.rate_limit

    def _invalid(self, message: str, limits: list[tuple[str, str]]) -> Reply:
        body = {
            "errors": [{"message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return json_reply(400, body, limits)

    def _fields(self, query: dict[str, str]) -> tuple[set[str], set[str], str | None]:
        """The tweet and user fields asked for, or what is wrong with them."""
        tweet = set(filter(None, query.get("tweet.fields", "").split(",")))
        user = set(filter(None, query.get("user.fields", "").split(",")))
        expansions = set(filter(None, query.get("expansions", "").split(",")))
        if not tweet <= TWEET_FIELDS:
            return tweet, user, f"unknown tweet.fields: {sorted(tweet - TWEET_FIELDS)}"
        if not user <= USER_FIELDS:
            return tweet, user, f"unknown user.fields: {sorted(user - USER_FIELDS)}"
        if not expansions <= {"author_id", "referenced_tweets.id"}:
            return tweet, user, f"this fake knows no expansions {sorted(expansions)}"
        return tweet, (user if "author_id" in expansions else set()), None

    def _week(self) -> int:
        """The oldest post id recent search still covers: the first of the last 7 days."""
        horizon = self.now() - timedelta(days=7)
        recent = [int(p["id"]) for p in self.posts if _created(p) >= horizon]
        return min(recent, default=self._next + 1)

    def _matching(self, query: str) -> list[dict[str, Any]]:
        words = [w.lower() for w in query.split() if ":" not in w and not w.startswith("-")]
        return [p for p in self.posts if all(w in p["text"].lower() for w in words)]

    def _shaped(self, post: dict[str, Any], tweet: set[str]) -> dict[str, Any]:
        keep = {"id", "text", "edit_history_tweet_ids"} | tweet
        return {k: v for k, v in post.items() if k in keep}

    def _with_users(
        self, body: dict[str, Any], posts: list[dict[str, Any]], user: set[str]
    ) -> dict[str, Any]:
        if user and posts:
            ids = {p["author_id"] for p in posts}
            keep = {"id", "name", "username"} | user
            users = [{k: v for k, v in u.items() if k in keep} for u in self.users.values()]
            body["includes"] = {"users": [u for u in users if u["id"] in ids]}
        return body

    def _search(self, query: dict[str, str], limits: list[tuple[str, str]]) -> Reply:
        text = query.get("query", "")
        if not 1 <= len(text) <= 512:
            return self._invalid("query: 1 to 512 characters", limits)
        try:
            size = int(query.get("max_results", 10))
        except ValueError:
            size = 0
        if not 10 <= size <= 100:
            return self._invalid(
                "The `max_results` query parameter value is not between 10 and 100", limits
            )
        tweet, user, wrong = self._fields(query)
        if wrong:
            return self._invalid(wrong, limits)
        since = int(query.get("since_id", "0"))
        with self._lock:
            week = self._week()
        if "since_id" in query and since < week:
            return self._invalid(f"Please use a 'since_id' that is larger than {week}", limits)
        until: int | None = None
        if "next_token" in query:
            try:
                bound, until = json.loads(base64.urlsafe_b64decode(query["next_token"]))
            except ValueError:
                bound = None
            if bound != _request(query):
                return self._invalid("The `next_token` query parameter value is not valid", limits)
        with self._lock:
            found = [
                p
                for p in self._matching(text)
                if int(p["id"]) > max(since, week - 1) and (until is None or int(p["id"]) < until)
            ]
            found.sort(key=lambda p: int(p["id"]), reverse=True)
            page = found[:size]
            self.billed += len(page)
            body: dict[str, Any] = {"meta": {"result_count": len(page)}}
            if page:
                body["data"] = [self._shaped(p, tweet) for p in page]
                body["meta"] |= {"newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
                self._with_users(body, page, user)
            if len(found) > size:
                token = json.dumps([_request(query), int(page[-1]["id"])]).encode()
                body["meta"]["next_token"] = base64.urlsafe_b64encode(token).decode()
        return json_reply(200, body, limits)

    def _lookup(self, query: dict[str, str], limits: list[tuple[str, str]]) -> Reply:
        ids = [i for i in query.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            return self._invalid("ids: 1 to 100 post ids", limits)
        tweet, user, wrong = self._fields(query)
        if wrong:
            return self._invalid(wrong, limits)
        with self._lock:
            by_id = {p["id"]: p for p in self.posts}
            found = [by_id[i] for i in ids if i in by_id]
            self.billed += len(found)
            body: dict[str, Any] = {}
            if found:
                body["data"] = [self._shaped(p, tweet) for p in found]
                self._with_users(body, found, user)
        missing = [i for i in ids if i not in by_id]
        if missing:
            body["errors"] = [
                {
                    "value": i,
                    "detail": f"Could not find tweet with ids: [{i}].",
                    "title": "Not Found Error",
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": i,
                    "type": "https://api.twitter.com/2/problems/resource-not-found",
                }
                for i in missing
            ]
        return json_reply(200, body, limits)


def _created(post: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(post["created_at"].replace("Z", "+00:00"))


def _request(query: dict[str, str]) -> str:
    """The search a ``next_token`` belongs to: its query and ``since_id`` (how many posts a
    page asks for may change from one to the next)."""
    return json.dumps([query.get("query"), query.get("since_id")])
