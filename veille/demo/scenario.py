"""``veille demo``: the whole pipeline, embedded, on the sample web, in one command.

It writes a configuration into the demo directory, serves the sample web on localhost, polls
every feed, crawls the forum and the blogs (their comments too), runs enrich, index and alerts
until their topics are empty, and prints what it collected, by source, brand and sentiment, with
sample searches and the negative timeline of the brand in trouble, then the alert that fired, as
the local webhook that received it saw it. The directory stays, so
``veille --config veille-demo/veille.yaml search ...`` works afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from alerts.notification import Notification, from_json
from alerts.render import message, plain
from alerts.settings import AlertSettings
from ingest.errors import ConfigError
from ingest.query import parse
from ingest.store import Filters
from veille.app import App
from veille.demo.content import BURST_MINUTES
from veille.demo.enrichment import DEMO_AUDIENCES, show_influence_and_duplicates
from veille.demo.receiver import Receiver, webhook_check
from veille.demo.sites import DEMO_BRANDS, DEMO_FEEDS, DEMO_SITES, demo_routes
from veille.demo.web import Web
from veille.logs import setup_logging
from veille.output import mention_rows, table
from veille.settings import load_settings, secret_values

MARKER = ".veille-demo"
SAMPLE_SEARCHES = [
    ('"service client" NEAR/5 lumen', "French phrase near the brand (accents folded)"),
    ("velora lang:en", "English posts about Velora"),
    ("lumen rating:<=2", "reviews of Lumen rated 2 out of 5 or less"),
]

Echo = Callable[[str], None]


def prepare(data_dir: Path) -> None:
    """Empty ``data_dir`` for a fresh run, refusing to touch a directory the demo did not make."""
    if data_dir.exists() and any(data_dir.iterdir()):
        if not (data_dir / MARKER).exists():
            raise ConfigError(
                f"{data_dir} is not empty and was not made by the demo; choose another --data"
            )
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).write_text("made by veille demo; emptied at each run\n")


def signing_key(data_dir: Path) -> tuple[str, Path]:
    """A fresh key for the demo's webhook, in a file beside the configuration (the way secrets
    should be passed: the configuration only names the file)."""
    key = secrets.token_hex(16)
    path = data_dir / "webhook.secret"
    path.write_text(key + "\n")
    path.chmod(0o600)
    return key, path


def alerts_config(key: Path, receiver: str) -> dict[str, object]:
    """One rule on every brand's negative mentions, paging a local webhook, in French."""
    # A webhook's URL is a secret too: the configuration names its file, like the key's.
    url = key.with_name("webhook.url")
    url.write_text(f"{receiver}/veille\n")
    url.chmod(0o600)
    return {
        "language": "fr",
        "channels": {
            "demo-webhook": {
                "type": "webhook",
                "url": "${file:" + str(url) + "}",
                "secret": "${file:" + str(key) + "}",
            }
        },
        "rules": [
            {
                "name": "bad-buzz",
                "brand": "*",
                "metric": "negative",
                "severity": "critical",
                "channels": ["demo-webhook"],
            }
        ],
    }


