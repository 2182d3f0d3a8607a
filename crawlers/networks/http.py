"""JSON over HTTP for the connectors: one GET, its answer classified into the errors of
`crawlers.networks.base`, and the rate-limit headers read.

- 2xx with a JSON body: the data, the response's ``Link`` relations and its `RateLimit`;
- 429: `RateLimited`, until ``X-RateLimit-Reset`` (an ISO 8601 time, as Mastodon sends it, or
  epoch seconds; ``RateLimit-Reset`` as Bluesky's services send it), else ``Retry-After``;
- 401, 403: `AuthFailed`, with the platform's ``{"error": ..., "message": ...}`` (the
  ``error`` is the exception's ``code``);
- anything else (5xx, 404, a timeout, a closed connection, a body that is not JSON or too
  large): `PlatformError`.

Tokens travel in the ``Authorization`` header only, never in a URL, and every message that
quotes a server's answer has the token (and every other secret the client was told of:
passwords, session tokens) taken out first: a server that echoes what it received cannot put
a secret into a log or ``veille status``.

`open_websocket` opens a stream (Jetstream, Mastodon's streaming API) with the same errors.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from crawlers.fetch import retry_after_seconds
from crawlers.networks.base import (
    AuthFailed,
    ConnectorError,
    PlatformError,
    RateLimit,
    RateLimited,
)
from crawlers.settings import HttpSettings

_ERROR_CHARS = 200


@dataclass(frozen=True)
class JsonReply:
    data: Any
    links: dict[str, str]
    """``rel`` to URL, from the ``Link`` header (RFC 8288)."""
    rate_limit: RateLimit | None


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def reset_time(value: str | None) -> float | None:
    """``X-RateLimit-Reset`` as a POSIX time: an ISO 8601 time (Mastodon), or epoch seconds."""
    if not value:
        return None
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return number if math.isfinite(number) and number > 0 else None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def rate_limit_of(headers: Mapping[str, str]) -> RateLimit | None:
    """``X-RateLimit-*`` (Mastodon), else the IETF draft's ``RateLimit-*`` (Bluesky)."""
    prefix = "x-ratelimit-" if "x-ratelimit-remaining" in headers else "ratelimit-"
    limit = _number(headers.get(prefix + "limit"))
    remaining = _number(headers.get(prefix + "remaining"))
    reset = reset_time(headers.get(prefix + "reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit=limit, remaining=remaining, reset=reset)


class JsonClient:
    """GETs JSON from one platform, with its bearer token if it has one."""

    def __init__(self, http: HttpSettings, token: str | None = None) -> None:
        self._token = token
        self._secrets: list[str] = [token] if token else []
        self._max_bytes = http.max_bytes
        self._client = httpx.Client(
            headers={"User-Agent": http.user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(
                http.read_timeout.total_seconds(), connect=http.connect_timeout.total_seconds()
            ),
            proxy=http.proxy,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def hide(self, secret: str) -> None:
        """Take ``secret`` out of every message from now on (a password, a session token)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def _clean(self, text: str) -> str:
        """``text`` with the secrets taken out, and short."""
        return clean(text, self._secrets)[:_ERROR_CHARS]

    def get(
        self,
        url: str,
        params: Mapping[str, str | int | list[str]] | None = None,
        *,
        auth: bool = False,
        bearer: str | None = None,
    ) -> JsonReply:
        """GET ``url``; with ``auth``, send the bearer token (`AuthFailed` if there is none);
        ``bearer``: send that one instead."""
        return self.send("GET", url, params, auth=auth, bearer=bearer)

    def send(
        self,
        method: str,
        url: str,
        params: Mapping[str, str | int | list[str]] | None = None,
        *,
        auth: bool = False,
        bearer: str | None = None,
        body: Any = None,
    ) -> JsonReply:
        """``method`` ``url``, with ``body`` as JSON when given."""
        headers = {}
        if bearer is not None:
            self.hide(bearer)
            headers["Authorization"] = f"Bearer {bearer}"
        elif auth:
            if not self._token:
                raise AuthFailed("this request needs an access token, and none is configured")
            headers["Authorization"] = f"Bearer {self._token}"
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            with self._client.stream(
                method, url, params=params, headers=headers, content=content
            ) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise PlatformError(f"answer over {self._max_bytes} bytes")
        except httpx.HTTPError as exc:
            raise PlatformError(self._clean(f"{type(exc).__name__}: {exc}")) from None
        return self._reply(response, bytes(body))

    def _reply(self, response: httpx.Response, body: bytes) -> JsonReply:
        status = response.status_code
        rate_limit = rate_limit_of(response.headers)
        if not 200 <= status < 300:
            message, code = self._message(body)
        if status == 429:
            reset = rate_limit.reset if rate_limit else None
            if reset is None:
                after = retry_after_seconds(response.headers.get("retry-after"))
                reset = time.time() + after if after is not None else None
            raise RateLimited(
                f"429 rate limited: {message}", reset=reset, http_status=status, code=code
            )
        if status in (401, 403):
            raise AuthFailed(f"{status}: {message}", http_status=status, code=code)
        if not 200 <= status < 300:
            raise PlatformError(f"HTTP {status}: {message}", http_status=status, code=code)
        try:
            data = json.loads(body)
        except ValueError:
            raise PlatformError(
                f"the answer is not JSON: {self._clean(body.decode('utf-8', 'replace'))!r}",
                http_status=status,
            ) from None
        links = {rel: link["url"] for rel, link in response.links.items() if isinstance(rel, str)}
        return JsonReply(data, links, rate_limit)

    def _message(self, body: bytes) -> tuple[str, str | None]:
        """The platform's ``{"error": "...", "message": "..."}``, else the start of the body;
        and the ``error`` when there is one."""
        text = body.decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        code = None
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            code = text = data["error"]
            if isinstance(data.get("message"), str) and data["message"]:
                text = f"{code}: {data['message']}"
        return self._clean(text.strip()) or "(no message)", self._clean(code) if code else None


class _Hide(logging.Filter):
    """Takes ``secrets`` out of each record of the logger it filters."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            hidden = clean(text, sorted(self.secrets))
            if hidden != text:
                record.msg, record.args = hidden, None
        return True


_HIDDEN = _Hide()
"""The tokens streams were opened with: websockets logs a request's headers at DEBUG, and the
``Authorization`` header must not go out with them. (A filter costs nothing while DEBUG is
off; the records are not even made.)"""
logging.getLogger("websockets.client").addFilter(_HIDDEN)


def clean(text: str, secrets: list[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def open_websocket(
    url: str,
    http: HttpSettings,
    *,
    token: str | None = None,
    max_size: int = 1 << 20,
) -> ClientConnection:
    """A WebSocket to ``url``, with ``token`` as a bearer token when given; what refuses it
    (an HTTP answer instead of the upgrade, a connection that fails) as a `ConnectorError`
    that quotes no secret."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    secrets = [token] if token else []
    if token:
        _HIDDEN.secrets.add(token)
    try:
        return connect(
            url,
            additional_headers=headers,
            open_timeout=http.connect_timeout.total_seconds(),
            close_timeout=2,
            max_size=max_size,
            user_agent_header=http.user_agent,
            proxy=http.proxy,
        )
    except InvalidStatus as exc:
        status = exc.response.status_code
        said = clean((exc.response.body or b"").decode("utf-8", "replace").strip(), secrets)
        message = f"the stream refused the connection: HTTP {status}"
        if said:
            message += f": {said[:_ERROR_CHARS]}"
        error: ConnectorError
        if status == 429:
            after = retry_after_seconds(exc.response.headers.get("Retry-After"))
            reset = time.time() + after if after is not None else None
            error = RateLimited(message, reset=reset, http_status=status)
        elif status in (401, 403):
            error = AuthFailed(message, http_status=status)
        else:
            error = PlatformError(message, http_status=status)
        raise error from None
    except (OSError, TimeoutError, WebSocketException) as exc:
        said = clean(f"{type(exc).__name__}: {exc}", secrets)[:_ERROR_CHARS]
        raise PlatformError(f"could not open the stream: {said}") from None
