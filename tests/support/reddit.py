"""A local Reddit for the tests, written from Reddit's API documentation and enforcing it.

One server plays both hosts (the tests point ``api_url`` and ``www_url`` at it):

- the token endpoint (https://github.com/reddit-archive/reddit/wiki/OAuth2, "Application Only
  OAuth"): ``POST /api/v1/access_token`` with HTTP Basic ``client_id:client_secret`` and the
  form ``grant_type=client_credentials`` answers ``{"access_token", "token_type": "bearer",
  "expires_in", "scope": "*"}``; unknown credentials are ``401 {"message": "Unauthorized",
  "error": 401}``; another grant type is ``200 {"error": "unsupported_grant_type"}``;
- the OAuth API (https://www.reddit.com/dev/api): ``GET /search`` (``q``, ``sort=new`` and
  ``type=link`` only, here), ``/r/{sub}/new``, ``/r/{sub}/comments``, each needing
  ``Authorization: bearer <token>`` of a token that has not expired (else ``401 {"message":
  "Unauthorized", "error": 401}`` with ``WWW-Authenticate: Bearer realm="reddit",
  error="invalid_token"``); each a Listing, newest first: ``{"kind": "Listing", "data":
  {"after", "before", "dist", "children": [{"kind": "t3"|"t1", "data": {...}}]}}``;
  ``limit`` (default 25, at most 100), ``after`` (the things older than that fullname),
  ``before`` (the ``limit`` things just newer than it); a fullname no longer in the listing
  (deleted) gives an empty page. Without ``raw_json=1``, ``&``, ``<`` and ``>`` in text come
  HTML-escaped, as Reddit sends them;
- the public feeds: ``/search.rss?q=&sort=new``, ``/r/{sub}/new/.rss``, ``/r/{sub}/comments/
  .rss``, Atom documents (entry ``id``: the fullname; ``author``: ``/u/name``; ``content``: HTML
  ending with "submitted by /u/name [link] [comments]"), paged as the listings, no key;
- every client must send a descriptive ``User-Agent``: an empty or a library's default one is
  refused (``403 {"message": "Forbidden", "error": 403}``);
- rate limits (https://support.reddithelp.com/hc/en-us/articles/16160319875092): each answer
  carries ``X-Ratelimit-Used``, ``X-Ratelimit-Remaining`` (a decimal: ``99.0``) and
  ``X-Ratelimit-Reset`` (seconds until the 10-minute window ends); past the limit, ``429
  {"message": "Too Many Requests", "error": 429}``. Counted per app (OAuth) or per address
  (feeds), on the clock the test gives.

Faults: `fault` answers every listing or feed with a given status and body; ``echo_secret``
makes a 401 quote the credentials or token it received, as a careless server might;
``refuse_tokens`` makes the API refuse every token the token endpoint hands out (an app
barred from the API).
"""

from __future__ import annotations

import base64
import contextlib
import html
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from veille.demo.loopback import LoopbackServer, Reply, Request, json_reply

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
WINDOW = timedelta(minutes=10)
GENERIC_AGENTS = ("python-httpx", "python-requests", "python-urllib", "curl")


def _error(status: int, message: str, headers: Sequence[tuple[str, str]] = ()) -> Reply:
    return json_reply(status, {"message": message, "error": status}, headers)


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