def write_config(data_dir: Path, proxy: str, alerts: dict[str, object] | None = None) -> Path:
    config: dict[str, object] = {
        "data_dir": "data",
        "log_level": "WARNING",
        "brands": DEMO_BRANDS,
        "sources": {
            "feeds": DEMO_FEEDS,
            **DEMO_SITES,
            "http": {"proxy": proxy, "host_delay": "0s"},
        },
        "enrich": {"influence": {"audiences": DEMO_AUDIENCES}},
        "runner": {"poll_timeout": "0.2s"},
    }
    if alerts:
        config["alerts"] = alerts
    path = data_dir / "veille.yaml"
    header = (
        "# Written by `veille demo`. The proxy below was the demo's sample web, gone now that\n"
        "# the demo has ended: use this file to explore what the demo stored (search, status).\n"
    )
    path.write_text(header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return path


def demo_now(bucket: timedelta) -> datetime:
    """The demo's "now": the real time, moved back by less than a bucket, so that the outage
    always begins 30 seconds into an alert bucket.

    The demo replays the past, and a replay can only fire when a bucket ends: without this, an
    outage that happened to begin in a bucket's last seconds would be seen one bucket later, and
    the demo's answer would depend on the time of day it runs.
    """
    real = datetime.now(UTC)
    step = int(bucket.total_seconds())
    into = int((real - timedelta(minutes=BURST_MINUTES)).timestamp()) % step
    return real - timedelta(seconds=(into - 30) % step)


def run_demo(data_dir: Path, *, echo: Echo = print) -> int:
    data_dir = data_dir.resolve()
    prepare(data_dir)
    now = demo_now(AlertSettings().bucket)
    key, key_file = signing_key(data_dir)
    with Web(demo_routes(now)) as web, Receiver(webhook_check(key)) as receiver:
        config = write_config(data_dir, web.proxy, alerts_config(key_file, receiver.url))
        settings = load_settings(config)
        setup_logging(settings.log_level, secret_values(settings))
        app = App(settings)
        # Models load while the sources are read: spaCy's French model alone takes seconds.
        models = threading.Thread(target=app.warm_up, name="warm-up", daemon=True)
        models.start()
        try:
            echo(
                f"Veille demo: a sample web of {len(DEMO_FEEDS)} feeds on {web.proxy}, "
                f"data in {data_dir}\n"
            )
            echo("1. Polling the feeds")
            outcomes = app.feed_poller().poll_due(force=True)
            rows = [[o.feed, o.status, o.new, o.error or ""] for o in outcomes]
            echo(table(rows, ["feed", "status", "new entries", "note"]))
            echo(
                "\n1b. Crawling the forum, the blogs and a review site (Scrapy spiders: posts, "
                "comments, reviews with their ratings)"
            )
            crawled = app.crawl_runner().crawl()
            rows = [[o.site, o.status, o.pages, o.new, o.errors, o.note or ""] for o in crawled]
            echo(table(rows, ["site", "status", "pages", "new mentions", "errors", "note"]))
            echo(
                "\n2. Enriching (language, brands, sentiment), indexing, and watching for bad buzz"
            )
            models.join()
            app.drain()
            counts = app.counters.read()
            enrich, index = counts.get("enrich", {}), counts.get("index", {})
            echo(
                f"   enrich: {enrich.get('consumed', 0)} read, {enrich.get('duplicates', 0)} seen "
                f"twice (one page, two sources), {enrich.get('emitted', 0)} about a brand, "
                f"{enrich.get('dropped:no_brand', 0)} about no brand (dropped), "
                f"{enrich.get('dead', 0)} dead-lettered"
            )
            echo(f"   index:  {index.get('consumed', 0)} stored")
            echo(f"   alerts: {counts.get('alerts', {}).get('consumed', 0)} counted")
            summarize(app, echo, now)
            show_alerts(app, receiver, echo, now)
            write_reports(app, echo, now)
        finally:
            app.close()
    echo(
        f"\nExplore: veille --config {data_dir / 'veille.yaml'} search 'panne' --sentiment negative"
    )
    return 0


def summarize(app: App, echo: Echo, now: datetime) -> None:
    store = app.store
    everything = Filters()
    echo(f"\n3. What Veille collected: {store.count(everything)} mentions")
    rows = [[t.key, t.count] for t in store.top(everything, "source", 20)]
    echo(table(rows, ["source", "mentions"]))
    echo("")
    rows = []
    for brand in app.settings.brands:
        by_sentiment = {t.key: t.count for t in store.top(Filters(brand=brand.name), "sentiment")}
        entities = store.top(Filters(brand=brand.name), "entity", 4)
        rows.append(
            [
                brand.name,
                *(by_sentiment.get(s, 0) for s in ("negative", "neutral", "positive")),
                sum(by_sentiment.values()),
                ", ".join(f"{t.key} {t.count}" for t in entities),
            ]
        )
    echo(table(rows, ["brand", "negative", "neutral", "positive", "total", "top entities"]))

    for query, why in SAMPLE_SEARCHES:
        page = store.search(Filters(query=parse(query)), size=5)
        echo(f"\n4. veille search '{query}'   ({why}): {page.total} found")
        mentions, headers = mention_rows(page.hits)
        echo(table(mentions, headers, width=120))

    troubled = app.settings.brands[-1].name
    since = now - timedelta(hours=12)
    buckets = store.timeline(
        Filters(brand=troubled, sentiment="negative", since=since), timedelta(hours=1)
    )
    echo(
        f"\n5. Negative mentions of {troubled}, per hour, last 12 hours "
        f"(the outage began {BURST_MINUTES} minutes ago)"
    )
    for bucket in buckets:
        echo(f"   {bucket.start:%H:%M} UTC  {'#' * bucket.total} {bucket.total}")
    brands = [b.name for b in app.settings.brands]
    show_influence_and_duplicates(store, brands, app.settings.enrich.influence.percentile, echo)


def write_reports(app: App, echo: Echo, now: datetime) -> None:
    """The weekly report of the demo's brands over the last seven days, as PDF and XLSX."""
    from index.report import Period
    from veille.reports.files import write_report
    from veille.reports.weekly import build_report

    zone = app.settings.zone
    today = now.astimezone(zone).date()
    report = build_report(app, [], Period.of_days(today - timedelta(days=6), 7, zone))
    echo("\n9. The weekly report of both brands, in French (veille report weekly):")
    for fmt in ("pdf", "xlsx"):
        echo(f"   {write_report(report, fmt, app.settings.data_dir / 'reports')}")


def show_alerts(app: App, receiver: Receiver, echo: Echo, now: datetime) -> None:
    burst = now - timedelta(minutes=BURST_MINUTES)
    step = app.settings.alerts.bucket
    echo(
        f"\n8. Alerts: rule 'bad-buzz' on negative mentions, {step.total_seconds() / 60:.0f}-minute"
        f" buckets; what the local webhook {receiver.url}/veille received (signature verified)"
    )
    if not receiver.received:
        echo("   no alert fired")
        return
    for request in receiver.received:
        notification = request.json
        why = notification["why"]
        detected = datetime.fromisoformat(why["detected"])
        echo(
            f"\n   {notification['event']} of alert {notification['alert']['id']}: the outage began"
            f" {burst:%H:%M:%S}, the detector fired at the end of the bucket {detected:%H:%M}"
            f" ({(detected - burst).total_seconds() / 60:.1f} min later, within one bucket:"
            f" {detected - burst <= step})"
        )
        for line in plain(message(from_json(Notification, notification))).splitlines():
            echo(f"   | {line}")
