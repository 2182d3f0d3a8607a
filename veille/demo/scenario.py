"""``veille demo``: the whole pipeline, embedded, on the sample web, in one command.

It writes a configuration into the demo directory, serves the sample web on localhost with a
local Mastodon instance and a local Bluesky Jetstream beside it (`veille.demo.social`), polls
every feed, crawls the forum and the blogs (their comments too), reads the social networks,
runs enrich, index and alerts until their topics are empty, and prints what it collected, by
source, brand and sentiment, with sample searches, the negative timeline of the brand in
trouble and where its bad buzz started, then the alert that fired, as the local webhook that
received it saw it. The directory stays, so
``veille --config veille-demo/veille.yaml search ...`` works afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import threading
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from alerts.notification import Notification, from_json
from alerts.render import message, plain
from alerts.settings import AlertSettings
from ingest.errors import ConfigError
from ingest.query import parse
from ingest.record import Mention
from ingest.store import Filters, MentionStore
from veille.app import App
from veille.demo.content import BURST_MINUTES
from veille.demo.enrichment import DEMO_AUDIENCES, show_influence_and_duplicates
from veille.demo.jetstream import FakeJetstream
from veille.demo.receiver import Receiver, webhook_check
from veille.demo.sites import DEMO_BRANDS, DEMO_FEEDS, DEMO_SITES, demo_routes
from veille.demo.social import (
    DEMO_NETWORKS,
    HASHTAGS,
    MASTODON_HOST,
    TOOTS,
    mastodon,
    publish_bluesky,
    tunnels,
)
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
            "networks": DEMO_NETWORKS,
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
    with ExitStack() as stack:
        # The social networks are served beside the sample web and reached through its proxy.
        instance = stack.enter_context(mastodon(now))
        web = stack.enter_context(Web(demo_routes(now), services={MASTODON_HOST: instance}))
        receiver = stack.enter_context(Receiver(webhook_check(key)))
        config = write_config(data_dir, web.proxy, alerts_config(key_file, receiver.url))
        settings = load_settings(config)
        setup_logging(settings.log_level, secret_values(settings))
        # Started once logging is set up: its server says at INFO that it listens.
        jetstream = FakeJetstream().start()
        stack.callback(jetstream.stop)
        web.tunnels.update(tunnels(jetstream))
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
            read_networks(app, jetstream, echo, now)
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


def read_networks(app: App, jetstream: FakeJetstream, echo: Echo, now: datetime) -> None:
    """Poll the Mastodon and Bluesky connectors once, the Jetstream sending its posts as the
    Bluesky connector listens (it replays a few seconds before it connects)."""
    echo(
        f"\n1c. Reading the social networks: {' and '.join('#' + t for t in HASHTAGS)} on the local"
        f" Mastodon ({len(TOOTS)} statuses),\n    every post of the local Bluesky Jetstream"
    )
    sent = publish_bluesky(jetstream, now)
    poller = app.network_poller()
    try:
        outcomes = poller.poll_due(force=True)
    finally:
        poller.close()
    notes = {"bluesky": f"{sent} posts on the stream, kept those that name a brand"}
    rows = [[o.connector, o.status, o.new, o.error or notes.get(o.connector, "")] for o in outcomes]
    echo(table(rows, ["connector", "status", "new mentions", "note"]))


def summarize(app: App, echo: Echo, now: datetime) -> None:
    store = app.store
    everything = Filters()
    echo(f"\n3. What Veille collected: {store.count(everything)} mentions")
    sources: Counter[tuple[str, str]] = Counter()
    for batch in store.scan(everything):
        sources.update((m.source.name, m.source.kind.value) for m in batch)
    rows = [[name, kind, count] for (name, kind), count in sources.most_common()]
    echo(table(rows, ["source", "kind", "mentions"]))
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
    where_it_started(store, troubled, now, echo)
    brands = [b.name for b in app.settings.brands]
    show_influence_and_duplicates(store, brands, app.settings.enrich.influence.percentile, echo)


_PLACES = {"social": "the social networks", "forum": "the forum", "news": "the news"}


def where_it_started(store: MentionStore, brand: str, now: datetime, echo: Echo) -> None:
    """The first negative mentions of ``brand`` since the outage began, from the store, and
    when each kind of source first carried it."""
    start = now - timedelta(minutes=BURST_MINUTES)
    filters = Filters(brand=brand, sentiment="negative", since=start - timedelta(minutes=1))
    found = sorted((m for batch in store.scan(filters) for m in batch), key=lambda m: m.when)
    if not found:
        return
    echo(f"\n   Where it started: the first negative mentions of {brand}")
    rows = [
        [
            f"{m.when:%H:%M:%S}",
            m.source.kind.value,
            m.source.name,
            m.author.display if m.author else "",
            m.author.followers if m.author and m.author.followers is not None else "",
            m.text,
        ]
        for m in found[:8]
    ]
    echo(table(rows, ["UTC", "kind", "source", "author", "followers", "text"], width=120))
    first: dict[str, Mention] = {}
    for m in found:
        first.setdefault(m.source.kind.value, m)
    origin = found[0]
    platforms = [m for m in {m.source.name: m for m in reversed(found)}.values()]
    social = sorted((m for m in platforms if m.source.kind == "social"), key=lambda m: m.when)

    def later(m: Mention) -> str:
        minutes = (m.when - origin.when).total_seconds() / 60
        return f"{minutes:.0f} min later" if minutes >= 1 else f"{minutes * 60:.0f} s later"

    began = f"at {origin.when:%H:%M:%S} UTC"
    if social:
        began += (
            " ("
            + ", then ".join(
                f"{m.source.name}" if m is social[0] else f"{m.source.name} {later(m)}"
                for m in social
            )
            + ")"
        )
    followed = [
        f"{_PLACES.get(kind, 'the ' + kind + 's')} {later(m)}"
        for kind, m in first.items()
        if kind != origin.source.kind
    ]
    echo(
        f"   The bad buzz started on {_PLACES.get(origin.source.kind, origin.source.kind)} "
        f"{began}; it reached {', '.join(followed) or 'nowhere else yet'}."
    )


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
