"""Hostile feeds and pages, served over loopback (issue 11): each must cost at most its own
source, never the poller, the crawl or ``veille run``.

- a JSON Feed nested 200,000 levels deep, a ``date_published`` past what a datetime holds, and
  any bug a document meets: that feed fails (counted, backed off, its error in ``veille
  status``), the others go through;
- a server that drips one header byte at a time: cut at ``total_timeout``; in ``run``, a
  healthy feed on another host is polled on time meanwhile, and a stop cuts it at once;
- ``Retry-After: 99999999999999999999`` and dates in year 9999: capped at ``max_backoff``;
  state already bad (``next_poll`` 1e20, infinite, text) is repaired, ``veille status`` prints;
- a host whose robots.txt cannot be fetched: a soft failure, "host unreachable", not a day of
  "disallowed by robots.txt"; ``veille poll --once`` exits 1;
- a crawl of a decompression bomb or a redirect loop, ``veille extract`` of 50,000 nested divs:
  each says what happened;
- end to end, ``veille run`` with all of them beside good feeds keeps storing the good feeds'
  new entries for the whole test.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from crawlers.feeds import poller as poller_module
from crawlers.feeds.parse import ParsedFeed
from crawlers.feeds.poller import FeedPoller
from crawlers.feeds.state import FeedStateStore
from crawlers.fetch import Fetcher
from crawlers.settings import BlogSite, FeedPollerSettings, FeedSource, HttpSettings
from index.sqlite import SqliteStore
from ingest.clock import FakeClock
from ingest.locallog import LocalLogBus
from ingest.store import Filters
from tests.support.crawling import Harness as CrawlHarness
from tests.support.drip import DripServer
from tests.support.polling import PollHarness
from tests.support.waiting import wait_for
from veille.cli import cli
from veille.demo.web import Response, Routes, Web

pytestmark = pytest.mark.hostile

RSS = "application/rss+xml"
JSON_FEED = "application/feed+json"
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LOCAL = "127.0.0.1"

DEEP_JSON = (
    b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
    + b"[" * 200_000
    + b"]" * 200_000
    + b"]}"
)


def overflowing_date_feed(tag: str = "date") -> bytes:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "items": [
                {
                    "id": f"{tag}-1",
                    "url": f"http://{tag}.example/1",
                    "title": "Acme au bout du temps",
                    "content_text": "Acme publie en l'an 9999",
                    "date_published": "9999-12-31T23:59:59-14:00",
                }
            ],
        }
    ).encode()


def rss(*items: tuple[str, str]) -> str:
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        f"<description>{title}, une nouvelle</description></item>"
        for link, title in items
    )
    return f'<rss version="2.0"><channel><title>Feed</title>{body}</channel></rss>'


class Growing:
    """A feed with one more entry at each request; remembers when each request came."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.times: list[float] = []

    def __call__(self, _etag: str) -> Response:
        self.times.append(time.monotonic())
        items = [
            (f"http://{self.name}.example/{i}", f"Acme {self.name} numéro {i}")
            for i in range(len(self.times))
        ]
        return Response.text(rss(*items), RSS)


def refused_port() -> int:
    """A loopback port nobody listens on: connections to it are refused."""
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        return int(sock.getsockname()[1])


Pollers = Callable[..., PollHarness]


@pytest.fixture
def pollers(tmp_path: Path) -> Iterator[Pollers]:
    """Feed pollers on loopback servers: through ``proxy`` (a `Web`), or straight to each
    server (each is then its own host), with ``total_timeout`` for every fetch."""
    made: list[PollHarness] = []

    def make(
        feeds: list[FeedSource],
        *,
        clock: FakeClock | None = None,
        total_timeout: float = 5.0,
        proxy: str | None = None,
    ) -> PollHarness:
        timeout = timedelta(seconds=total_timeout)
        http = HttpSettings(
            proxy=proxy, read_timeout=timeout, total_timeout=timeout, host_delay=timedelta(0)
        )
        made.append(PollHarness(tmp_path, feeds, http=http, clock=clock))
        return made[-1]

    yield make
    for poller in made:
        poller.close()


