"""RSS feeds of numbered news about Acme on one slow host, the sources that poll them, and
``veille run`` started as a user does: for the tests that kill or stop it mid-way
(`tests.test_crash`, `tests.test_enrich_workers`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from veille.demo.web import Response, Routes, Web


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


def acme_sources(web: Web, feeds: int) -> dict[str, Any]:
    """The ``sources`` settings that poll `acme_news`' feeds through ``web``, hourly."""
    return {
        "feeds": [
            {"name": f"feed{f}", "url": f"http://news.example/feed{f}.xml", "interval": "1h"}
            for f in range(feeds)
        ],
        "http": {"proxy": web.proxy, "host_delay": "0s"},
    }


def start_veille_run(config: Path, log: BinaryIO) -> subprocess.Popen[bytes]:
    """``veille run`` on ``config`` in a new process, as a user starts it, its output in ``log``."""
    return subprocess.Popen(
        [sys.executable, "-m", "veille.cli", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
