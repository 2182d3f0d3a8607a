"""RSS feeds of numbered news about Acme on one slow host, for the tests that run ``veille run``
as a user does and kill or stop it mid-way (`tests.test_crash`, `tests.test_enrich_workers`)."""

from __future__ import annotations

from collections.abc import Callable

from veille.demo.web import Response, Routes


def acme_news(
    feeds: int, per_feed: int, delay: float, describe: Callable[[int, int], str]
) -> Routes:
    """``feeds`` feeds at ``http://news.example/feed{f}.xml``, each of ``per_feed`` items
    ``http://news.example/{f}/{i}`` described by ``describe(f, i)``, each answered after
    ``delay`` seconds."""
    routes: Routes = {}
    for f in range(feeds):
        items = "".join(
            f"<item><title>Acme nouvelle {f}-{i}</title><link>http://news.example/{f}/{i}</link>"
            f"<description>{describe(f, i)}</description>"
            "<pubDate>Mon, 16 Nov 2026 10:00:00 +0000</pubDate></item>"
            for i in range(per_feed)
        )
        body = f'<rss version="2.0"><channel><title>F{f}</title>{items}</channel></rss>'
        routes[("news.example", f"/feed{f}.xml")] = Response.text(
            body, "application/rss+xml", delay=delay
        )
    return routes