class FakeReddit(LoopbackServer):
    methods = ("GET", "POST")
    thread_name = "fake-reddit"

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        apps: dict[str, str] | None = None,
        token_ttl: timedelta = timedelta(hours=24),
        rate_limit: int = 1000,
        feed_rate_limit: int = 100,
    ) -> None:
        super().__init__()
        self.now = now
        self.apps = apps or {}
        """client_id to client_secret."""
        self.token_ttl = token_ttl
        self.rate_limit = rate_limit
        self.feed_rate_limit = feed_rate_limit
        self.things: list[dict[str, Any]] = []
        """``{"kind": "t3"|"t1", "data": {...}}``, oldest first."""
        self.tokens: dict[str, tuple[str, float]] = {}
        """Access token to (client id, expiry as a POSIX time)."""
        self.requests: list[tuple[str, str, dict[str, str], str | None]] = []
        """Each request: method, path, query, the Authorization header."""
        self.agents: set[str] = set()
        self.fault: tuple[int, bytes] | None = None
        self.echo_secret = False
        self.refuse_tokens = False
        self._next = 36**5
        self._spent: Counter[tuple[str, float]] = Counter()
        self._lock = threading.Lock()

    # -- what the test publishes ---------------------------------------------------------------

    def _new_id(self) -> str:
        self._next += 1
        return _base36(self._next)

    def post(
        self,
        title: str,
        *,
        sub: str = "france",
        text: str = "",
        author: str = "alice",
        score: int = 1,
        num_comments: int = 0,
    ) -> dict[str, Any]:
        """Publish a post (a link, ``t3``); its ``data``."""
        with self._lock:
            native = self._new_id()
            slug = "_".join(title.lower().split())[:40]
            data = {
                "id": native,
                "name": f"t3_{native}",
                "subreddit": sub,
                "subreddit_name_prefixed": f"r/{sub}",
                "title": title,
                "selftext": text,
                "author": author,
                "score": score,
                "ups": score,
                "num_comments": num_comments,
                "created_utc": self.now().timestamp(),
                "permalink": f"/r/{sub}/comments/{native}/{slug}/",
                "url": f"https://www.reddit.com/r/{sub}/comments/{native}/{slug}/",
                "over_18": False,
            }
            self.things.append({"kind": "t3", "data": data})
            return data

    def comment(
        self,
        post: dict[str, Any],
        body: str,
        *,
        author: str = "bob",
        parent: str | None = None,
        score: int = 1,
    ) -> dict[str, Any]:
        """Comment on ``post`` (or on comment fullname ``parent`` under it); its ``data``."""
        with self._lock:
            native = self._new_id()
            data = {
                "id": native,
                "name": f"t1_{native}",
                "subreddit": post["subreddit"],
                "body": body,
                "author": author,
                "score": score,
                "link_id": post["name"],
                "parent_id": parent or post["name"],
                "link_title": post["title"],
                "link_permalink": f"{self.url}{post['permalink']}",
                "created_utc": self.now().timestamp(),
                "permalink": f"{post['permalink']}{native}/",
            }
            self.things.append({"kind": "t1", "data": data})
            return data

    def delete(self, fullname: str) -> None:
        """The thing leaves every listing."""
        with self._lock:
            self.things = [t for t in self.things if t["data"]["name"] != fullname]

    def queried(self, path: str) -> list[dict[str, str]]:
        return [q for _, p, q, _ in self.requests if p == path]

    def expire_tokens(self) -> None:
        """Every token issued so far stops being accepted (as when Reddit revokes them)."""
        with self._lock:
            self.tokens.clear()

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("authorization")
        agent = request.headers.get("user-agent") or ""
        with self._lock:
            self.requests.append((request.method, path, query, auth))
            self.agents.add(agent)
        if not agent or agent.lower().startswith(GENERIC_AGENTS):
            return _error(403, "Forbidden")
        if request.method == "POST" and path == "/api/v1/access_token":
            return self._token(auth, request.body)
        if request.method != "GET":
            return _error(405, "Method Not Allowed")
        feed = path.endswith(".rss")
        client = self._client(auth) if not feed else "feeds"
        if client is None or (self.refuse_tokens and not feed):
            message = "Unauthorized" + (f" (received {auth})" if self.echo_secret else "")
            return _error(
                401, message, [("WWW-Authenticate", 'Bearer realm="reddit", error="invalid_token"')]
            )
        limits, over = self._count(client, self.feed_rate_limit if feed else self.rate_limit)
        if over:
            return _error(429, "Too Many Requests", limits)
        if self.fault is not None:
            status, body = self.fault
            return Reply(status, [("Content-Type", "application/json"), *limits], body)
        found = self._select(path.removesuffix(".rss").removesuffix("/."), query)
        if found is None:
            return _error(404, "Not Found", limits)
        if isinstance(found, Reply):
            return found
        page, after, before = _page(found, query)
        if feed:
            return Reply(
                200,
                [("Content-Type", "application/atom+xml; charset=UTF-8"), *limits],
                self._atom(page, path).encode(),
            )
        raw = query.get("raw_json") == "1"
        children = [{"kind": t["kind"], "data": _escaped(t["data"], raw)} for t in page]
        listing = {
            "kind": "Listing",
            "data": {"after": after, "before": before, "dist": len(children), "children": children},
        }
        return json_reply(200, listing, limits)

    def _client(self, auth: str | None) -> str | None:
        """The app whose valid token ``auth`` carries; None if it carries none."""
        if not auth or not auth.lower().startswith("bearer "):
            return None
        token = auth[7:].strip()
        with self._lock:
            app = self.tokens.get(token)
        if app is None or app[1] <= self.now().timestamp():
            return None
        return app[0]

    def _token(self, auth: str | None, body: bytes) -> Reply:
        client_id = secret = ""
        if auth and auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        if not client_id or self.apps.get(client_id) != secret:
            message = "Unauthorized"
            if self.echo_secret:
                message += f" (received {client_id}:{secret}, {auth})"
            return _error(401, message)
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return json_reply(200, {"error": "unsupported_grant_type"})
        with self._lock:
            token = f"tok-{self._new_id()}-{client_id[:3]}"
            self.tokens[token] = (
                client_id,
                self.now().timestamp() + self.token_ttl.total_seconds(),
            )
        body_ = {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(self.token_ttl.total_seconds()),
            "scope": "*",
        }
        return json_reply(200, body_)

    def _select(self, path: str, query: dict[str, str]) -> list[dict[str, Any]] | Reply | None:
        """The things ``path`` lists, oldest first."""
        with self._lock:
            things = list(self.things)
        if path == "/search":
            if query.get("sort") != "new" or query.get("type", "link") != "link":
                return _error(400, "this fake answers sort=new, type=link")
            words = query.get("q", "").lower().split()
            if not words:
                return _error(400, "q is required")
            return [
                t
                for t in things
                if t["kind"] == "t3"
                and all(w in f"{t['data']['title']} {t['data']['selftext']}".lower() for w in words)
            ]
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "r" and parts[2] in ("new", "comments"):
            kind = "t3" if parts[2] == "new" else "t1"
            return [t for t in things if t["kind"] == kind and t["data"]["subreddit"] == parts[1]]
        return None

    def _count(self, client: str, limit: int) -> tuple[list[tuple[str, str]], bool]:
        seconds = WINDOW.total_seconds()
        now = self.now().timestamp()
        start = now - now % seconds
        with self._lock:
            self._spent[(client, start)] += 1
            spent = self._spent[(client, start)]
        headers = [
            ("X-Ratelimit-Used", str(spent)),
            ("X-Ratelimit-Remaining", f"{max(0, limit - spent):.1f}"),
            ("X-Ratelimit-Reset", str(int(start + seconds - now))),
        ]
        return headers, spent > limit

    def _atom(self, page: list[dict[str, Any]], path: str) -> str:
        updated = self.now().isoformat(timespec="seconds")
        entries = []
        for thing in page:
            d = thing["data"]
            stamp = datetime.fromtimestamp(d["created_utc"], UTC).isoformat(timespec="seconds")
            if thing["kind"] == "t3":
                title, text = d["title"], d["selftext"]
            else:
                title, text = f"/u/{d['author']} on {d['link_title']}", d["body"]
            content = (
                f'<!-- SC_OFF --><div class="md"><p>{html.escape(text)}</p></div><!-- SC_ON -->'
                f' &#32; submitted by &#32; <a href="{self.url}/user/{d["author"]}">'
                f'/u/{d["author"]}</a> <br/> <span><a href="{self.url}{d["permalink"]}">'
                "[comments]</a></span>"
            )
            entries.append(
                f"<entry><author><name>/u/{escape(d['author'])}</name>"
                f"<uri>{self.url}/user/{escape(d['author'])}</uri></author>"
                f'<category term="{d["subreddit"]}" label="r/{d["subreddit"]}"/>'
                f'<content type="html">{escape(content)}</content>'
                f"<id>{d['name']}</id>"
                f'<link href="{self.url}{d["permalink"]}"/>'
                f"<updated>{stamp}</updated><published>{stamp}</published>"
                f"<title>{escape(title)}</title></entry>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{escape(path)}</id><title>reddit</title><updated>{updated}</updated>"
            + "".join(entries)
            + "</feed>"
        )


def _page(
    found: list[dict[str, Any]], query: dict[str, str]
) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """The things the listing parameters select, newest first, and the answer's ``after``
    (the last one, when older things exist) and ``before`` (the first, when newer exist)."""
    try:
        limit = max(1, min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT))
    except ValueError:
        limit = DEFAULT_LIMIT
    ordered = list(reversed(found))
    names = [t["data"]["name"] for t in ordered]
    anchor = query.get("after") or query.get("before")
    if anchor is None:
        start, end = 0, limit
    elif anchor not in names:  # deleted, or never listed here
        return [], None, None
    elif "after" in query:
        start = names.index(anchor) + 1
        end = start + limit
    else:
        end = names.index(anchor)
        start = max(0, end - limit)
    page = ordered[start:end]
    after = names[end - 1] if page and end < len(ordered) else None
    before = names[start] if page and start > 0 else None
    return page, after, before


def _escaped(data: dict[str, Any], raw: bool) -> dict[str, Any]:
    if raw:
        return data
    return {
        k: html.escape(v, quote=False)
        if k in ("title", "selftext", "body") and isinstance(v, str)
        else v
        for k, v in data.items()
    }
