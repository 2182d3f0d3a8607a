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
from typing import Any

from alerts.channels.webhook import sign
from veille.demo.loopback import LoopbackServer, Reply, Request


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


class Receiver(LoopbackServer):
    """The endpoint, served from a background thread until `stop`."""

    methods = ("POST",)
    thread_name = "receiver"

    def __init__(self, check: Check = accept_all) -> None:
        super().__init__()
        self.check = check
        self.down = False
        self._lock = threading.Lock()
        self._attempts: list[Received] = []
        self._received: list[Received] = []

    @property
    def received(self) -> list[Received]:
        """The requests it accepted, in order."""
        with self._lock:
            return list(self._received)

    @property
    def attempts(self) -> list[Received]:
        """Every request, accepted or not."""
        with self._lock:
            return list(self._attempts)

    def handle(self, request: Request) -> Reply:
        received = Received(
            request.path, {k.lower(): v for k, v in request.headers.items()}, request.body
        )
        with self._lock:
            self._attempts.append(received)
        if self.down:
            status, text = 503, "service unavailable"
        else:
            status, text = self.check(received)
        if 200 <= status < 300:
            with self._lock:
                self._received.append(received)
        return Reply(status, [("Content-Type", "text/plain; charset=utf-8")], text.encode())
