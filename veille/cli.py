"""The ``veille`` command line.

Every command loads the settings first (``--config``, ``VEILLE_CONFIG`` or ./veille.yaml) and
stops at once, with the file, key and expected value, if they are wrong. Long-running commands
stop cleanly on Ctrl-C or SIGTERM: the batch in flight finishes or is replayed at the next start.

Exit codes: 0 success, 1 failure at run time, 2 bad configuration or usage, 130 interrupted.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from ingest.errors import ConfigError, QuerySyntaxError, VeilleError
from ingest.query import parse
from ingest.settings import parse_duration
from ingest.store import Distinct, Filters
from veille.app import App, Worker
from veille.cli_alerts import alerts
from veille.logs import redact, setup_logging
from veille.output import format_option, mention_json, mention_rows, table
from veille.settings import Settings, load_settings, secret_values

log = logging.getLogger("veille")

F = TypeVar("F", bound=Callable[..., Any])


class State:
    def __init__(self, config: str | None, log_level: str | None) -> None:
        self.config = config
        self.log_level = log_level
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
            setup_logging(self.log_level or self._settings.log_level, secret_values(self._settings))
        return self._settings

    def app(self) -> App:
        return App(self.settings)


pass_state = click.make_pass_decorator(State)


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class VeilleGroup(click.Group):
    """Turns Veille's errors into one clear message and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            _fail(str(exc), 2)
        except QuerySyntaxError as exc:
            _fail(f"invalid query: {exc}", 2)
        except VeilleError as exc:
            _fail(str(exc), 1)
        return None


@click.group(cls=VeilleGroup)
@click.option(
    "--config",
    "-c",
    metavar="PATH",
    help="Settings file (default: $VEILLE_CONFIG or ./veille.yaml).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"]),
    help="Override the settings' log level.",
)
@click.version_option(package_name="veille")
@click.pass_context
def cli(ctx: click.Context, config: str | None, log_level: str | None) -> None:
    """Veille: watch what the web says about your brands."""
    setup_logging(log_level or "INFO")
    ctx.obj = State(config, log_level)


