"""A date Veille cannot read is unknown, never "now": from a feed to the store, the alert
buckets and ``veille status``, on the embedded pipeline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from crawlers.items import Found, to_mention
from ingest.record import SourceKind
from ingest.store import Filters
from veille.app import App
from veille.cli import cli
from veille.demo.web import Response, Routes, Web
from veille.settings import load_settings
from veille.status import collect_status, render_status

FETCHED = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

_ITEM = "<item><title>{title}</title><link>http://news.example/{n}</link>{date}" + (
    "<description>Acme: la panne continue, service client injoignable ({n}).</description></item>"
)


def _feed() -> bytes:
    items = [
        _ITEM.format(
            title="Acme, daté", n=1, date="<pubDate>Mon, 16 Nov 2026 10:00:00 +0000</pubDate>"
        ),
        _ITEM.format(title="Acme, sans date", n=2, date=""),
        _ITEM.format(
            title="Acme, date illisible", n=3, date="<pubDate>un jour peut-être</pubDate>"
        ),
        _ITEM.format(
            title="Acme, avant 1990", n=4, date="<pubDate>Sat, 01 Jan 1972 10:00:00 GMT</pubDate>"
        ),
    ]
    return f'<rss version="2.0"><channel><title>N</title>{"".join(items)}</channel></rss>'.encode()


def test_a_found_item_without_a_date_or_with_one_in_the_future_is_undated() -> None:
    found = Found(kind="post", url="https://forum.example/t/1#p2", text="Acme en panne")
    mention = to_mention(found, source="forum", kind=SourceKind.FORUM, fetched=FETCHED)
    assert mention.published is None
    assert mention.when == FETCHED
    ahead = Found(
        kind="post",
        url="https://forum.example/t/1#p3",
        text="Acme",
        published=FETCHED + timedelta(days=3),
    )
    assert (
        to_mention(ahead, source="forum", kind=SourceKind.FORUM, fetched=FETCHED).published is None
    )


def test_undated_entries_are_stored_unknown_listed_by_status_and_never_counted_by_alerts(
    tmp_path: Path, web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    site = web(
        {("news.example", "/feed.xml"): Response.text(_feed().decode(), "application/rss+xml")}
    )
    config = {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Acme", "query": "acme"}],
        "sources": {
            "feeds": [{"name": "news", "url": "http://news.example/feed.xml", "interval": "1h"}],
            "http": {"proxy": site.proxy, "host_delay": "0s"},
        },
    }
    path = write_config(config)
    app = App(load_settings(path))
    try:
        app.feed_poller().poll_due(force=True)
        app.drain()
        stored = {m.title: m for m in app.store.search(Filters(), size=10).hits}
        assert set(stored) == {
            "Acme, daté",
            "Acme, sans date",
            "Acme, date illisible",
            "Acme, avant 1990",
        }
        assert stored["Acme, daté"].published == datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
        undated = {t for t, m in stored.items() if m.published is None}
        assert undated == {"Acme, sans date", "Acme, date illisible", "Acme, avant 1990"}
        for title in undated:  # placed where first seen, and saying so
            assert stored[title].when == stored[title].fetched
            assert '"published"' not in stored[title].to_json().decode()

        status = collect_status(app)
        assert status["store"]["undated"] == {"news": 3}
        assert "without a date" in render_status(status)

        # Only the dated mention is in the alert buckets: 3 undated ones in the hour they were
        # found would look like a burst of complaints.
        buckets = app.alerts_engine.buckets
        first = buckets.first_bucket("Acme")
        assert first is not None
        series = buckets.series("Acme", first, first + 365 * 24 * 3600)
        assert sum(c.total for c in series) == 1
    finally:
        app.close()

    # The analyst lists them from the command line.
    listed = CliRunner().invoke(
        cli, ["--config", str(path), "search", "--undated", "--format", "json"]
    )
    assert listed.exit_code == 0, listed.output
    titles = {
        json.loads(line)["title"] for line in listed.stdout.splitlines() if line.startswith("{")
    }
    assert titles == {"Acme, sans date", "Acme, date illisible", "Acme, avant 1990"}
