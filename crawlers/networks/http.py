"""JSON over HTTP for the connectors: one request, its answer classified into the errors of
`crawlers.networks.base`, and the rate-limit headers read; and the WebSocket streams.

- 2xx with a JSON body: the data, the response's ``Link`` relations and its `RateLimit`;
- 429: `RateLimited`, until ``X-RateLimit-Reset`` (an ISO 8601 time, as Mastodon sends it, or
  epoch seconds; X spells it ``x-rate-limit-reset``, Bluesky's services ``RateLimit-Reset``),
  else ``Retry-After``;
- 401, 403: `AuthFailed`, with the platform's message: ``{"error": "..."}`` (Mastodon),
  ``{"error": ..., "message": ...}`` (the AT Protocol), ``{"message": "..."}`` (Reddit),
  ``{"error": {"message": ..., "errors": [{"reason": ..., "domain": ...}]}}`` (Google),
  ``{"title": ..., "detail": ...}`` (RFC 7807, X); the machine-readable parts (the AT
  Protocol's ``error``, Google's reasons and domains, the RFC 7807 title) ride along on the
  error as its ``reasons``, for a connector that must tell an expired session or a spent quota
  from a refused key;
- anything else (5xx, 404, a timeout, a closed connection, a body that is not JSON or too
  large): `PlatformError`.

Tokens travel in the ``Authorization`` header, and every message that quotes a server's answer
has the secrets taken out first (the token, every other secret the client was told of: a client
secret and the Basic credentials made of it, a password, session tokens, a token since
replaced), in any form the server may echo them (`ingest.secrets.Masker`): a server that echoes
what it received cannot put a secret into a log or ``veille status``. A platform that wants its
key in the URL (YouTube's ``key=``) gives it as the token all the same, so that it is masked,
and puts it in the query itself. Besides JSON requests, the client POSTs forms (an OAuth token
request) and GETs raw bytes (a feed), classified the same way; a platform whose rate-limit
headers differ passes its own reader of them. A `RateGate` keeps the limit each host stated
last, and stops a poll before a request the host would refuse.

`open_websocket` opens a stream (Jetstream, Mastodon's streaming API) with the same errors.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
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
from ingest.secrets import Masker

_ERROR_CHARS = 200

Params = Mapping[str, str | int | list[str]]


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
    """``X-RateLimit-*`` (Mastodon, most APIs), ``x-rate-limit-*`` (X), else the IETF draft's
    ``RateLimit-*`` (Bluesky)."""

    def header(name: str) -> str | None:
        for prefix in ("x-ratelimit-", "x-rate-limit-", "ratelimit-"):
            if (value := headers.get(prefix + name)) is not None:
                return value
        return None

    limit = _number(header("limit"))
    remaining = _number(header("remaining"))
    reset = reset_time(header("reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit=limit, remaining=remaining, reset=reset)


class RateGate:
    """The rate limit each host (or endpoint, or other key) stated last, to stop before a
    request it would refuse: a remaining count of 0 raises `RateLimited` until its reset.
    ``header`` names the count as the platform spells it, for the message."""

    def __init__(self, header: str = "X-RateLimit-Remaining") -> None:
        self._limits: dict[str, RateLimit] = {}
        self._header = header
        self.last: RateLimit | None = None
        """The limit stated by the latest answer that stated one."""

    def check(self, key: str, now: float) -> None:
        limit = self._limits.get(key)
        if limit is not None and limit.remaining == 0 and (limit.reset or 0) > now:
            raise RateLimited(f"rate limit spent ({self._header}: 0)", reset=limit.reset)

    def note(self, key: str, limit: RateLimit | None) -> None:
        if limit is not None:
            self._limits[key] = self.last = limit

    def of(self, key: str) -> RateLimit | None:
        """The limit ``key`` stated last."""
        return self._limits.get(key)


RateLimitReader = Callable[[Mapping[str, str]], RateLimit | None]
"""Reads a platform's rate-limit headers (`rate_limit_of` unless the platform differs)."""


@dataclass(frozen=True)
class RawReply:
    body: bytes
    content_type: str | None
    rate_limit: RateLimit | None