def feed(name: str, url: str, **kwargs: Any) -> FeedSource:
    return FeedSource(name=name, url=url, **kwargs)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


# -- one feed never stops everything -------------------------------------------------------------


def test_a_deep_json_feed_an_overflowing_date_and_a_bug_cost_only_their_own_feed(
    web: Callable[[Routes], Web],
    pollers: Pollers,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    site = web(
        {
            ("deep.example", "/feed.json"): Response(DEEP_JSON, JSON_FEED),
            ("date.example", "/feed.json"): Response(overflowing_date_feed(), JSON_FEED),
            ("bug.example", "/feed.xml"): Response.text(rss(("http://bug.example/1", "x")), RSS),
            ("good.example", "/feed.xml"): Growing("good"),
        }
    )
    # Whatever a parser may still raise on some document is that feed's failure alone.
    real_parse = poller_module.parse_feed

    def buggy(body: bytes, *args: Any, **kwargs: Any) -> ParsedFeed:
        if b"bug.example" in body:
            raise RecursionError("maximum recursion depth exceeded")
        return real_parse(body, *args, **kwargs)

    monkeypatch.setattr(poller_module, "parse_feed", buggy)
    clock = FakeClock(NOW)
    p = pollers(
        [
            feed("deep", "http://deep.example/feed.json"),
            feed("date", "http://date.example/feed.json", interval="1h"),
            feed("bug", "http://bug.example/feed.xml", interval="10m"),
            feed("good", "http://good.example/feed.xml"),
        ],
        clock=clock,
        proxy=site.proxy,
    )
    outcomes = {o.feed: o for o in p.poller.poll_due()}

    assert {name: o.status for name, o in outcomes.items()} == {
        "deep": "hard",
        "date": "ok",
        "bug": "error",
        "good": "ok",
    }
    assert "nested deeper than 64 levels" in (outcomes["deep"].error or "")
    assert "RecursionError" in (outcomes["bug"].error or "")
    by_source = {m.source.name: m for m in p.published()}
    assert by_source["date"].published is None  # unknown, never "now"
    assert by_source["date"].when == NOW  # placed where it was first seen
    assert by_source["good"].title == "Acme good numéro 0"
    counts = p.counts()
    assert (counts["unexpected_errors"], counts["not_a_feed"], counts["ok"]) == (1, 1, 2)
    states = {s.name: s for s in p.state.all()}
    assert states["bug"].last_status == "error"
    assert "RecursionError" in (states["bug"].last_error or "")
    assert states["bug"].errors == 1
    # Backed off as a soft failure: twice its interval, then four times.
    assert states["bug"].next_poll - clock.now().timestamp() == pytest.approx(1200, rel=0.06)
    clock.advance(21 * 60)
    assert {o.feed: o.status for o in p.poller.poll_due()} == {"bug": "error", "good": "ok"}
    bug = {s.name: s for s in p.state.all()}["bug"]
    assert bug.next_poll - clock.now().timestamp() == pytest.approx(2400, rel=0.06)


def test_extract_reads_a_page_whose_date_overflows_and_says_when_nothing_can_be_read(
    web: Callable[[Routes], Web], write_config: Callable[..., Path]
) -> None:
    text = "Acme sort un vélo. " * 20
    dated = (
        '<html><head><title>Acme</title><meta property="article:published_time" '
        f'content="9999-12-31T23:59:59-14:00"></head><body><article><h1>Acme</h1><p>{text}</p>'
        "</article></body></html>"
    )
    deep = f"<html><body>{'<div>' * 50_000}{text}{'</div>' * 50_000}</body></html>"
    site = web(
        {
            ("blog.example", "/dated/"): Response.text(dated),
            ("blog.example", "/deep/"): Response.text(deep),
        }
    )
    config = str(write_config({"sources": {"http": {"proxy": site.proxy}}}))

    read = invoke("--config", config, "extract", "http://blog.example/dated/")
    assert read.exit_code == 0, read.output
    (article,) = [json.loads(line) for line in read.stdout.splitlines()]
    assert "published" not in article  # the date is unknown, never "now"
    assert "Acme sort un vélo" in article["text"]

    nested = invoke("--config", config, "extract", "http://blog.example/deep/")
    assert nested.exit_code == 1
    assert "nothing could be read" in nested.stderr
    assert "nested more than 2048 levels deep" in nested.stderr


# -- a slow server never escapes the timeout nor holds up other feeds ----------------------------


def test_a_dripping_server_is_cut_at_total_timeout() -> None:
    with DripServer(interval=0.2) as drip:
        fetcher = Fetcher(HttpSettings(total_timeout=timedelta(seconds=2)))
        results = []
        started = time.monotonic()
        thread = threading.Thread(target=lambda: results.append(fetcher.get(f"{drip.url}/feed")))
        thread.start()
        thread.join(timeout=60)  # without a deadline over the headers, hours at 5 bytes/s
        took = time.monotonic() - started
        fetcher.close()
    assert not thread.is_alive(), "the fetch was not cut"
    (result,) = results
    assert result.status == "soft"
    assert result.error == "timeout: no whole answer within total_timeout (2 s)"
    print(f"drip cut after {took:.2f} s (total_timeout 2 s)")


def test_hosts_do_not_wait_on_each_other(web: Callable[[Routes], Web], pollers: Pollers) -> None:
    """``run`` with a healthy feed (1 s interval) on one host and a dripping feed on another:
    the healthy one goes on being polled while the drip is being fetched."""
    good = Growing("good")
    site = web({(LOCAL, "/feed.xml"): good})
    with DripServer(interval=0.2) as drip:
        p = pollers(
            [
                feed("good", f"{site.url}/feed.xml", interval="1s"),
                feed("drip", f"{drip.url}/feed.xml", interval="1s"),
            ],
            total_timeout=4.0,
        )
        stop = threading.Event()
        thread = threading.Thread(target=p.poller.run, args=(stop,))
        thread.start()
        try:
            wait_for(lambda: len(drip.drips) >= 1, 30, "a first drip to be cut")
        finally:
            stop.set()
            thread.join(timeout=30)
    start = drip.started[0]
    during = [t for t in good.times if start < t < start + 3.5]
    assert len(during) >= 2, "the healthy feed waited for the dripping host"
    drip_state = {s.name: s for s in p.state.all()}["drip"]
    assert (drip_state.last_status, drip_state.failures) == ("soft", 1)
    assert "total_timeout" in (drip_state.last_error or "")
    gaps = [b - a for a, b in pairwise(good.times)]
    print(
        f"healthy feed: {len(during)} polls in the first 3.5 s of the drip, longest gap "
        f"{max(gaps):.2f} s (interval 1 s, jitter 5%, total_timeout 4 s)"
    )


def test_a_stop_cuts_a_fetch_in_flight_and_leaves_its_feed_due(
    pollers: Pollers,
) -> None:
    with DripServer(interval=0.2) as drip:
        p = pollers([feed("drip", f"{drip.url}/feed.xml")], total_timeout=60.0)
        stop = threading.Event()
        thread = threading.Thread(target=p.poller.run, args=(stop,))
        thread.start()
        wait_for(lambda: drip.in_flight, 30, "the drip to start")
        stopped_at = time.monotonic()
        stop.set()
        thread.join(timeout=30)  # half of total_timeout
        took = time.monotonic() - stopped_at
    assert not thread.is_alive(), "the poller waited for its fetch"
    assert p.state.all() == []  # cut short by the stop: not a failure of the feed
    assert p.poller.due() == p.poller.feeds
    print(f"poller stopped {took:.2f} s after stop, a drip in flight (total_timeout 60 s)")


# -- server-given delays are capped, bad state is repaired ---------------------------------------


@pytest.mark.parametrize(
    ("retry_after", "delay"),
    [
        ("99999999999999999999", 6 * 3600),  # capped at max_backoff
        ("Fri, 31 Dec 9999 23:59:59 GMT", 6 * 3600),
        ("²", 30 * 60),  # not a delay: twice the interval, as any soft failure
        ("-5", 30 * 60),
        ("nan", 30 * 60),
    ],
)
def test_a_server_given_delay_is_capped_at_max_backoff(
    retry_after: str,
    delay: float,
    web: Callable[[Routes], Web],
    pollers: Pollers,
) -> None:
    site = web(
        {("busy.example", "/feed"): Response(status=503, headers={"Retry-After": retry_after})}
    )
    clock = FakeClock(NOW)
    p = pollers([feed("busy", "http://busy.example/feed")], clock=clock, proxy=site.proxy)
    (outcome,) = p.poller.poll_due()
    assert outcome.status == "soft"
    state = p.state.get("busy", "http://busy.example/feed")
    assert state.next_poll - clock.now().timestamp() == pytest.approx(delay, rel=0.051)
    clock.advance(delay * 1.051)
    assert p.poller.due() == p.poller.feeds


def test_bad_state_is_repaired_on_load_and_status_still_prints(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    names = ["far", "infinite", "text", "huge_success", "fine"]
    config = write_config(
        {
            "data_dir": str(data),
            "sources": {"feeds": [{"name": n, "url": f"http://{n}.example/feed"} for n in names]},
        }
    )
    state = FeedStateStore(data / "state" / "feeds.db")
    state.close()
    rows = [
        ("far", 1e20, None),
        ("infinite", float("inf"), None),
        ("text", "soon", None),
        ("huge_success", 0.0, 1e300),
        ("fine", NOW.timestamp() + 60, NOW.timestamp()),
    ]
    with sqlite3.connect(data / "state" / "feeds.db") as db:
        db.executemany(
            "INSERT INTO feeds (name, url, next_poll, last_success) VALUES (?, ?, ?, ?)",
            [(n, f"http://{n}.example/feed", when, ok) for n, when, ok in rows],
        )
    db.close()

    status = invoke("--config", str(config), "status", "--format", "json")
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    feeds = {f["name"]: f for f in report["feeds"]}
    assert feeds["far"]["next_poll"] is None  # unknown: due now
    assert feeds["huge_success"]["last_success"] is None
    assert feeds["fine"]["next_poll"] == datetime.fromtimestamp(
        NOW.timestamp() + 60, UTC
    ).isoformat(timespec="seconds")
    table = invoke("--config", str(config), "status")
    assert table.exit_code == 0, table.output

    repaired = FeedStateStore(data / "state" / "feeds.db")
    try:
        poller = FeedPoller(
            [feed(n, f"http://{n}.example/feed") for n in names],
            bus=LocalLogBus(tmp_path / "bus.db"),
            topic="mentions.raw",
            state=repaired,
            fetcher=Fetcher(HttpSettings()),
            robots=None,
            settings=FeedPollerSettings(),
            http=HttpSettings(),
            clock=FakeClock(NOW),
        )
        assert [f.name for f in poller.due()] == ["far", "infinite", "text", "huge_success"]
        text = repaired.get("text", "http://text.example/feed")
        assert (text.next_poll, text.last_success) == (0.0, None)
        assert repaired.get("huge_success", "http://huge_success.example/feed").last_success is None
    finally:
        poller.fetcher.close()
        poller.bus.close()
        repaired.close()


# -- an unreachable host is not "disallowed by robots.txt" for a day ------------------------------


def test_an_unreachable_host_is_a_soft_failure_and_poll_once_exits_1(
    web: Callable[[Routes], Web], write_config: Callable[..., Path], tmp_path: Path
) -> None:
    site = web(
        {
            (LOCAL, "/feed.xml"): Response.text(rss(("http://a.example/1", "Acme")), RSS),
            (LOCAL, "/down/robots.txt"): Response(status=503),
        }
    )
    down = f"http://{LOCAL}:{refused_port()}/feed.xml"
    feeds = [
        {"name": "good", "url": f"{site.url}/feed.xml"},
        {"name": "down", "url": down, "interval": "10m"},
    ]
    config = write_config({"data_dir": str(tmp_path / "data"), "sources": {"feeds": feeds}})
    result = invoke("--config", str(config), "poll", "--once")
    assert result.exit_code == 1, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[2:]}
    assert " ok " in lines["good"]
    assert " soft " in lines["down"]
    assert "host unreachable: robots.txt not fetched" in lines["down"]
    assert "disallowed" not in result.stdout

    state = FeedStateStore(tmp_path / "data" / "state" / "feeds.db")
    try:
        down_state = {s.name: s for s in state.all()}["down"]
    finally:
        state.close()
    assert (down_state.last_status, down_state.failures) == ("soft", 1)
    assert down_state.next_poll - time.time() < 25 * 60  # twice its interval, not a day

    good_only = write_config(
        {"data_dir": str(tmp_path / "data2"), "sources": {"feeds": feeds[:1]}}, "good.yaml"
    )
    assert invoke("--config", str(good_only), "poll", "--once").exit_code == 0


def test_a_robots_txt_answering_503_is_a_soft_failure_too(
    web: Callable[[Routes], Web], pollers: Pollers
) -> None:
    site = web(
        {
            ("busy.example", "/robots.txt"): Response(status=503),
            ("busy.example", "/feed"): Response.text(rss(("http://busy.example/1", "x")), RSS),
        }
    )
    p = pollers([feed("busy", "http://busy.example/feed")], proxy=site.proxy)
    (outcome,) = p.poller.poll_due()
    assert (outcome.status, outcome.error) == (
        "soft",
        "robots.txt answered HTTP 503; nothing is fetched until it answers",
    )
    assert ("busy.example", "/feed") not in site.requests  # RFC 9309: nothing fetched
    assert p.counts()["robots_unavailable"] == 1


# -- crawls and extract say what happened --------------------------------------------------------


def test_a_crawl_of_a_decompression_bomb_or_a_redirect_loop_reports_it(
    web: Callable[[Routes], Web], tmp_path: Path
) -> None:
    bomb = gzip.compress(b"<html><body>" + b" " * (20 * 1024 * 1024) + b"</body></html>")
    chain = {
        ("chain.example", f"/{i}"): Response(status=302, headers={"Location": f"/{i + 1}"})
        for i in range(10)
    }
    site = web(
        {
            ("bomb.example", "/"): Response(
                bomb, "text/html", headers={"Content-Encoding": "gzip"}
            ),
            ("loop.example", "/"): Response(status=302, headers={"Location": "/a"}),
            ("loop.example", "/a"): Response(status=301, headers={"Location": "/"}),
            **chain,
        }
    )
    harness = CrawlHarness(tmp_path, site, http={"max_bytes": 1024 * 1024})
    try:
        harness.crawl(
            BlogSite(name="bomb", start_urls=["http://bomb.example/"]),
            BlogSite(name="loop", start_urls=["http://loop.example/"]),
            BlogSite(name="chain", start_urls=["http://chain.example/0"]),
        )
    finally:
        harness.close()
    outcomes = {o.site: o for o in harness.outcomes}
    for name, kind in [("bomb", "too_large"), ("loop", "redirect_loop"), ("chain", "too_many")]:
        outcome = outcomes[name]
        assert outcome.status != "ok", name
        assert outcome.errors == 1, name
        assert (outcome.note or "").startswith(kind), outcome.note
    assert "DOWNLOAD_MAXSIZE" in (outcomes["bomb"].note or "")
    assert "http://loop.example/ -> http://loop.example/a -> http://loop.example/" in (
        outcomes["loop"].note or ""
    )
    print(f"bomb: {len(bomb)} bytes on the wire, 20 MiB once decompressed, limit 1 MiB")


# -- end to end: veille run keeps publishing the good feeds --------------------------------------


@pytest.mark.slow
def test_veille_run_keeps_storing_the_good_feeds_beside_hostile_ones(
    web: Callable[[Routes], Web], write_config: Callable[..., Path], tmp_path: Path
) -> None:
    good = {"good1": Growing("good1"), "good2": Growing("good2")}
    hostile = web(
        {
            (LOCAL, "/good1.xml"): good["good1"],
            (LOCAL, "/deep.json"): Response(DEEP_JSON, JSON_FEED),
            (LOCAL, "/date.json"): Response(overflowing_date_feed(), JSON_FEED),
            (LOCAL, "/busy.xml"): Response(
                status=503, headers={"Retry-After": "99999999999999999999"}
            ),
        }
    )
    other = web({(LOCAL, "/good2.xml"): good["good2"]})
    data = tmp_path / "data"
    with DripServer(interval=0.2) as drip:
        feeds = {
            "good1": f"{hostile.url}/good1.xml",
            "good2": f"{other.url}/good2.xml",
            "deep": f"{hostile.url}/deep.json",
            "date": f"{hostile.url}/date.json",
            "busy": f"{hostile.url}/busy.xml",
            "drip": f"{drip.url}/feed.xml",
        }
        config = write_config(
            {
                "data_dir": str(data),
                "brands": [{"name": "Acme", "query": "acme"}],
                "sources": {
                    "feeds": [
                        {"name": name, "url": url, "interval": "1s"} for name, url in feeds.items()
                    ],
                    "http": {"total_timeout": "3s", "read_timeout": "3s", "host_delay": "0s"},
                },
                "runner": {"poll_timeout": "0.2s"},
            }
        )
        log_path = tmp_path / "run.log"
        with log_path.open("ab") as log:
            run = subprocess.Popen(
                [sys.executable, "-m", "veille.cli", "--config", str(config), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for((data / "veille.db").exists, 60, "the store")
                store = SqliteStore(data / "veille.db")
                try:
                    wait_for(lambda: store.count(Filters()) > 0, 120, "a first stored mention")
                    counts = [store.count(Filters())]
                    for _ in range(5):  # 25 s: the drip is cut 3 times at least meanwhile
                        time.sleep(5)
                        counts.append(store.count(Filters()))
                finally:
                    store.close()
                stopped_at = time.monotonic()
                run.send_signal(signal.SIGTERM)
                code = run.wait(90)  # STOP_WITHIN_S is 60
                stopped_in = time.monotonic() - stopped_at
            finally:
                if run.poll() is None:
                    os.kill(run.pid, signal.SIGKILL)
                    run.wait(10)
    output = log_path.read_text(errors="replace")
    assert code == 0, output[-3000:]
    assert all(b > a for a, b in pairwise(counts)), (counts, output[-3000:])
    assert "stopping every worker" not in output

    status = invoke("--config", str(config), "status", "--format", "json")
    assert status.exit_code == 0, status.output
    report = {f["name"]: f for f in json.loads(status.stdout)["feeds"]}
    assert report["good1"]["status"] == report["good2"]["status"] == "ok"
    assert report["date"]["status"] == "ok"
    assert (report["deep"]["status"], report["drip"]["status"], report["busy"]["status"]) == (
        "hard",
        "soft",
        "soft",
    )
    assert "nested deeper than 64 levels" in report["deep"]["last_error"]
    assert "total_timeout" in report["drip"]["last_error"]
    assert "HTTP 503" in report["busy"]["last_error"]
    busy_next = datetime.fromisoformat(report["busy"]["next_poll"])
    assert busy_next - datetime.now(UTC) <= timedelta(hours=6)  # max_backoff
    gaps = [b - a for times in (g.times for g in good.values()) for a, b in pairwise(times)]
    polls = sum(len(g.times) for g in good.values())
    print(
        f"veille run: stored {counts} at 5 s steps; good feeds polled {polls} times, longest "
        f"gap {max(gaps):.2f} s (interval 1 s); {len(drip.started)} drips cut; exited "
        f"{stopped_in:.2f} s after SIGTERM"
    )
