"""What every Veille spider shares: its site and `CrawlContext`, requests that carry the crawl's
bookkeeping (hops, pagination, an errback that counts), decoding that survives bad encodings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request, Spider
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
)
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawlers.crawl.middlewares.redirects import META_LOOP
from crawlers.crawl.middlewares.urlpolicy import META_EXEMPT, META_HOPS, META_PAGE
from crawlers.crawl.progress import CrawlState
from crawlers.crawl.stats import count
from crawlers.extract.page import repair_encoding
from crawlers.settings import Site
from ingest.bus import Bus
from ingest.clock import Clock
from ingest.record import SourceKind

log = logging.getLogger(__name__)

META_OPTIONAL = "veille_optional"
"""A request that may well fail (a guessed sitemap): a 404 is not an error."""


@dataclass
class CrawlContext:
    """What a spider and its pipelines work with, handed in by whoever runs the crawl."""

    site: Site
    state: CrawlState
    bus: Bus
    topic: str
    clock: Clock
    searches: list[str] = field(default_factory=list)
    """The site's search URLs, with ``{brand}`` already replaced."""


def _refusal_kind(request: Request | None, exc: IgnoreRequest) -> str | None:
    """The name of an error that Scrapy (or a middleware) reports as a request ignored: an
    answer too large once decompressed, a redirect loop or chain too long. None for a request
    dropped on purpose (the site asked to wait past this crawl)."""
    message = str(exc)
    if "DOWNLOAD_MAXSIZE" in message:
        return "too_large"
    if (request is not None and META_LOOP in request.meta) or message.startswith("redirect loop"):
        return "redirect_loop"
    if message == "max redirections reached":
        return "too_many_redirects"
    return None


def failure_kind(failure: Failure) -> str:
    """A short name for why a request failed, for counters and reports."""
    exc = failure.value
    if isinstance(exc, IgnoreRequest) and not isinstance(exc, HttpError):
        kind = _refusal_kind(getattr(failure, "request", None), exc)
        if kind is not None:
            return kind
    if isinstance(exc, HttpError):
        return f"http_{exc.response.status}"
    if isinstance(exc, CannotResolveHostError):
        return "dns"
    if isinstance(exc, DownloadTimeoutError):
        return "timeout"
    if isinstance(exc, DownloadConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, DownloadCancelledError):
        return "too_large"
    return type(exc).__name__


class VeilleSpider(Spider):
    source_kind: ClassVar[SourceKind]

    def __init__(self, context: CrawlContext, **kwargs: Any) -> None:
        super().__init__(name=context.site.name, **kwargs)
        self.context = context
        self.site = context.site
        hosts = {urlsplit(u).hostname for u in [*self.site.start_urls, *context.searches]}
        # Scrapy allows subdomains of these: example.fr covers a redirect to www.example.fr.
        self.allowed_domains = sorted({h.removeprefix("www.") for h in hosts if h})
        self.last_error: str | None = None

    # -- helpers for subclasses ----------------------------------------------------------------

    def now(self) -> datetime:
        return self.context.clock.now()

    def on_site(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith(f".{d}") for d in self.allowed_domains)

    def count(self, key: str, n: int = 1) -> None:
        count(self.crawler, key, n)

    def request(
        self,
        url: str,
        callback: Callable[..., Any],
        *,
        base: Response | None = None,
        pagination: bool = False,
        exempt: bool = False,
        meta: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Request:
        """A request for ``url`` found on ``base`` (or a start when there is no base)."""
        hops = base.meta.get(META_HOPS, 0) if base is not None else 0
        page = base.meta.get(META_PAGE, 0) if base is not None else 0
        full = {
            META_HOPS: hops + (1 if base is not None and not pagination else 0),
            META_PAGE: page + 1 if pagination else 0,
            **(meta or {}),
        }
        if exempt:
            full[META_EXEMPT] = True
        return Request(url, callback=callback, errback=self.failed, meta=full, **kwargs)

    def text_page(self, response: Response) -> TextResponse | None:
        """The response as text, re-decoded if its encoding was wrong; None (counted) if it is
        not text at all."""
        if not isinstance(response, TextResponse):
            self.count("not_text")
            log.info("%s: %s is not a text page; skipped", self.name, response.url)
            return None
        page, repaired = repair_encoding(response)
        if repaired:
            self.count("encoding_repaired")
        return page

    def failed(self, failure: Failure) -> None:
        """Count a request that gave no page, and say why; the crawl goes on."""
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        error = failure.value
        if isinstance(error, IgnoreRequest) and "robots" in str(error).lower():
            self.count("robots_forbidden")
            return
        kind = failure_kind(failure)
        if request is not None and request.meta.get(META_OPTIONAL) and kind == "http_404":
            return
        if isinstance(error, IgnoreRequest) and not isinstance(error, HttpError):
            if _refusal_kind(request, error) is None:
                self.count(f"ignored/{kind}")
                return
            # A page lost to a decompression bomb or a redirect loop: an error, with what
            # happened in the note, never an "ok" crawl with nothing in it.
            self.count("errors")
            self.count(f"errors/{kind}")
            self.last_error = f"{kind} on {url}: {error}"[:300]
            log.warning("%s: %s: %s", self.name, url, error)
            return
        self.count("errors")
        self.count(f"errors/{kind}")
        self.last_error = f"{kind} on {url}"
        log.warning("%s: %s: %s", self.name, url, kind)
