"""Polite, bounded HTTP GETs, each classified as success, soft failure or hard failure.

- success: 2xx (body read), or 304 when the validators sent (ETag, Last-Modified) still hold;
- soft failure, retry later: 404, 408, 429, 5xx, timeouts, connection errors. ``Retry-After``
  is kept so the caller can honour it;
- hard failure, retrying soon will not help: other 4xx (401, 403, 410...), a body over the size
  limit, too many redirects, an invalid URL.

Every request has connect and read timeouts and an overall deadline, ``total_timeout``, that
covers connecting, the headers and the body: httpx's timeouts bound each read, so a server that
drips one header byte a second would never time out; a watchdog (`_Cutoff`) shuts the request's
socket down when its time is up. Every request reads at most ``max_bytes`` of decompressed body.
`Fetcher.abort` cuts every request in flight, to stop at once.
"""

from __future__ import annotations

import contextlib
import math
import re
import socket
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx

from crawlers.settings import HttpSettings

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)


class FetchStatus(StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    SOFT = "soft"
    HARD = "hard"


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: FetchStatus
    http_status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)


_DIGITS = re.compile(r"[0-9]+")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date. Finite, but
    as large as the server says: the caller caps it (`crawlers.feeds.poller`: ``max_backoff``)."""
    if not value:
        return None
    value = value.strip()
    if _DIGITS.fullmatch(value):
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _content_length(value: str | None) -> int | None:
    return int(value) if value and _DIGITS.fullmatch(value.strip()) else None


def _classify(code: int) -> FetchStatus:
    if 200 <= code < 300:
        return FetchStatus.OK
    if code == 304:
        return FetchStatus.NOT_MODIFIED
    if code in (404, 408, 425, 429) or code >= 500:
        return FetchStatus.SOFT
    return FetchStatus.HARD


_CONNECTED = (".connect_tcp.complete", ".connect_unix_socket.complete", ".start_tls.complete")


class _Cutoff:
    """One request's deadline: when it passes (or `fire` is called), the request's socket is
    shut down, which ends a blocked read at once, whatever phase the request is in.

    The sockets come from httpcore's ``trace`` extension, which hands over each connection as
    it is made (and again once TLS wraps it); connections are never reused (see `Fetcher`), so
    every request makes its own.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self.fired = False
        self._timer = threading.Timer(max(0.0, seconds), self.fire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if not event.endswith(_CONNECTED):
            return
        stream = info.get("return_value")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if not isinstance(sock, socket.socket):
            return
        with self._lock:
            self._sockets.append(sock)
            cut = self.fired
        if cut:  # connected after the deadline
            _shut(sock)

    def fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def done(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


def _failure(url: str, exc: httpx.HTTPError | httpx.InvalidURL) -> FetchResult:
    if isinstance(exc, httpx.TimeoutException):
        return FetchResult(url, FetchStatus.SOFT, error=f"timeout ({type(exc).__name__})")
    if isinstance(exc, httpx.TooManyRedirects):
        return FetchResult(url, FetchStatus.HARD, error="too many redirects")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchResult(url, FetchStatus.HARD, error=f"invalid URL: {exc}")
    return FetchResult(url, FetchStatus.SOFT, error=f"{type(exc).__name__}: {exc}")


class Fetcher:
    """One HTTP client with Veille's manners: honest user agent, timeouts, size limit. Safe to
    use from several threads at once."""

    def __init__(
        self, settings: HttpSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self._total = settings.total_timeout.total_seconds()
        # No phase may wait longer than the whole request may take.
        timeout = httpx.Timeout(
            connect=min(settings.connect_timeout.total_seconds(), self._total),
            read=min(settings.read_timeout.total_seconds(), self._total),
            write=min(settings.read_timeout.total_seconds(), self._total),
            pool=min(settings.connect_timeout.total_seconds(), self._total),
        )
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent},
            timeout=timeout,
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
            proxy=settings.proxy,
            # A new connection for each request, so each request's deadline holds its socket
            # (`_Cutoff`). Feeds are polled minutes apart: a kept connection would have expired.
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._lock = threading.Lock()
        self._in_flight: set[_Cutoff] = set()
        self._aborted = False

    def abort(self) -> None:
        """Cut every request in flight and refuse new ones (they end as soft failures): for
        stopping. The requests' callers get their results at once."""
        with self._lock:
            self._aborted = True
            cutoffs = list(self._in_flight)
        for cutoff in cutoffs:
            cutoff.fire()

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
        max_bytes: int | None = None,
    ) -> FetchResult:
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        cutoff = _Cutoff(self._total)
        with self._lock:
            self._in_flight.add(cutoff)
            if self._aborted:
                cutoff.fire()
        try:
            with self._client.stream(
                "GET", url, headers=headers, extensions={"trace": cutoff.trace}
            ) as response:
                result = self._read(url, response, max_bytes or self.settings.max_bytes, cutoff)
            if result.status is FetchStatus.NOT_MODIFIED:
                result = replace(result, etag=etag, last_modified=last_modified)
            return result
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if cutoff.fired:
                return FetchResult(url, FetchStatus.SOFT, error=self._cut_short())
            return _failure(url, exc)
        finally:
            cutoff.done()
            with self._lock:
                self._in_flight.discard(cutoff)

    def _read(self, url: str, response: httpx.Response, limit: int, cutoff: _Cutoff) -> FetchResult:
        """The result of a request whose headers came: the body read whole, or why not."""
        base = FetchResult(
            url,
            _classify(response.status_code),
            http_status=response.status_code,
            final_url=str(response.url),
            content_type=response.headers.get("content-type"),
        )
        if base.status is FetchStatus.NOT_MODIFIED:
            return base
        if base.status is not FetchStatus.OK:
            return replace(
                base,
                error=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        declared = _content_length(response.headers.get("content-length"))
        if declared is not None and declared > limit:
            return replace(
                base,
                status=FetchStatus.HARD,
                error=f"response too large: {declared} bytes (limit {limit})",
            )
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                return replace(
                    base, status=FetchStatus.HARD, error=f"response too large: over {limit} bytes"
                )
            chunks.append(chunk)
        if cutoff.fired:  # the socket was shut down: the body may have been cut short
            return replace(base, status=FetchStatus.SOFT, error=self._cut_short())
        return replace(
            base,
            body=b"".join(chunks),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
        )

    def _cut_short(self) -> str:
        if self._aborted:
            return "stopped: the fetch was cut short to shut down"
        return f"timeout: no whole answer within total_timeout ({self._total:g} s)"

    def close(self) -> None:
        self._client.close()
