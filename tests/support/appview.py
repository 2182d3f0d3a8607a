"""A local Bluesky PDS serving the AppView's methods, for the tests, written from the
documentation (https://docs.bsky.app/docs/api/, the lexicons) and enforcing it.

What it serves, and the documented behaviour it holds the client to:

- ``POST /xrpc/com.atproto.server.createSession`` ``{"identifier", "password"}`` (a handle or
  DID, and an app password): ``{"did", "handle", "accessJwt", "refreshJwt", "active"}``; a
  wrong pair is ``401 {"error": "AuthenticationRequired", "message": "Invalid identifier or
  password"}``; at most 30 sessions per 5 minutes per account (``429``);
- ``POST /xrpc/com.atproto.server.refreshSession`` with the refresh JWT as bearer: a new pair,
  the old refresh JWT revoked (``400 {"error": "ExpiredToken"}`` when used again);
- every ``app.bsky.*`` call needs an access JWT: none is ``401 AuthenticationRequired``, an
  unknown one ``401 InvalidToken``, an expired one ``401 {"error": "ExpiredToken", "message":
  "Token has expired"}`` (`expire_sessions` expires them all); a refresh JWT there is refused;
- ``GET /xrpc/app.bsky.feed.searchPosts``: ``q`` required (every word must be in the text),
  ``sort`` ``latest`` (newest ``sortAt`` first) or ``top``, ``since`` inclusive and ``until``
  exclusive on ``sortAt`` (the earlier of ``createdAt`` and ``indexedAt``), ``limit`` 1 to 100
  (default 25; more is ``400 InvalidRequest``), ``cursor`` (opaque; absent on the last
  page): ``{"posts": [postView], "cursor", "hitsTotal"}``;
- ``GET /xrpc/app.bsky.actor.getProfiles``: ``actors`` repeated, 1 to 25 (more is ``400
  InvalidRequest``): ``{"profiles": [profileViewDetailed]}``, unknown accounts left out;
- errors are ``{"error": "Name", "message": "..."}``; rate limits
  (https://docs.bsky.app/docs/advanced-guides/rate-limits): each answer carries
  ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (epoch seconds) and
  ``RateLimit-Policy``; past the limit, ``429 {"error": "RateLimitExceeded"}``.

Faults for the tests: ``echo_secrets`` makes the errors quote the password or token they were
sent, as a careless server might, to prove Veille never repeats them; `fault` answers the
AppView's methods with a given status and body (500, malformed JSON).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from veille.demo.loopback import LoopbackServer, Reply, Request

MAX_SEARCH_LIMIT = 100
DEFAULT_SEARCH_LIMIT = 25
MAX_ACTORS = 25
SESSIONS_PER_WINDOW = 30


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: str) -> datetime:
    if len(value) == 10:  # an ISO date alone, as the lexicon allows
        value += "T00:00:00Z"
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


class FakeAppView(LoopbackServer):
    methods = ("GET", "POST")
    thread_name = "fake-appview"

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        accounts: dict[str, str],
        rate_limit: int = 3000,
        window: timedelta = timedelta(minutes=5),
    ) -> None:
        """``accounts``: handle -> app password."""
        super().__init__()
        self.now = now
        self.accounts = dict(accounts)
        self.rate_limit = rate_limit
        self.window = window
        self.posts: list[dict[str, Any]] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        """Each request: its method, its XRPC method, its query."""
        self.echo_secrets = False
        self.fault: tuple[int, bytes] | None = None
        """Answer every ``app.bsky.*`` call with this status and body (500, not JSON)."""
        self.sessions_made = 0
        self._access: dict[str, tuple[str, bool]] = {}
        """Access JWT -> (DID, expired)."""
        self._refresh: dict[str, str] = {}
        """Refresh JWT -> DID."""
        self._spent: Counter[tuple[str, float]] = Counter()
        self._lock = threading.Lock()

    # -- what the test publishes ---------------------------------------------------------------

    def profile(self, did: str, handle: str, *, followers: int, name: str = "") -> None:
        self.profiles[did] = {
            "did": did,
            "handle": handle,
            "displayName": name,
            "followersCount": followers,
            "followsCount": 1,
            "postsCount": 1,
        }

    def index(
        self,
        uri: str,
        text: str,
        *,
        created: datetime | None = None,
        counts: tuple[int, int, int] = (0, 0, 0),
        langs: list[str] | None = None,
    ) -> dict[str, Any]:
        """Index the post at ``uri`` (as the AppView does once the firehose brought it), now;
        ``counts``: likes, reposts, replies."""
        did = uri.removeprefix("at://").split("/")[0]
        indexed = self.now()
        created = created or indexed
        author = self.profiles.get(did, {"did": did, "handle": "handle.invalid"})
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": _iso(created),
        }
        if langs is not None:
            record["langs"] = langs
        view = {
            "uri": uri,
            "cid": "bafy" + uri.rsplit("/", 1)[-1],
            "author": {k: author[k] for k in ("did", "handle", "displayName") if k in author},
            "record": record,
            "likeCount": counts[0],
            "repostCount": counts[1],
            "replyCount": counts[2],
            "quoteCount": 0,
            "indexedAt": _iso(indexed),
            "_sortAt": min(created, indexed),
        }
        with self._lock:
            self.posts.append(view)
        return view

    def expire_sessions(self) -> None:
        """Every access JWT given so far expires (they live about two hours)."""
        with self._lock:
            self._access = {t: (did, True) for t, (did, _) in self._access.items()}

    def revoke_refresh(self) -> None:
        """Every refresh JWT given so far is revoked (they expire too, after weeks)."""
        with self._lock:
            self._refresh.clear()

    def issued(self) -> list[str]:
        """Every access and refresh JWT still known."""
        with self._lock:
            return [*self._access, *self._refresh]

    def called(self, nsid: str) -> list[dict[str, list[str]]]:
        return [q for _, m, q in self.requests if m == nsid]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        nsid = parts.path.removeprefix("/xrpc/")
        query = parse_qs(parts.query)
        auth = request.headers.get("authorization") or ""
        bearer = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        with self._lock:
            self.requests.append((request.method, nsid, query))
            headers, over = self._count()
        if over:
            return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
        if self.fault is not None and nsid.startswith("app.bsky."):
            status, raw = self.fault
            return Reply(status, [("Content-Type", "application/json"), *headers], raw)
        try:
            with self._lock:
                body = self._answer(request, nsid, query, bearer)
        except _Refused as exc:
            return _error(exc.status, exc.error, exc.message, headers)
        return Reply(
            200,
            [("Content-Type", "application/json; charset=utf-8"), *headers],
            json.dumps(body).encode(),
        )

    def _answer(
        self, request: Request, nsid: str, query: dict[str, list[str]], bearer: str | None
    ) -> Any:
        if nsid == "com.atproto.server.createSession":
            if request.method != "POST":
                raise _Refused(400, "InvalidRequest", "this method is a procedure (POST)")
            return self._create_session(request.body)
        if nsid == "com.atproto.server.refreshSession":
            if bearer is None or bearer not in self._refresh:
                echo = f" ({bearer})" if self.echo_secrets and bearer else ""
                raise _Refused(400, "ExpiredToken", "Token has been revoked" + echo)
            return self._session(self._refresh.pop(bearer))
        if nsid.startswith("app.bsky."):
            self._authorize(bearer)
            if nsid == "app.bsky.feed.searchPosts":
                return self._search(query)
            if nsid == "app.bsky.actor.getProfiles":
                return self._get_profiles(query)
        raise _Refused(501, "MethodNotImplemented", f"Method Not Implemented: {nsid}")

    def _create_session(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body)
            identifier, password = str(data["identifier"]), str(data["password"])
        except (ValueError, KeyError, TypeError):
            raise _Refused(
                400, "InvalidRequest", 'Input must have the property "identifier"'
            ) from None
        handle = next((h for h in self.accounts if identifier in (h, self._did(h))), None)
        start = self._window_start()
        self._spent[(f"session {identifier}", start)] += 1
        if self._spent[(f"session {identifier}", start)] > SESSIONS_PER_WINDOW:
            raise _Refused(429, "RateLimitExceeded", "Rate Limit Exceeded")
        if handle is None or self.accounts[handle] != password:
            echo = f" (got {password})" if self.echo_secrets else ""
            raise _Refused(401, "AuthenticationRequired", "Invalid identifier or password" + echo)
        self.sessions_made += 1
        return self._session(self._did(handle))

    @staticmethod
    def _did(handle: str) -> str:
        return "did:plc:" + handle.split(".", maxsplit=1)[0]

    def _session(self, did: str) -> dict[str, Any]:
        access, refresh = "eyJ.acc-" + secrets.token_hex(8), "eyJ.ref-" + secrets.token_hex(8)
        self._access[access] = (did, False)
        self._refresh[refresh] = did
        handle = next((h for h in self.accounts if self._did(h) == did), did)
        return {
            "did": did,
            "handle": handle,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": True,
        }

    def _authorize(self, bearer: str | None) -> None:
        if bearer is None:
            raise _Refused(401, "AuthenticationRequired", "Authentication Required")
        if bearer in self._refresh:
            raise _Refused(400, "InvalidToken", "Bad token scope")
        if bearer not in self._access:
            echo = f" ({bearer})" if self.echo_secrets else ""
            raise _Refused(401, "InvalidToken", "Token could not be verified" + echo)
        if self._access[bearer][1]:
            echo = f" ({bearer})" if self.echo_secrets else ""
            raise _Refused(401, "ExpiredToken", "Token has expired" + echo)

    def _search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        q = query.get("q", [""])[-1]
        if not q.strip():
            raise _Refused(400, "InvalidRequest", 'Error: Params must have the property "q"')
        limit = _int(query, "limit", DEFAULT_SEARCH_LIMIT)
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise _Refused(400, "InvalidRequest", "Error: limit can not be greater than 100")
        sort = query.get("sort", ["latest"])[-1]
        words = q.lower().split()
        found = [p for p in self.posts if all(w in p["record"]["text"].lower() for w in words)]
        if "since" in query:
            since = _time(query["since"][-1])
            found = [p for p in found if p["_sortAt"] >= since]
        if "until" in query:
            until = _time(query["until"][-1])
            found = [p for p in found if p["_sortAt"] < until]
        if sort == "top":
            found.sort(key=lambda p: -p["likeCount"])
        else:
            found.sort(key=lambda p: p["_sortAt"], reverse=True)
        try:
            offset = int(query.get("cursor", ["0"])[-1])
        except ValueError:
            raise _Refused(400, "InvalidRequest", "malformed cursor") from None
        page = found[offset : offset + limit]
        body: dict[str, Any] = {
            "posts": [{k: v for k, v in p.items() if k != "_sortAt"} for p in page],
            "hitsTotal": len(found),
        }
        if offset + limit < len(found):
            body["cursor"] = str(offset + limit)
        return body

    def _get_profiles(self, query: dict[str, list[str]]) -> dict[str, Any]:
        actors = query.get("actors", [])
        if not 1 <= len(actors) <= MAX_ACTORS:
            raise _Refused(
                400, "InvalidRequest", "Error: actors must not have more than 25 elements"
            )
        return {"profiles": [self.profiles[a] for a in actors if a in self.profiles]}

    def _window_start(self) -> float:
        seconds = self.window.total_seconds()
        now = self.now().timestamp()
        return now - now % seconds

    def _count(self) -> tuple[list[tuple[str, str]], bool]:
        # Counted per client (the tests' one address), as the PDS counts per IP.
        start = self._window_start()
        key = ("client", start)
        self._spent[key] += 1
        spent = self._spent[key]
        seconds = int(self.window.total_seconds())
        headers = [
            ("RateLimit-Limit", str(self.rate_limit)),
            ("RateLimit-Remaining", str(max(0, self.rate_limit - spent))),
            ("RateLimit-Reset", str(int(start + seconds))),
            ("RateLimit-Policy", f"{self.rate_limit};w={seconds}"),
        ]
        return headers, spent > self.rate_limit


def _int(query: dict[str, list[str]], key: str, default: int) -> int:
    try:
        return int(query[key][-1]) if key in query else default
    except ValueError:
        raise _Refused(400, "InvalidRequest", f"{key} must be an integer") from None


def _error(status: int, error: str, message: str, headers: list[tuple[str, str]]) -> Reply:
    body = json.dumps({"error": error, "message": message}).encode()
    return Reply(status, [("Content-Type", "application/json; charset=utf-8"), *headers], body)
