"""JSON over HTTP for the connectors: one GET, its answer classified into the errors of
`crawlers.networks.base`, and the rate-limit headers read.

- 2xx with a JSON body: the data, the response's ``Link`` relations and its `RateLimit`;
- 429: `RateLimited`, until ``X-RateLimit-Reset`` (an ISO 8601 time, as Mastodon sends it, or
  epoch seconds), else ``Retry-After``;
- 401, 403: `AuthFailed`, with the platform's ``{"error": ...}`` message;
- anything else (5xx, 404, a timeout, a closed connection, a body that is not JSON or too
  large): `PlatformError`.

Tokens travel in the ``Authorization`` header only, never in a URL, and every message that
quotes a server's answer has the token taken out first: a server that echoes what it received
cannot put the token into a log or ``veille status``.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from crawlers.fetch import retry_after_seconds
from crawlers.networks.base import AuthFailed, PlatformError, RateLimit, RateLimited
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
    limit = _number(headers.get("x-ratelimit-limit"))
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = reset_time(headers.get("x-ratelimit-reset"))
    if limit is None and remaining is None and reset is None:
        return None
    return RateLimit(limit=limit, remaining=remaining, reset=reset)


class JsonClient:
    """GETs JSON from one platform, with its bearer token if it has one."""

    def __init__(self, http: HttpSettings, token: str | None = None) -> None:
        self._token = token
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

    def _clean(self, text: str) -> str:
        """``text`` with the token taken out, and short."""
        if self._token:
            text = text.replace(self._token, "***")
        return text[:_ERROR_CHARS]

    def get(
        self, url: str, params: Mapping[str, str | int] | None = None, *, auth: bool = False
    ) -> JsonReply:
        """GET ``url``; with ``auth``, send the bearer token (`AuthFailed` if there is none)."""
        headers = {}
        if auth:
            if not self._token:
                raise AuthFailed("this request needs an access token, and none is configured")
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with self._client.stream("GET", url, params=params, headers=headers) as response:
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
        if status == 429:
            reset = rate_limit.reset if rate_limit else None
            if reset is None:
                after = retry_after_seconds(response.headers.get("retry-after"))
                reset = time.time() + after if after is not None else None
            raise RateLimited(
                f"429 rate limited: {self._message(body)}", reset=reset, http_status=status
            )
        if status in (401, 403):
            raise AuthFailed(f"{status}: {self._message(body)}", http_status=status)
        if not 200 <= status < 300:
            raise PlatformError(f"HTTP {status}: {self._message(body)}", http_status=status)
        try:
            data = json.loads(body)
        except ValueError:
            raise PlatformError(
                f"the answer is not JSON: {self._clean(body.decode('utf-8', 'replace'))!r}",
                http_status=status,
            ) from None
        links = {rel: link["url"] for rel, link in response.links.items() if isinstance(rel, str)}
        return JsonReply(data, links, rate_limit)

    def _message(self, body: bytes) -> str:
        """The platform's ``{"error": "..."}``, else the start of the body."""
        text = body.decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            text = data["error"]
        return self._clean(text.strip()) or "(no message)"
