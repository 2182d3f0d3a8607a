"""Redirect loops, reported: a redirect back to a URL already met on the way (``/`` -> ``/a`` ->
``/``) is refused here and counted as an error by the spider (``redirect_loop``). Without it,
Scrapy's scheduler drops the repeated URL as a duplicate, silently, and a site whose pages all
loop would end its crawl "ok, 0 pages, 0 errors".

It sees each response just before Scrapy's ``RedirectMiddleware`` does, and reads the chain
that one keeps in ``redirect_urls``. The URL chain is left in the request's meta under
`META_LOOP`, for the spider's report.
"""

from __future__ import annotations

from typing import Self
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from w3lib.url import canonicalize_url, safe_url_string

from crawlers.crawl.stats import count

META_LOOP = "veille_redirect_loop"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class RedirectLoopMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get(b"Location")
        if response.status not in _REDIRECTS or not location:
            return response
        target = urljoin(request.url, safe_url_string(location.decode("latin-1").strip()))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if canonicalize_url(target) not in {canonicalize_url(url) for url in chain}:
            return response
        request.meta[META_LOOP] = [*chain, target]
        count(self.crawler, "redirect_loops")
        raise IgnoreRequest(f"redirect loop: {' -> '.join([*chain, target])}")
