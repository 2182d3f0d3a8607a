"""Every request, robots.txt included, goes through ``sources.http.proxy`` when one is set
(``VEILLE_PROXY``); a request that names its own proxy keeps it."""

from __future__ import annotations

from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


class ProxyMiddleware:
    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        proxy = crawler.settings.get("VEILLE_PROXY")
        if not proxy:
            raise NotConfigured
        return cls(proxy)

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)