# -- running ------------------------------------------------------------------------------------


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if stop.is_set():
            os._exit(130)
        log.info("stopping (signal %d); press Ctrl-C again to quit at once", signum)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def run_workers(workers: list[Worker], stop: threading.Event) -> int:
    """Run each worker in a thread until ``stop``; if one fails, stop all and return 1."""
    failed: list[str] = []

    def guard(worker: Worker) -> None:
        try:
            worker.target(stop)
        except Exception:
            log.exception("%s stopped on an error; stopping every worker", worker.name)
            failed.append(worker.name)
            stop.set()

    threads = [threading.Thread(target=guard, args=(w,), name=w.name, daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    log.info("running %s; Ctrl-C to stop", ", ".join(w.name for w in workers))
    while not stop.is_set():
        stop.wait(0.5)
    for thread in threads:
        thread.join(timeout=60)
        if thread.is_alive():
            log.warning("%s did not stop within 60 s", thread.name)
    return 1 if failed else 0


@cli.command()
@pass_state
def run(state: State) -> None:
    """Run every stage continuously (pollers on their schedule) until interrupted."""
    app = state.app()
    try:
        with _stop_on_signals() as stop:
            code = run_workers(app.workers(), stop)
    finally:
        app.close()
    sys.exit(code)


def _run_stage(state: State, name: str, once: bool) -> None:
    app = state.app()
    try:
        runner = app.runner(name)
        with _stop_on_signals() as stop:
            runner.run(stop, until_idle=once)
        counts = app.counters.read(name).get(name, {})
        click.echo(f"{name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())), err=True)
    finally:
        app.close()


@cli.command()
@click.option("--once", is_flag=True, help="Process what is waiting, then exit.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes, one consumer-group member each (default: enrich.workers).",
)
@pass_state
def enrich(state: State, once: bool, workers: int | None) -> None:
    """Run the enrich worker: mentions.raw -> mentions.enriched."""
    workers = workers or state.settings.enrich.workers
    if workers > 1:
        from veille.cli_enrich import run_enrich_processes

        sys.exit(run_enrich_processes(state, workers, once))
    _run_stage(state, "enrich", once)


@cli.group()
def index() -> None:
    """The index worker and the store's set-up."""


@index.command("run")
@click.option("--once", is_flag=True, help="Process what is waiting, then exit.")
@pass_state
def index_run(state: State, once: bool) -> None:
    """Run the index worker: mentions.enriched -> the store."""
    _run_stage(state, "index", once)


@index.command("setup")
@pass_state
def index_setup(state: State) -> None:
    """Create or migrate the store (idempotent: safe at every deploy)."""
    app = state.app()
    try:
        app.store.setup()
        click.echo(f"store ready: {redact(state.settings.store_url)}")
    finally:
        app.close()


@cli.command()
@click.option("--once", is_flag=True, help="Poll every feed once, now, then exit.")
@pass_state
def poll(state: State, once: bool) -> None:
    """Run the feed pollers: feeds -> mentions.raw."""
    app = state.app()
    try:
        poller = app.feed_poller()
        if once:
            outcomes = poller.poll_due(force=True)
            rows = [[o.feed, o.status, o.new, o.error or o.warning or ""] for o in outcomes]
            click.echo(table(rows, ["feed", "status", "new", "note"]))
            return
        with _stop_on_signals() as stop:
            poller.run(stop)
    finally:
        app.close()


# -- reading ------------------------------------------------------------------------------------


def parse_time(value: str | None) -> datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or a duration back from now: 24h, 7d."""
    if not value:
        return None
    try:
        delta = parse_duration(value)
    except ValueError:
        delta = None
    if isinstance(delta, timedelta):
        return datetime.now(UTC) - delta
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is neither a date (2026-11-01, 2026-11-01T08:00) nor a duration (24h, 7d)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _filters(
    query: str | None,
    brand: str | None,
    sentiment: str | None,
    source: str | None,
    lang: str | None,
    since: str | None,
    until: str | None,
    entity: str | None = None,
) -> Filters:
    return Filters(
        query=parse(query) if query else None,
        brand=brand,
        sentiment=sentiment,  # type: ignore[arg-type]
        source=source,
        lang=lang,
        since=parse_time(since),
        until=parse_time(until),
        entity=entity,
    )


def filter_options(func: F) -> F:
    for option in reversed(
        [
            click.option("--brand", help="Only this brand's mentions."),
            click.option("--sentiment", type=click.Choice(["negative", "neutral", "positive"])),
            click.option("--source", help="Source name or kind (blog, forum, news, social...)."),
            click.option("--lang", help="Language code: fr, en..."),
            click.option("--since", help="From this date or duration ago: 2026-11-01, 24h, 7d."),
            click.option("--until", help="Up to this date or duration ago."),
            click.option("--entity", help="Naming this entity: a brand, product, person, place."),
        ]
    ):
        func = option(func)
    return func


@cli.command()
@click.argument("query", required=False)
@filter_options
@click.option("--sort", type=click.Choice(["date", "relevance"]), default="date", show_default=True)
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, 1000), default=20, show_default=True)
@format_option("json: one mention per line, with its enrichment.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Export every match as JSON lines, oldest first, however many (--sort, --page, --size "
    "and --format are ignored).",
)
@pass_state
def search(
    state: State,
    query: str | None,
    brand: str | None,
    sentiment: str | None,
    source: str | None,
    lang: str | None,
    since: str | None,
    until: str | None,
    entity: str | None,
    sort: str,
    page: int,
    size: int,
    fmt: str,
    everything: bool,
) -> None:
    """Search stored mentions with the query language, e.g. '"service client" NEAR/5 acme'."""
    filters = _filters(query, brand, sentiment, source, lang, since, until, entity)
    app = state.app()
    if everything:
        try:
            for batch in app.store.scan(filters):
                click.echo("\n".join(mention_json(m) for m in batch))
        finally:
            app.close()
        return
    try:
        result = app.store.search(filters, sort=sort, page=page, size=size)  # type: ignore[arg-type]
    finally:
        app.close()
    if fmt == "json":
        for mention in result.hits:
            click.echo(mention_json(mention))
        return
    rows, headers = mention_rows(result.hits)
    click.echo(table(rows, headers))
    first = (page - 1) * size + 1
    shown = f"{first}-{first + len(result.hits) - 1}" if result.hits else "none"
    click.echo(
        f"\n{shown} of {result.total} mentions"
        + (f"; next page: --page {page + 1}" if first + size <= result.total else "")
    )


@cli.command()
@click.argument("query", required=False)
@filter_options
@click.option("--interval", default="1d", show_default=True, help="Timeline bucket: 1h, 1d, 1w...")
@click.option("--top", "limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--collapse-copies", is_flag=True, help="Count syndicated copies and retweets once.")
@format_option()
@pass_state
def report(
    state: State,
    query: str | None,
    brand: str | None,
    sentiment: str | None,
    source: str | None,
    lang: str | None,
    since: str | None,
    until: str | None,
    entity: str | None,
    interval: str,
    limit: int,
    collapse_copies: bool,
    fmt: str,
) -> None:
    """Mentions over time by sentiment, top sites and top authors (default: the last 7 days)."""
    filters = _filters(query, brand, sentiment, source, lang, since or "7d", until, entity)
    distinct: Distinct = "cluster" if collapse_copies else None
    step = parse_duration(interval)
    if not isinstance(step, timedelta) or step <= timedelta(0):
        raise click.BadParameter(f"'{interval}' is not a duration such as 1h or 1d")
    app = state.app()
    try:
        buckets = app.store.timeline(filters, step, distinct=distinct)
        tops = {
            facet: app.store.top(filters, facet, limit, distinct=distinct)
            for facet in ("site", "author")
        }
    finally:
        app.close()
    labels = ("negative", "neutral", "positive")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "timeline": [
                        {"start": b.start.isoformat(), **b.counts, "total": b.total}
                        for b in buckets
                    ],
                    **{
                        f"top_{facet}s": [{"key": t.key, "count": t.count} for t in terms]
                        for facet, terms in tops.items()
                    },
                },
                ensure_ascii=False,
            )
        )
        return
    rows = [[b.start, *(b.counts.get(label, 0) for label in labels), b.total] for b in buckets]
    click.echo(table(rows, ["from", *labels, "total"]))
    for facet, terms in tops.items():
        click.echo("")
        click.echo(table([[t.key, t.count] for t in terms], [facet, "mentions"]))


@cli.command()
@format_option()
@pass_state
def status(state: State, fmt: str) -> None:
    """What Veille holds and how its stages are doing."""
    from veille.status import collect_status, render_status

    app = state.app()
    try:
        report = collect_status(app)
    finally:
        app.close()
    click.echo(
        json.dumps(report, indent=2, default=str) if fmt == "json" else render_status(report)
    )


@cli.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@format_option()
@pass_state
def dead(state: State, limit: int, fmt: str) -> None:
    """The latest dead letters: records that failed for good, with the reason."""
    from ingest.deadletter import DeadLetter

    app = state.app()
    try:
        letters = [
            DeadLetter.model_validate_json(m.value) for m in app.bus.peek(app.topics.dead, limit)
        ]
    finally:
        app.close()
    if fmt == "json":
        for letter in letters:
            click.echo(letter.model_dump_json())
        return
    rows = [[d.failed, d.stage, d.mention_id or f"{d.topic}@{d.offset}", d.reason] for d in letters]
    click.echo(table(rows, ["failed", "stage", "record", "reason"]))


@cli.command("config")
@pass_state
def show_config(state: State) -> None:
    """Check the settings and print them as Veille understood them (secrets masked)."""
    settings = state.settings
    data = settings.model_dump(mode="json")
    data["bus"]["url"] = settings.bus_url
    data["store"]["url"] = settings.store_url
    click.echo(redact(json.dumps(data, indent=2, ensure_ascii=False), secret_values(settings)))


@cli.command()
@click.option("--brand", help="Only this brand.")
@pass_state
def feeds(state: State, brand: str | None) -> None:
    """The feeds Veille polls, and search-feed URLs built from each brand's query."""
    from crawlers.feeds.google import google_alerts_url, google_news_rss_url

    app = state.app()
    rows = [[f.name, f.kind.value, f.interval, redact(f.url)] for f in app.feed_sources()]
    click.echo(table(rows, ["feed", "kind", "every", "url"], flex=3))
    for b in state.settings.brands:
        if brand and b.name.lower() != brand.lower():
            continue
        click.echo(f"\n{b.name}")
        for lang, country in (("fr", "FR"), ("en", "US")):
            click.echo(
                f"  Google News RSS ({lang}): "
                f"{google_news_rss_url(b.tree, lang=lang, country=country)}"
            )
        click.echo(
            f"  Create a Google Alert (then 'Deliver to: RSS feed'): {google_alerts_url(b.tree)}"
        )


@cli.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("veille-demo"),
    show_default=True,
    help="Where the demo keeps its configuration and data (emptied first).",
)
def demo(data_dir: Path) -> None:
    """Serve a sample web on localhost and run the whole pipeline on it, embedded."""
    from veille.demo.scenario import run_demo

    sys.exit(run_demo(data_dir, echo=click.echo))


from veille.cli_crawl import crawl, extract  # noqa: E402

cli.add_command(crawl)
cli.add_command(extract)
cli.add_command(alerts)

from veille.cli_kibana import kibana  # noqa: E402

cli.add_command(kibana)

from veille.cli_enrich import authors, sentiment  # noqa: E402

cli.add_command(sentiment)
cli.add_command(authors)


def main() -> None:
    cli(prog_name="veille")


if __name__ == "__main__":  # pragma: no cover
    main()