class JsonClient:
    """Requests JSON from one platform, with its bearer token if it has one."""

    def __init__(
        self,
        http: HttpSettings,
        token: str | None = None,
        *,
        user_agent: str | None = None,
        secrets: Iterable[str] = (),
        rate_limits: RateLimitReader = rate_limit_of,
    ) -> None:
        self._token = token
        self._mask = Masker([s for s in (token, *secrets) if s])
        self._rate_limits = rate_limits
        self._max_bytes = http.max_bytes
        self._client = httpx.Client(
            headers={"User-Agent": user_agent or http.user_agent, "Accept": "application/json"},
            timeout=httpx.Timeout(
                http.read_timeout.total_seconds(), connect=http.connect_timeout.total_seconds()
            ),
            proxy=http.proxy,
            follow_redirects=True,
        )

    def close(self) -> None:
        self._client.close()

    def hide(self, *secrets: str) -> None:
        """Take ``secrets`` out of every message from now on (a password, a session token)."""
        if new := [s for s in secrets if s and s not in self._mask.secrets]:
            self._mask |= new

    def set_token(self, token: str | None) -> None:
        """Use ``token`` from now on (a refreshed one); the old one stays masked."""
        if token:
            self.hide(token)
        self._token = token

    def _clean(self, text: str) -> str:
        """``text`` with the secrets taken out, and short."""
        return self._mask(text)[:_ERROR_CHARS]

    def get(
        self,
        url: str,
        params: Params | None = None,
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
        params: Params | None = None,
        *,
        auth: bool = False,
        bearer: str | None = None,
        body: Any = None,
    ) -> JsonReply:
        """``method`` ``url``, with ``body`` as JSON when given."""
        headers = {}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        response, data = self._send(
            method, url, params, auth=auth, bearer=bearer, headers=headers, content=content
        )
        return self._json(response, data)

    def get_bytes(self, url: str, params: Params | None = None, *, auth: bool = False) -> RawReply:
        """GET ``url`` as bytes (a feed), errors classified as for JSON."""
        response, body = self._send("GET", url, params, auth=auth)
        return RawReply(
            body, response.headers.get("content-type"), self._rate_limits(response.headers)
        )

    def post_form(self, url: str, form: Mapping[str, str], *, basic: tuple[str, str]) -> JsonReply:
        """POST ``form`` with HTTP Basic credentials ``basic`` (an OAuth token request)."""
        pair = f"{basic[0]}:{basic[1]}".encode()
        encoded = base64.b64encode(pair).decode()
        self.hide(basic[1], encoded)
        headers = {"Authorization": f"Basic {encoded}"}
        response, body = self._send("POST", url, None, headers=headers, form=form)
        return self._json(response, body)

    def _send(
        self,
        method: str,
        url: str,
        params: Params | None,
        *,
        auth: bool = False,
        bearer: str | None = None,
        headers: dict[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> tuple[httpx.Response, bytes]:
        headers = dict(headers or {})
        if bearer is not None:
            self.hide(bearer)
            headers["Authorization"] = f"Bearer {bearer}"
        elif auth:
            if not self._token:
                raise AuthFailed("this request needs an access token, and none is configured")
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._client.stream(
                method, url, params=params, headers=headers, data=form, content=content
            ) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise PlatformError(f"answer over {self._max_bytes} bytes")
        except httpx.HTTPError as exc:
            raise PlatformError(self._clean(f"{type(exc).__name__}: {exc}")) from None
        self._raise_for(response, bytes(body))
        return response, bytes(body)

    def _json(self, response: httpx.Response, body: bytes) -> JsonReply:
        try:
            data = json.loads(body)
        except ValueError:
            raise PlatformError(
                f"the answer is not JSON: {self._clean(body.decode('utf-8', 'replace'))!r}",
                http_status=response.status_code,
            ) from None
        links = {rel: link["url"] for rel, link in response.links.items() if isinstance(rel, str)}
        return JsonReply(data, links, self._rate_limits(response.headers))

    def _raise_for(self, response: httpx.Response, body: bytes) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        message, reasons = self._problem(body)
        if status == 429:
            rate_limit = self._rate_limits(response.headers)
            reset = rate_limit.reset if rate_limit else None
            if reset is None:
                after = retry_after_seconds(response.headers.get("retry-after"))
                reset = time.time() + after if after is not None else None
            raise RateLimited(
                f"429 rate limited: {message}", reset=reset, http_status=status, reasons=reasons
            )
        if status in (401, 403):
            raise AuthFailed(f"{status}: {message}", http_status=status, reasons=reasons)
        raise PlatformError(f"HTTP {status}: {message}", http_status=status, reasons=reasons)

    def _problem(self, body: bytes) -> tuple[str, tuple[str, ...]]:
        """The platform's error message, else the start of the body; and its reasons."""
        text = body.decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        reasons: list[str] = []
        if isinstance(data, dict):
            error = data.get("error")
            message = data.get("message")
            if isinstance(error, str):  # Mastodon; the AT Protocol, with a message
                reasons.append(error)
                text = f"{error}: {message}" if isinstance(message, str) and message else error
            elif isinstance(error, dict):  # Google: {"error": {"message", "errors", "details"}}
                text = str(error.get("message") or text)
                for item in [*(error.get("errors") or []), *(error.get("details") or [])]:
                    for field in ("reason", "domain"):
                        if isinstance(item, dict) and isinstance(item.get(field), str):
                            reasons.append(item[field])
            elif isinstance(data.get("title"), str):  # RFC 7807 problem details (X)
                reasons.append(data["title"])
                detail = data.get("detail")
                text = f"{data['title']}: {detail}" if isinstance(detail, str) else data["title"]
                errors = data.get("errors")  # X says which parameter was wrong there
                first = errors[0] if isinstance(errors, list) and errors else None
                if isinstance(first, dict) and isinstance(first.get("message"), str):
                    text += f" ({first['message']})"
            elif isinstance(message, str):  # Reddit
                text = message
        return self._clean(text.strip()) or "(no message)", tuple(self._clean(r) for r in reasons)


class _Hide(logging.Filter):
    """Takes ``secrets`` out of each record of the logger it filters."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            hidden = Masker(self.secrets)(text)
            if hidden != text:
                record.msg, record.args = hidden, None
        return True


_HIDDEN = _Hide()
"""The tokens streams were opened with: websockets logs a request's headers at DEBUG, and the
``Authorization`` header must not go out with them. (A filter costs nothing while DEBUG is
off; the records are not even made.)"""
logging.getLogger("websockets.client").addFilter(_HIDDEN)


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
    mask = Masker([token] if token else [])
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
        said = mask((exc.response.body or b"").decode("utf-8", "replace").strip())
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
        said = mask(f"{type(exc).__name__}: {exc}")[:_ERROR_CHARS]
        raise PlatformError(f"could not open the stream: {said}") from None
