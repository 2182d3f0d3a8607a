"""Veille's own counters in a crawl's Scrapy stats, under ``veille/``: spiders, middlewares and
pipelines count there, and the runner reads them into each site's outcome."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


def count(crawler: Crawler, key: str, n: int = 1) -> None:
    crawler.stats.inc_value(f"veille/{key}", n)
