"""Polite, bounded HTTP GETs, each classified as success, soft failure or hard failure.

- success: 2xx (body read), or 304 when the validators sent (ETag, Last-Modified) still hold;
- soft failure, retry later: 404, 408, 429, 5xx, timeouts, connection errors. ``Retry-After``
  is kept so the caller can honour it;
- hard failure, retrying soon will not help: other 4xx (401, 403, 410...), a body over the size
  limit, too many redirects, an invalid URL.

Every request has connect and read timeouts and an overall deadline (a server that drips one
byte a second is cut off), and reads at most ``max_bytes`` of decompressed body.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum

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


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _classify(code: int) -> FetchStatus:
    if 200 <= code < 300:
        return FetchStatus.OK
    if code == 304:
        return FetchStatus.NOT_MODIFIED
    if code in (404, 408, 425, 429) or code >= 500:
        return FetchStatus.SOFT
    return FetchStatus.HARD


class Fetcher:
    """One HTTP client with Veille's manners: honest user agent, timeouts, size limit."""

    def __init__(
        self, settings: HttpSettings, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        timeout = httpx.Timeout(
            connect=settings.connect_timeout.total_seconds(),
            read=settings.read_timeout.total_seconds(),
            write=settings.read_timeout.total_seconds(),
            pool=settings.connect_timeout.total_seconds(),
        )
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent},
            timeout=timeout,
            follow_redirects=True,
            max_redirects=5,
            transport=transport,
            proxy=settings.proxy,
        )

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
        limit = max_bytes or self.settings.max_bytes
        deadline = time.monotonic() + self.settings.total_timeout.total_seconds()
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                base = FetchResult(
                    url,
                    _classify(response.status_code),
                    http_status=response.status_code,
                    final_url=str(response.url),
                    content_type=response.headers.get("content-type"),
                )
                if base.status is FetchStatus.NOT_MODIFIED:
                    return replace(base, etag=etag, last_modified=last_modified)
                if base.status is not FetchStatus.OK:
                    return replace(
                        base,
                        error=f"HTTP {response.status_code} {response.reason_phrase}".strip(),
                        retry_after=retry_after_seconds(response.headers.get("retry-after")),
                    )
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    return replace(
                        base,
                        status=FetchStatus.HARD,
                        error=(f"response too large: {int(declared)} bytes (limit {limit})"),
                    )
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        return replace(
                            base,
                            status=FetchStatus.HARD,
                            error=f"response too large: over {limit} bytes",
                        )
                    if time.monotonic() > deadline:
                        return replace(
                            base, status=FetchStatus.SOFT, error="timed out reading the response"
                        )
                    chunks.append(chunk)
                return replace(
                    base,
                    body=b"".join(chunks),
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                )
        except httpx.TimeoutException as exc:
            return FetchResult(url, FetchStatus.SOFT, error=f"timeout ({type(exc).__name__})")
        except httpx.TooManyRedirects:
            return FetchResult(url, FetchStatus.HARD, error="too many redirects")
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return FetchResult(url, FetchStatus.HARD, error=f"invalid URL: {exc}")
        except httpx.HTTPError as exc:
            return FetchResult(url, FetchStatus.SOFT, error=f"{type(exc).__name__}: {exc}")

    def close(self) -> None:
        self._client.close()
