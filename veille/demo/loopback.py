"""The one way the demo and the tests serve HTTP: a `LoopbackServer` listens on a free port of
127.0.0.1 and answers from a daemon thread, between `start` and `stop` or in a ``with`` block.

A subclass says which methods it answers and turns each `Request` into a `Reply` in `handle`;
the base reads bodies, writes replies, keeps connections alive (HTTP/1.1), logs nothing, and
takes a client that hangs up in the middle of a reply (a crawler refusing a page too large) as
the client's business, not an error. A server whose `tunnel` names a local address for a host
also answers ``CONNECT``, as a forward proxy does for a WebSocket client, and copies bytes both
ways until either side closes. The sample web (`veille.demo.web`), the webhook receiver
(`veille.demo.receiver`), the local Mastodon (`veille.demo.mastodon`) and the tests' fake
services are built on it.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    """As the client sent it: a path and query, or an absolute URL when the client takes the
    server for a proxy."""
    headers: Message
    """Read case-insensitively: ``request.headers.get("content-type")``."""
    body: bytes


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Iterable[tuple[str, str]] = ()
    """Sent in this order; the base adds ``Content-Length``."""
    body: bytes = field(default=b"", repr=False)


def json_reply(status: int, body: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """``body`` as a JSON answer, with ``headers`` after its ``Content-Type``."""
    return Reply(
        status,
        [("Content-Type", "application/json; charset=utf-8"), *headers],
        json.dumps(body).encode(),
    )


class LoopbackServer:
    """Serves `handle`'s replies on ``url`` from a background thread until `stop`."""

    methods: ClassVar[tuple[str, ...]] = ("GET",)
    """What `handle` answers; any other method gets 501, as from `BaseHTTPRequestHandler`."""
    thread_name: ClassVar[str] = "loopback-server"

    def __init__(self) -> None:
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=self.thread_name, daemon=True
        )

    def handle(self, request: Request) -> Reply:
        """The reply to one request; called from the server's threads, one per connection."""
        raise NotImplementedError

    def tunnel(self, authority: str) -> tuple[str, int] | None:
        """The local address a ``CONNECT authority`` (``host:port``) is tunnelled to; None
        refuses it (502, as a proxy answers for a host it cannot reach)."""
        return None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm and the client's
    # delayed ACK hold every response back about 40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        return

    def _serve(self) -> None:
        app = self.server.app
        if self.command not in app.methods:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = app.handle(Request(self.command, self.path, self.headers, body))
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        try:
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            return

    def do_CONNECT(self) -> None:
        target = self.server.app.tunnel(self.path)
        if target is None:
            self.send_error(502, f"No tunnel to {self.path}")
            return
        try:
            upstream = socket.create_connection(target, timeout=5)
        except OSError as exc:
            self.send_error(502, f"Cannot reach {self.path}: {exc}")
            return
        self.close_connection = True
        with upstream:
            upstream.settimeout(None)
            self.send_response(200, "Connection established")
            self.end_headers()
            _pipe(self.connection, upstream)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve


def _pipe(one: socket.socket, other: socket.socket) -> None:
    """Copy what either socket receives to the other, until either closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, (one, other))
        selector.register(other, selectors.EVENT_READ, (other, one))
        while True:
            for key, _ in selector.select():
                source, target = key.data
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    target.sendall(data)
                except OSError:
                    return


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, app: LoopbackServer) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.app = app

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)
