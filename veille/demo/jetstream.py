"""A local Jetstream for the tests and the demo, written from its documentation and enforcing it.

What it serves (https://github.com/bluesky-social/jetstream, "Consuming Jetstream"):

- ``GET /subscribe`` upgraded to a WebSocket; every other path is ``404``;
- ``wantedCollections`` (repeatable): only commits of those collections are sent; ``identity``
  and ``account`` events go to every subscriber whatever was asked;
- ``cursor`` (microseconds since the epoch): the stream replays every event from that time on
  (``time_us`` >= cursor), then goes on live; without one, it starts live, with the events
  published after the connection; a cursor that is not a number is refused (``400``);
- each event is one JSON text message: ``{"did", "time_us", "kind": "commit", "commit":
  {"rev", "operation": "create"|"delete", "collection", "rkey", "record", "cid"}}``,
  ``{"did", "time_us", "kind": "identity", "identity": {"did", "handle", "seq", "time"}}``,
  ``{"did", "time_us", "kind": "account", "account": {"active", "did", "seq", "time",
  "status"}}``; ``time_us`` is the relay's clock when it received the event, and grows
  strictly.

Faults for the tests: `close_streams` closes every open stream (as a relay restart does),
`publish_raw` sends a message that is not JSON, and `refuse` answers the next connections
with an HTTP status instead of the upgrade.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

POSTS = "app.bsky.feed.post"


class FakeJetstream:
    def __init__(self) -> None:
        self.events: list[tuple[int, str | None, str]] = []
        """Each event: its ``time_us``, its collection (None: not a commit), the message."""
        self.connections: list[tuple[ServerConnection, dict[str, list[str]]]] = []
        """Each connection made: the connection, its query."""
        self.refusing: int | None = None
        self._time_us = 0
        self._seq = 0
        self._changed = threading.Condition()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- running -------------------------------------------------------------------------------

    def start(self) -> FakeJetstream:
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._check)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-jetstream", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        self.close_streams()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/subscribe"

    # -- what the test publishes ---------------------------------------------------------------

    def _append(self, collection: str | None, event: dict[str, Any]) -> int:
        with self._changed:
            # The relay's wall clock, in microseconds, strictly growing.
            self._time_us = max(self._time_us + 1, time.time_ns() // 1000)
            self._seq += 1
            event = {"time_us": self._time_us, **event}
            self.events.append((self._time_us, collection, json.dumps(event)))
            self._changed.notify_all()
            return self._time_us

    def post(
        self,
        text: str,
        *,
        did: str = "did:plc:alice",
        rkey: str | None = None,
        langs: list[str] | None = None,
        created: str | None = "2026-11-30T08:59:00.000Z",
        reply: tuple[str, str] | None = None,
        collection: str = POSTS,
    ) -> str:
        """A post created; its ``at://`` URI."""
        rkey = rkey or f"3l{self._seq:011d}"
        record: dict[str, Any] = {"$type": collection, "text": text}
        if langs is not None:
            record["langs"] = langs
        if created is not None:
            record["createdAt"] = created
        if reply is not None:
            parent, root = reply
            record["reply"] = {"parent": {"uri": parent, "cid": "b"}, "root": {"uri": root}}
        commit: dict[str, Any] = {"rev": "r", "operation": "create", "collection": collection}
        commit |= {"rkey": rkey, "record": record, "cid": "bafy" + rkey}
        self._append(collection, {"did": did, "kind": "commit", "commit": commit})
        return f"at://{did}/{collection}/{rkey}"

    def delete(self, uri: str) -> None:
        did, collection, rkey = uri.removeprefix("at://").split("/")
        commit = {"rev": "r", "operation": "delete", "collection": collection, "rkey": rkey}
        self._append(collection, {"did": did, "kind": "commit", "commit": commit})

    def identity(self, did: str, handle: str) -> None:
        body = {"did": did, "handle": handle, "seq": self._seq, "time": "2026-11-30T09:00:00Z"}
        self._append(None, {"did": did, "kind": "identity", "identity": body})

    def account(self, did: str, *, active: bool, status: str | None = None) -> None:
        body: dict[str, Any] = {"active": active, "did": did, "seq": self._seq, "time": "t"}
        if status:
            body["status"] = status
        self._append(None, {"did": did, "kind": "account", "account": body})

    def publish_raw(self, message: str) -> None:
        """A message that is not what the documentation describes (not JSON)."""
        with self._changed:
            self.events.append((self._time_us, None, message))
            self._changed.notify_all()

    @property
    def last_time_us(self) -> int:
        return self._time_us

    # -- faults --------------------------------------------------------------------------------

    def close_streams(self) -> None:
        for connection, _ in list(self.connections):
            connection.close(1011, "relay restarting")

    def refuse(self, status: int | None) -> None:
        """Answer the connections to come with ``status`` (None: accept them again)."""
        self.refusing = status

    # -- serving -------------------------------------------------------------------------------

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        if parts.path != "/subscribe":
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        if self.refusing is not None:
            return connection.respond(HTTPStatus(self.refusing), "refused\n")
        cursor = parse_qs(parts.query).get("cursor")
        if cursor and not cursor[0].isdigit():
            return Response(400, "Bad Request", Headers(), b"invalid cursor\n")
        return None

    def _handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None
        query = parse_qs(urlsplit(connection.request.path).query)
        self.connections.append((connection, query))
        wanted = set(query.get("wantedCollections", []))
        with self._changed:
            if "cursor" in query:
                cursor = int(query["cursor"][0])
                at = next(
                    (i for i, e in enumerate(self.events) if e[0] >= cursor), len(self.events)
                )
            else:
                at = len(self.events)
        while True:
            with self._changed:
                if len(self.events) <= at:
                    self._changed.wait(timeout=0.05)
                pending = self.events[at:]
            at += len(pending)
            try:
                for _, collection, message in pending:
                    if collection is None or not wanted or collection in wanted:
                        connection.send(message)
                connection.ping()
            except Exception:  # the stream was closed, by the client or by close_streams
                return
