"""Scrapy's settings, built from Veille's (``sources.http`` and ``sources.crawl``).

The spiders never read a ``settings.py`` of their own: everything a crawl does is decided by the
one Veille settings file, and a site's own ``delay`` and ``concurrency`` become its download slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from crawlers.settings import CrawlSettings, HttpSettings, Site

_MIDDLEWARES = "crawlers.crawl.middlewares"


def robots_agent(user_agent: str) -> str:
    """The product token that robots.txt rules name: ``Veille`` for ``Veille/0.1 (...)``."""
    return user_agent.split("/", 1)[0].split(maxsplit=1)[0] or user_agent


def scrapy_settings(
    http: HttpSettings,
    crawl: CrawlSettings,
    sites: Sequence[Site] = (),
) -> dict[str, Any]:
    delay = http.host_delay.total_seconds()
    slots: dict[str, dict[str, Any]] = {}
    for site in sites:
        for url in site.start_urls:
            host = urlsplit(url).hostname or ""
            slot: dict[str, Any] = {}
            if site.delay is not None:
                slot["delay"] = site.delay.total_seconds()
            if site.concurrency is not None:
                slot["concurrency"] = site.concurrency
            if slot:
                slots[host] = slot
    return {
        # Who we are, and robots.txt (RFC 9309 semantics, Protego's parser).
        "USER_AGENT": http.user_agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": robots_agent(http.user_agent),
        "ROBOTSTXT_PARSER": "scrapy.robotstxt.ProtegoRobotParser",
        # How hard we knock: per-site concurrency and delay, AutoThrottle on top.
        "CONCURRENT_REQUESTS": crawl.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": crawl.per_site_concurrency,
        "DOWNLOAD_DELAY": delay,
        "DOWNLOAD_SLOTS": slots,
        "AUTOTHROTTLE_ENABLED": crawl.autothrottle,
        "AUTOTHROTTLE_START_DELAY": delay,
        "AUTOTHROTTLE_MAX_DELAY": max(delay, crawl.autothrottle_max_delay.total_seconds()),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": crawl.autothrottle_target,
        # How long and how much.
        "DOWNLOAD_TIMEOUT": http.total_timeout.total_seconds(),
        "DOWNLOAD_MAXSIZE": http.max_bytes,
        "DOWNLOAD_WARNSIZE": http.max_bytes // 2,
        "REDIRECT_MAX_TIMES": 5,
        "CLOSESPIDER_PAGECOUNT": crawl.max_pages,
        "DEPTH_LIMIT": 0,  # UrlPolicyMiddleware counts hops without pagination
        # Failures: retried with backoff, Retry-After honoured.
        "RETRY_ENABLED": crawl.retries > 0,
        "RETRY_TIMES": crawl.retries,
        "RETRY_HTTP_CODES": [429, 500, 502, 503, 504, 522, 524, 408],
        "RETRY_GIVE_UP_LOG_LEVEL": "WARNING",
        "VEILLE_BACKOFF": crawl.backoff.total_seconds(),
        "VEILLE_MAX_RETRY_AFTER": crawl.max_retry_after.total_seconds(),
        "VEILLE_TRAP_PARAMS": list(crawl.trap_params),
        "VEILLE_MAX_DEPTH": crawl.max_depth,
        "VEILLE_MAX_PAGINATION": crawl.max_pagination,
        "VEILLE_PROXY": http.proxy,
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            f"{_MIDDLEWARES}.robotstxt.RobotsPolicyMiddleware": 100,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            f"{_MIDDLEWARES}.retry.PoliteRetryMiddleware": 550,
            # Sees each answer before Scrapy's RedirectMiddleware (600) does.
            f"{_MIDDLEWARES}.redirects.RedirectLoopMiddleware": 610,
            f"{_MIDDLEWARES}.proxy.ProxyMiddleware": 740,
        },
        "SPIDER_MIDDLEWARES": {f"{_MIDDLEWARES}.urlpolicy.UrlPolicyMiddleware": 600},
        "ITEM_PIPELINES": {
            "crawlers.crawl.pipelines.NormalisePipeline": 100,
            "crawlers.crawl.pipelines.DeduplicatePipeline": 200,
            "crawlers.crawl.pipelines.PublishPipeline": 900,
        },
        # Sites set cookies to get rid of session ids in URLs; keep them for the crawl.
        "COOKIES_ENABLED": True,
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_ENABLED": False,
        "STATS_DUMP": False,
        "LOGSTATS_INTERVAL": 0,
    }
