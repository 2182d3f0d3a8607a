"""Hostile receivers for the secrets and delivery tests: servers that echo what they were sent.

- `Echo`: an HTTP server (any method, and as a forward proxy: absolute URLs) that answers every
  request with an error page repeating its path and query (as sent, decoded, HTML-escaped and
  JSON-escaped), its headers (``Authorization`` included) and its body, the way careless 404
  pages and debugging proxies do; optionally after a delay (a slow receiver), or with a success
  status. It keeps every request, with the time it came.
- `SmtpEcho`: an SMTP server that refuses every login with a reply repeating the credentials it
  was given, or, with ``accept=True``, takes the login and then sits on the message for
  ``delay`` seconds before answering (a slow relay).
- `queue_trigger`: an alert in the history with a trigger queued for every channel.
"""

from __future__ import annotations

import asyncio
import html
import json
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from veille.demo.loopback import LoopbackServer, Reply, Request


@dataclass(frozen=True)
class Seen:
    """One request an `Echo` received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    """`time.monotonic` when it arrived."""


def echo_page(request: Request) -> str:
    """What a careless server answers: everything it was sent, in every form it might show it."""
    path = request.path
    headers = "\n".join(f"{k}: {v}" for k, v in request.headers.items())
    body = request.body.decode("utf-8", "replace")
    as_json = json.dumps({"path": path, "headers": dict(request.headers.items()), "body": body})
    return (
        f"<html><body><h1>Not Found</h1><p>The requested URL {path} was not found on this"
        f" server.</p><p>{unquote(path)}</p><p>{html.escape(unquote(path))}</p>"
        f"<pre>{headers}</pre><pre>{html.escape(headers)}</pre><pre>{body}</pre>"
        f"<script>{as_json}</script></body></html>"
    )


class Echo(LoopbackServer):
    """Answers ``status`` with `echo_page` after ``delay`` seconds."""

    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    thread_name = "echo"

    def __init__(self, status: int = 404, delay: float = 0.0) -> None:
        super().__init__()
        self.status = status
        self.delay = delay
        self._lock = threading.Lock()
        self._seen: list[Seen] = []

    @property
    def seen(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def handle(self, request: Request) -> Reply:
        seen = Seen(
            request.method,
            request.path,
            {k.lower(): v for k, v in request.headers.items()},
            request.body,
            time.monotonic(),
        )
        with self._lock:
            self._seen.append(seen)
        if self.delay:
            time.sleep(self.delay)
        page = echo_page(request).encode()
        return Reply(self.status, [("Content-Type", "text/html; charset=utf-8")], page)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpEcho:
    """An SMTP server on loopback (no TLS: a local relay) that offers a login."""

    def __init__(self, *, accept: bool = False, delay: float = 0.0) -> None:
        from aiosmtpd.controller import Controller

        self.accept = accept
        self.delay = delay
        self.port = free_port()
        self.messages: list[bytes] = []
        self.busy = False
        """While set, every message is refused with a passing error (451)."""
        self.controller = Controller(
            self,
            hostname="127.0.0.1",
            port=self.port,
            auth_require_tls=False,  # AUTH offered in clear: a local relay
            authenticator=self._authenticate,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if self.accept:
            return AuthResult(success=True)
        said = (
            f"{data.login.decode()}:{data.password.decode()}"
            if isinstance(data, LoginPassword)
            else repr(data)
        )
        return AuthResult(success=False, handled=False, message=f"535 5.7.8 refused {said}")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.busy:
            return "451 4.3.0 Mail server busy, try again later"
        self.messages.append(envelope.content)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted"

    def __enter__(self) -> SmtpEcho:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()
        asyncio.set_event_loop(None)


def queue_trigger(config: Path, rule: str = "everywhere") -> str:
    """Record an alert of ``rule`` in the history of the settings at ``config``, with a trigger
    queued for every channel of the settings, as the engine would; returns its id."""
    from tests.support.alerting import sample_record
    from veille.app import App
    from veille.settings import load_settings

    settings = load_settings(config)
    with App(settings) as app:
        history = app.alerts_engine.history
        sample = sample_record(brand="Acme", rule=rule)
        with app.alerts_db.transaction() as conn:
            record = history.open(conn, sample.dedup, sample.why, sample.opened, paged=True)
            assert record is not None
            channels = list(settings.alerts.channels)
            history.enqueue(conn, record, channels, "trigger", datetime.now(UTC))
        return record.id
