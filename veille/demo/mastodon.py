"""A local Mastodon instance for the tests and the demo, written from the API documentation and
enforcing it.

What it serves, and the documented behaviour it holds the client to:

- ``GET /api/v1/timelines/tag/:hashtag`` (https://docs.joinmastodon.org/methods/timelines/#tag):
  public; ``limit`` (default 20, at most 40), ``max_id`` (older than), ``since_id`` (newer
  than, the newest page), ``min_id`` (the page immediately newer); newest first; a ``Link``
  header with ``rel="next"`` (``max_id``: older) and ``rel="prev"`` (``min_id``: newer) when
  the page is not empty (https://docs.joinmastodon.org/api/guidelines/#pagination);
- ``GET /api/v2/search?type=statuses`` (https://docs.joinmastodon.org/methods/search/):
  ``{"accounts": [], "statuses": [...], "hashtags": []}``, paged by ``max_id``/``min_id``, no
  ``Link`` header. Searching statuses needs a user token here (the documentation lets an
  anonymous caller search, but statuses only come back to a signed-in account);
- ``GET /api/v1/statuses/:id`` (https://docs.joinmastodon.org/methods/statuses/#get): the
  status, or ``404 {"error": "Record not found"}`` once its author deleted it (`delete`);
- ``GET /api/v1/accounts/verify_credentials`` (a user token) and ``GET /api/v2/instance``;
- authentication (https://docs.joinmastodon.org/client/token/): ``Authorization: Bearer``; a
  token it does not know is ``401 {"error": "The access token is invalid"}`` on any endpoint;
  a method that needs a user without one is ``401 {"error": "This method requires an
  authenticated user"}``;
- rate limits (https://docs.joinmastodon.org/api/rate-limits/): every answer carries
  ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an ISO 8601
  time); past the limit, ``429 {"error": "Too many requests"}`` until the window resets. The
  window is counted per token, or per client without one, on the clock the test gives.

- streaming (https://docs.joinmastodon.org/methods/streaming/): a WebSocket server on its own
  port, as Mastodon 4.2+ runs it, announced by ``/api/v2/instance`` as
  ``configuration.urls.streaming``; ``GET /api/v1/streaming?stream=hashtag&tag=...`` upgraded
  to a WebSocket needs a token (``Authorization: Bearer``): none, or one it does not know, is
  ``401`` (instances that close public streams to visitors answer so); any other path or
  stream is ``404``/``400``. Each event is one text message ``{"stream": ["hashtag", tag],
  "event": ..., "payload": ...}``: ``update`` (a status, as a JSON string) when a status with
  the tag is published, ``status.update`` when one is edited, and ``delete`` (the status id, a
  plain string) when any status is deleted. The stream only carries what happens while it is
  open: there is no replay.

Faults for the tests: `fault` answers every API request with a given status and body (500,
malformed JSON), ``echo_token`` makes a 401 quote the token it was sent, as a careless
server might, to prove Veille never repeats it, `drop_streams` closes every open stream, and
`send_raw` sends a stream message that is not as documented.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.http11 import Response as WsResponse
from websockets.sync.server import Server, ServerConnection, serve

from veille.demo.loopback import LoopbackServer, Reply, Request, json_reply

MAX_LIMIT = 40
DEFAULT_LIMIT = 20


def _key(native: str) -> tuple[int, str]:
    return len(native), native


class FakeMastodon(LoopbackServer):
    thread_name = "fake-mastodon"

    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        tokens: frozenset[str] = frozenset(),
        rate_limit: int = 300,
        window: timedelta = timedelta(minutes=5),
        first_id: int = 995,
    ) -> None:
        super().__init__()
        self.now = now
        self.tokens = tokens
        self.rate_limit = rate_limit
        self.window = window
        self.statuses: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str], str | None]] = []
        """Each request: its path, its query, the token it carried."""
        self.fault: tuple[int, bytes] | None = None
        self.echo_token = False
        self._next_id = first_id
        self._spent: Counter[tuple[str, float]] = Counter()
        self._lock = threading.Lock()
        self.streams: list[tuple[ServerConnection, str]] = []
        """Each open stream: its connection, its hashtag."""
        self.stream_requests: list[tuple[str, str | None]] = []
        """Each stream asked for: its path and query, the token it carried."""
        self._ws: Server | None = None
        self._ws_thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------

    def start(self) -> FakeMastodon:
        super().start()
        self._ws = serve(self._stream, "127.0.0.1", 0, process_request=self._check_stream)
        self._ws_thread = threading.Thread(
            target=self._ws.serve_forever, name="fake-mastodon-streaming", daemon=True
        )
        self._ws_thread.start()
        return self

    def stop(self) -> None:
        if self._ws is not None:
            self._ws.shutdown()
        self.drop_streams()
        if self._ws_thread is not None:
            self._ws_thread.join(5)
        super().stop()

    @property
    def streaming_url(self) -> str:
        assert self._ws is not None
        host, port = self._ws.socket.getsockname()[:2]
        return f"ws://{host}:{port}"

    # -- what the test publishes ---------------------------------------------------------------

    def post(
        self,
        text: str,
        *,
        tags: tuple[str, ...] = (),
        acct: str = "alice",
        lang: str | None = "fr",
        reply_to: str | None = None,
        spoiler: str = "",
        counts: tuple[int, int, int] = (0, 0, 0),
        followers: int = 10,
    ) -> dict[str, Any]:
        """Publish a status; ``counts``: favourites, reblogs, replies."""
        with self._lock:
            native = str(self._next_id)
            self._next_id += 1
            local = acct.split("@", maxsplit=1)[0]
            status = {
                "id": native,
                "created_at": self.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "in_reply_to_id": reply_to,
                "in_reply_to_account_id": None,
                "sensitive": bool(spoiler),
                "spoiler_text": spoiler,
                "visibility": "public",
                "language": lang,
                "uri": f"{self.url}/users/{local}/statuses/{native}",
                "url": f"{self.url}/@{local}/{native}",
                "replies_count": counts[2],
                "reblogs_count": counts[1],
                "favourites_count": counts[0],
                "content": f"<p>{text}</p>",
                "reblog": None,
                "account": {
                    "id": str(abs(hash(acct)) % 10**9),
                    "username": local,
                    "acct": acct,
                    "display_name": local.title(),
                    "url": f"{self.url}/@{acct}" if "@" not in acct else f"https://x/@{acct}",
                    "followers_count": followers,
                },
                "media_attachments": [],
                "mentions": [],
                "tags": [{"name": t.lower(), "url": f"{self.url}/tags/{t.lower()}"} for t in tags],
            }
            self.statuses.append(status)
        for t in {t.lower() for t in tags}:
            self._broadcast(t, "update", json.dumps(status))
        return status

    def edit(self, native: str, text: str) -> None:
        """The author edits status ``native``: ``status.update`` on the streams of its tags."""
        with self._lock:
            found = [s for s in self.statuses if s["id"] == native]
            for status in found:
                status["content"] = f"<p>{text}</p>"
        for status in found:
            for tag in status["tags"]:
                self._broadcast(tag["name"], "status.update", json.dumps(status))

    def delete(self, native: str) -> None:
        """The author deletes status ``native``: it leaves every timeline, and looking it up
        answers 404."""
        with self._lock:
            self.statuses = [s for s in self.statuses if s["id"] != native]
        self._broadcast(None, "delete", native)

    def drop_streams(self) -> None:
        """Close every open stream, as a restart of the streaming server does."""
        for connection, _ in list(self.streams):
            connection.close(1001, "streaming server restarting")

    def send_raw(self, tag: str, message: str) -> None:
        """Send ``message`` as it is on the streams of ``tag`` (one not as documented)."""
        for connection, stream_tag in list(self.streams):
            if stream_tag == tag:
                connection.send(message)

    def _broadcast(self, tag: str | None, event: str, payload: str) -> None:
        """Send ``event`` to the streams of ``tag`` (None: every stream)."""
        for connection, stream_tag in list(self.streams):
            if tag is None or stream_tag == tag:
                message = {"stream": ["hashtag", stream_tag], "event": event, "payload": payload}
                # A stream its client closed meanwhile is that client's business.
                with contextlib.suppress(Exception):
                    connection.send(json.dumps(message))

    # -- streaming -----------------------------------------------------------------------------

    def _check_stream(self, connection: ServerConnection, request: WsRequest) -> WsResponse | None:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        self.stream_requests.append((request.path, token))
        if parts.path != "/api/v1/streaming":
            return _ws_error(404, "Not found")
        if token is None:
            return _ws_error(401, "Missing access token")
        if token not in self.tokens:
            echo = f" (received {token})" if self.echo_token else ""
            return _ws_error(401, "Invalid access token" + echo)
        if query.get("stream") != "hashtag" or not query.get("tag"):
            return _ws_error(400, "Unknown stream type")
        return None

    def _stream(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = {k: v[-1] for k, v in parse_qs(urlsplit(connection.request.path).query).items()}
        entry = (connection, query["tag"].lower())
        self.streams.append(entry)
        try:
            connection.wait_closed()
        finally:
            self.streams.remove(entry)

    def queried(self, path_start: str) -> list[dict[str, str]]:
        """The queries of the requests whose path starts with ``path_start``."""
        return [q for p, q, _ in self.requests if p.startswith(path_start)]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        auth = request.headers.get("authorization") or ""
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        with self._lock:
            self.requests.append((path, query, token))
            limits, over = self._count(token, request)
        if over:
            return json_reply(429, {"error": "Too many requests"}, limits)
        if self.fault is not None:
            status, raw = self.fault
            return Reply(status, [("Content-Type", "application/json"), *limits], raw)
        if token is not None and token not in self.tokens:
            message = "The access token is invalid"
            if self.echo_token:
                message += f" (received {token})"
            return json_reply(401, {"error": message}, limits)
        if path.startswith("/api/v1/timelines/tag/"):
            tag = path.removeprefix("/api/v1/timelines/tag/").lower()
            with self._lock:
                found = [s for s in self.statuses if any(t["name"] == tag for t in s["tags"])]
            page = _page(found, query)
            return json_reply(200, page, [*limits, *self._links(parts.path, query, page)])
        if path == "/api/v2/search":
            if token is None:
                return json_reply(
                    401, {"error": "This method requires an authenticated user"}, limits
                )
            if query.get("type") != "statuses" or not query.get("q"):
                return json_reply(400, {"error": "this fake answers type=statuses with q"}, limits)
            words = query["q"].lower()
            with self._lock:
                found = [s for s in self.statuses if words in s["content"].lower()]
            body = {"accounts": [], "statuses": _page(found, query), "hashtags": []}
            return json_reply(200, body, limits)
        if path.startswith("/api/v1/statuses/"):
            native = path.removeprefix("/api/v1/statuses/")
            with self._lock:
                found = [s for s in self.statuses if s["id"] == native]
            if not found:
                return json_reply(404, {"error": "Record not found"}, limits)
            return json_reply(200, found[0], limits)
        if path == "/api/v1/accounts/verify_credentials":
            if token is None:
                return json_reply(
                    401, {"error": "This method requires an authenticated user"}, limits
                )
            return json_reply(200, {"id": "1", "username": "veille", "acct": "veille"}, limits)
        if path == "/api/v2/instance":
            instance = {
                "domain": "127.0.0.1",
                "version": "4.3.0",
                "configuration": {"urls": {"streaming": self.streaming_url}},
            }
            return json_reply(200, instance, limits)
        return json_reply(404, {"error": "Record not found"}, limits)

    def _count(self, token: str | None, request: Request) -> tuple[list[tuple[str, str]], bool]:
        seconds = self.window.total_seconds()
        now = self.now().timestamp()
        start = now - now % seconds
        key = (token or "anonymous", start)
        self._spent[key] += 1
        spent = self._spent[key]
        reset = datetime.fromtimestamp(start + seconds, UTC)
        headers = [
            ("X-RateLimit-Limit", str(self.rate_limit)),
            ("X-RateLimit-Remaining", str(max(0, self.rate_limit - spent))),
            ("X-RateLimit-Reset", reset.isoformat(timespec="microseconds").replace("+00:00", "Z")),
        ]
        return headers, spent > self.rate_limit

    def _links(
        self, path: str, query: dict[str, str], page: list[dict[str, Any]]
    ) -> list[tuple[str, str]]:
        if not page:
            return []
        keep = {"limit": query["limit"]} if "limit" in query else {}
        base = f"{self.url}{quote(path)}"
        older = urlencode({**keep, "max_id": page[-1]["id"]})
        newer = urlencode({**keep, "min_id": page[0]["id"]})
        return [("Link", f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"')]


def _page(found: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """The statuses that the pagination parameters select, newest first."""
    try:
        limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    ordered = sorted(found, key=lambda s: _key(s["id"]))
    if "max_id" in query:
        ordered = [s for s in ordered if _key(s["id"]) < _key(query["max_id"])]
    if "since_id" in query:
        ordered = [s for s in ordered if _key(s["id"]) > _key(query["since_id"])]
    if "min_id" in query:  # the page immediately newer than min_id
        ordered = [s for s in ordered if _key(s["id"]) > _key(query["min_id"])][:limit]
        return list(reversed(ordered))
    return list(reversed(ordered[-limit:])) if limit else []


def _ws_error(status: int, message: str) -> WsResponse:
    body = json.dumps({"error": message}).encode()
    headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return WsResponse(status, "Error", headers, body)
