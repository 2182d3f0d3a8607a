"""A local HTTP endpoint that receives notifications: where the demo's alert lands, and what the
channel tests post to.

It checks each request with a `Check` (by default, the generic webhook's contract: JSON, a fresh
timestamp and a valid HMAC signature), answers what the check says, and keeps what it accepted.
``down = True`` makes it answer 503, as a service that is down would.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alerts.channels.webhook import sign


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Check = Callable[[Received], tuple[int, str]]
"""Judge a request: the status and body to answer (2xx accepts it)."""


def accept_all(_request: Received) -> tuple[int, str]:
    return 200, "ok"


def webhook_check(secret: str, max_age: float = 300.0) -> Check:
    """The generic webhook's contract: a JSON POST signed with ``secret``, at most ``max_age``
    seconds old (a replayed request is refused)."""

    def check(request: Received) -> tuple[int, str]:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return 415, "expected application/json"
        stamp = request.headers.get("x-veille-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > max_age:
            return 401, "missing or stale X-Veille-Timestamp"
        expected = sign(secret, stamp, request.body)
        if not hmac.compare_digest(expected, request.headers.get("x-veille-signature", "")):
            return 401, "bad signature"
        try:
            request.json["event"]
        except (ValueError, KeyError, TypeError):
            return 400, "not a Veille notification"
        return 200, "ok"

    return check


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        with self.server.lock:
            self.server.attempts.append(request)
        if self.server.down:
            status, text = 503, "service unavailable"
        else:
            status, text = self.server.check(request)
        if 200 <= status < 300:
            with self.server.lock:
                self.server.received.append(request)
        payload = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, check: Check) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.check = check
        self.down = False
        self.lock = threading.Lock()
        self.attempts: list[Received] = []
        self.received: list[Received] = []


class Receiver:
    """The endpoint, served from a background thread until `stop`."""

    def __init__(self, check: Check = accept_all) -> None:
        self._server = _Server(check)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="receiver", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        """The requests it accepted, in order."""
        with self._server.lock:
            return list(self._server.received)

    @property
    def attempts(self) -> list[Received]:
        """Every request, accepted or not."""
        with self._server.lock:
            return list(self._server.attempts)

    @property
    def down(self) -> bool:
        return self._server.down

    @down.setter
    def down(self, value: bool) -> None:
        self._server.down = value

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
