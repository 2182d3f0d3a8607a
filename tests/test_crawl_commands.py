"""``veille extract`` on saved pages and on the web, ``veille crawl --once``, the crawl settings'
validation, the schedule, and the crawl worker of ``veille run``."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from crawlers.items import identity
from ingest.clock import FakeClock
from ingest.errors import ConfigError
from tests.support.crawling import Harness
from tests.test_crawl_forums import sample_forum, site_for
from veille.app import App
from veille.cli import cli
from veille.demo.forums import phpbb_routes
from veille.demo.web import Response, Routes, Web
from veille.settings import Settings

PAGES = Path(__file__).parent / "pages"


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_extract_a_saved_forum_thread() -> None:
    url = "http://forum.velotaf.example/viewtopic.php?f=3&t=1842&start=15"
    result = run(
        "extract", str(PAGES / "phpbb-viewtopic-fr.html"), "--url", url, "--tz", "Europe/Paris"
    )
    assert result.exit_code == 0, result.output
    posts = lines(result.stdout)
    assert [p["position"] for p in posts] == [16, 17, 18, 19]
    assert {p["kind"] for p in posts} == {"post"}
    assert all(p["parent"] is None for p in posts)
    first = posts[0]
    assert first["id"] == identity("http://forum.velotaf.example/viewtopic.php?p=4521")
    assert first["author"]["name"] == "Kevin_29"
    assert first["published"] == "2026-11-10T20:14:00Z"
    assert first["thread"]["title"] == "Velora City : batterie qui se vide toute seule"
    assert first["thread"]["url"] == "http://forum.velotaf.example/viewtopic.php?t=1842"
    assert "Tu as essayé" not in first["text"]
    assert "4 items from a forum page (phpbb)" in result.stderr


def test_extract_a_saved_article_with_its_comments() -> None:
    result = run(
        "extract",
        str(PAGES / "wordpress-article-fr.html"),
        "--kind",
        "article",
        "--url",
        "https://velo-boulot-dodo.example/2026/11/velora-city-apres-6-mois/",
    )
    assert result.exit_code == 0, result.output
    items = lines(result.stdout)
    article, comments = items[0], items[1:]
    assert article["kind"] == "article"
    assert article["parent"] is None
    assert article["title"] == "Velora City après 6 mois : ce qui va, ce qui coince"
    assert [c["kind"] for c in comments] == ["comment"] * 4
    assert {c["parent"] for c in comments} == {article["id"]}
    assert [c["position"] for c in comments] == [1, 2, 3, 4]
    assert comments[2]["author"]["name"] == "Paulo"
    assert len({c["id"] for c in comments}) == 4


def test_extract_a_discourse_topic_json() -> None:
    result = run(
        "extract",
        str(PAGES / "discourse-topic-en.json"),
        "--url",
        "https://talk.cyclists.example/t/velora-city-firmware-2-4/7731.json",
    )
    assert result.exit_code == 0, result.output
    posts = lines(result.stdout)
    assert [p["position"] for p in posts] == [1, 2, 4]
    assert posts[1]["parent"] == posts[0]["id"]


def test_extract_from_the_web_honours_robots(
    web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    server = web(
        {
            ("blog.example", "/ok/"): Response.text(
                (PAGES / "ghost-article-en.html").read_text(encoding="utf-8")
            ),
            ("blog.example", "/robots.txt"): Response.text(
                "User-agent: *\nDisallow: /private/\n", "text/plain"
            ),
        }
    )
    config = write_config({"sources": {"http": {"proxy": server.proxy}}})
    result = run("--config", str(config), "extract", "http://blog.example/ok/", "--format", "table")
    assert result.exit_code == 0, result.output
    assert "jlambert" in result.stdout
    assert "article" in result.stdout
    refused = run("--config", str(config), "extract", "http://blog.example/private/x")
    assert refused.exit_code == 1
    assert "robots.txt does not allow" in refused.stderr
    assert ("blog.example", "/private/x") not in server.requests


def test_extract_reports_what_it_cannot_read(tmp_path: Path) -> None:
    missing = run("extract", str(tmp_path / "nope.html"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
    page = tmp_path / "empty.html"
    page.write_text("<html><body><p>rien</p></body></html>")
    forum = run("extract", str(page), "--kind", "forum", "--engine", "phpbb")
    assert forum.exit_code == 1
    assert "no posts found" in forum.stderr


def test_crawl_once_prints_each_site_and_fails_on_unknown_names(
    web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    forum = sample_forum("phpbb")
    server = web(phpbb_routes(forum))
    config = write_config(
        {
            "sources": {
                "http": {"proxy": server.proxy, "host_delay": "0s"},
                "forums": [
                    {
                        "name": "parlons",
                        "engine": "phpbb",
                        "start_urls": [f"http://{forum.host}/index.php"],
                    }
                ],
            }
        }
    )
    result = run("--config", str(config), "crawl", "--once", "parlons")
    assert result.exit_code == 0, result.output
    assert "parlons" in result.stdout
    assert " ok " in result.stdout
    assert " 35 " in result.stdout
    again = run("--config", str(config), "crawl", "--once", "all")
    assert again.exit_code == 0
    assert " 0 " in again.stdout
    unknown = run("--config", str(config), "crawl", "--once", "nope")
    assert unknown.exit_code == 2
    assert "no blog or forum named 'nope'" in unknown.output
    status = run("--config", str(config), "status")
    assert status.exit_code == 0
    assert "parlons" in status.stdout


def test_crawl_without_sites_says_what_to_configure(write_config: Callable[..., Path]) -> None:
    result = run("--config", str(write_config({})), "crawl", "--once", "all")
    assert result.exit_code == 2
    assert "sources.blogs, sources.forums or sources.reviews" in result.output


@pytest.mark.parametrize(
    ("forum", "message"),
    [
        ({"engine": "generic"}, "generic engine needs markup selectors for: thread_links, post"),
        ({"engine": "phpbb", "markup": {"post": "div[["}}, "invalid CSS selector 'div[['"),
        ({"engine": "phpbb", "deny": ["(unclosed"]}, "invalid regular expression"),
        ({"engine": "phpbb", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"engine": "phpbb", "search": ["http://f.example/s?q={query}"]}, "only {brand}"),
        ({"engine": "mybb"}, "engine"),
    ],
)
def test_bad_crawl_settings_stop_at_start(
    forum: dict[str, Any], message: str, settings_for: Callable[..., Settings]
) -> None:
    config = {"sources": {"forums": [{"name": "f", "start_urls": ["http://f.example/"], **forum}]}}
    with pytest.raises(ConfigError, match=r"sources\.forums") as raised:
        settings_for(config)
    assert message in str(raised.value)


def test_site_names_are_unique(settings_for: Callable[..., Settings]) -> None:
    site = {"name": "same", "start_urls": ["http://x.example/"]}
    with pytest.raises(ConfigError, match="repeated: same"):
        settings_for({"sources": {"blogs": [site], "forums": [{**site, "engine": "phpbb"}]}})


def test_sites_are_crawled_on_their_schedule(tmp_path: Path, web: Callable[[Routes], Web]) -> None:
    forum = sample_forum("phpbb")
    server = web(phpbb_routes(forum))
    clock = FakeClock(datetime.now(UTC))
    harness = Harness(tmp_path, server, clock=clock)
    site = site_for("phpbb", forum, interval="30m")
    runner = harness.runner([site])
    assert runner.due() == [site]
    assert len(runner.crawl()) == 1
    assert runner.due() == []
    assert 0.95 * 1800 <= runner.seconds_until_due() <= 1.05 * 1800
    clock.advance(1900)
    assert runner.due() == [site]


def test_veille_run_has_a_crawl_worker_that_stops_when_told(
    tmp_path: Path, web: Callable[[Routes], Web], settings_for: Callable[..., Settings]
) -> None:
    forum = sample_forum("phpbb")
    server = web(phpbb_routes(forum))
    settings = settings_for(
        {
            "data_dir": str(tmp_path / "data"),
            "sources": {
                "http": {"proxy": server.proxy, "host_delay": "0s"},
                "forums": [site_for("phpbb", forum).model_dump(mode="json", exclude_defaults=True)],
            },
        }
    )
    app = App(settings)
    try:
        workers = {w.name: w for w in app.workers()}
        assert set(workers) >= {"poll", "crawl", "enrich", "index"}
        stop = threading.Event()
        thread = threading.Thread(target=workers["crawl"].target, args=(stop,))
        thread.start()
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while app.crawl_state.site("forum-phpbb").crawls == 0 and datetime.now(UTC) < deadline:
            stop.wait(0.1)
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive()
        assert app.crawl_state.site("forum-phpbb").last_mentions == 35
        assert sum(app.bus.end_offsets(app.topics.raw).values()) == 35
    finally:
        app.close()
