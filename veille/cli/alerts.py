"""``veille alerts ...``: run the alerts worker, manage alerts, test channels, backtest rules.

veille alerts run [--once]                 the worker: count, evaluate, notify
veille alerts list [--status open]         the alert history
veille alerts show ID                      one alert: its why and its notifications
veille alerts ack ID [--by NAME]           someone is on it (stops repeats; PagerDuty ack)
veille alerts resolve ID                   close it by hand (sends the resolution notice)
veille alerts test --rule R                send a test notification on R's channels
veille alerts backtest --series F.csv      replay a timestamp,value series through a rule
veille alerts backtest --from-store --brand B --since 30d
veille alerts rebuild [--since 35d]        recount the buckets from the store
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ingest.access import read_only
from ingest.errors import ConfigError
from veille.cli.common import State, parse_interval, parse_time, pass_state
from veille.output import format_option, table
from veille.workers import stop_on_signals

if TYPE_CHECKING:
    from alerts.history import AlertRecord
    from alerts.settings import Rule
    from veille.app import App


def _rule(state: State, name: str | None) -> Rule:
    from alerts.settings import Rule

    rules = state.settings.alerts.rules
    if name is None:
        return Rule(name="default")
    for rule in rules:
        if rule.name == name:
            return rule
    raise ConfigError(
        f"no alert rule named '{name}' (rules: {', '.join(r.name for r in rules) or 'none'})"
    )


def _find(app: App, ident: str) -> AlertRecord:
    record = app.alerts_engine.history.get(ident)
    if record is None:
        raise click.ClickException(
            f"no alert '{ident}' (or the prefix is ambiguous); see 'veille alerts list'"
        )
    return record


@click.group()
def alerts() -> None:
    """Bad-buzz alerts: the worker, the history, channel tests and backtests."""


@alerts.command("run")
@click.option("--once", is_flag=True, help="Count what is waiting, evaluate, notify, then exit.")
@pass_state
def run(state: State, once: bool) -> None:
    """Run the alerts worker: mentions.enriched -> buckets -> rules -> notifications."""
    with state.app() as app:
        worker = app.alerts_worker()
        with stop_on_signals() as stop:
            worker.run(stop, until_idle=once)
        counts = app.counters.read("alerts").get("alerts", {})
        open_alerts = app.alerts_engine.history.select(status="open")
    click.echo(
        "alerts: "
        + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
        + f"; {len(open_alerts)} open alert(s)",
        err=True,
    )


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


@alerts.command("list")
@click.option(
    "--status",
    type=click.Choice(["open", "acknowledged", "resolved", "all"]),
    default="all",
    show_default=True,
)
@click.option("--brand")
@click.option("--rule")
@click.option("--since", help="Opened since this date or duration ago: 2026-11-01, 7d.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@format_option()
@pass_state
def list_alerts(
    state: State,
    status: str,
    brand: str | None,
    rule: str | None,
    since: str | None,
    limit: int,
    fmt: str,
) -> None:
    """The alert history, newest first."""
    from alerts.notification import to_json

    with read_only(), state.app() as app:
        records = app.alerts_engine.history.select(
            status=None if status == "all" else status,
            brand=brand,
            rule=rule,
            since=parse_time(since),
            limit=limit,
        )
    if fmt == "json":
        for r in records:
            click.echo(
                json.dumps(
                    to_json(r.notification("trigger").alert) | {"why": to_json(r.why)},
                    ensure_ascii=False,
                )
            )
        return
    rows = [
        [r.id, _when(r.opened), r.status, r.severity, r.rule, r.brand, r.why.headline]
        for r in records
    ]
    click.echo(table(rows, ["id", "opened", "status", "severity", "rule", "brand", "why"]))


@alerts.command("show")
@click.argument("ident")
@format_option(choices=("text", "json"))
@pass_state
def show(state: State, ident: str, fmt: str) -> None:
    """One alert: what it says, and where its notifications went."""
    from alerts.notification import to_json
    from alerts.render import message, plain
    from veille.logs import redact
    from veille.settings import secret_values

    with read_only(), state.app() as app:
        record = _find(app, ident)
        deliveries = app.alerts_engine.history.deliveries(record.id)
    secrets = secret_values(state.settings)
    errors = {d.id: redact(d.last_error, secrets) for d in deliveries if d.last_error}
    if fmt == "json":
        data = to_json(record.notification("trigger"))
        data["deliveries"] = [
            {
                "channel": d.channel,
                "event": d.event,
                "status": d.status,
                "attempts": d.attempts,
                "sent": d.sent.isoformat() if d.sent else None,
                "last_error": errors.get(d.id),
            }
            for d in deliveries
        ]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    msg = message(record.notification("trigger"))
    click.echo(
        f"{record.id}  {record.status}  opened {_when(record.opened)} UTC"
        + (f", resolved {_when(record.resolved)}" if record.resolved else "")
        + (f", acknowledged by {record.acked_by}" if record.acked_by else "")
    )
    click.echo(plain(msg))
    if deliveries:
        rows = [
            [d.channel, d.event, d.status, d.attempts, _when(d.sent), errors.get(d.id, "")]
            for d in deliveries
        ]
        click.echo(table(rows, ["channel", "event", "status", "attempts", "sent", "last error"]))


_OUTCOMES = {
    "pending": "the alerts worker retries it",
    "unknown": "it may have arrived; not sent again, to page no one twice",
    "failed": "gave up",
}


def _deliver(app: App, alert: str, event: str) -> None:
    """Send the notifications just queued, and say which channels did not take them yet."""
    dispatcher = app.dispatcher()
    try:
        dispatcher.run_once(wait=True)
    finally:
        dispatcher.close()
    for d in app.alerts_engine.history.deliveries(alert):
        if d.event == event and d.status != "sent":
            click.echo(
                f"{d.channel}: not delivered yet ({d.last_error or 'queued'}); "
                + _OUTCOMES.get(d.status, d.status),
                err=True,
            )


@alerts.command("ack")
@click.argument("ident")
@click.option("--by", "who", help="Who is on it (default: your user name).")
@pass_state
def ack(state: State, ident: str, who: str | None) -> None:
    """Acknowledge an alert: no more repeats, and PagerDuty hears it."""
    with state.app() as app:
        record = _find(app, ident)
        done = app.alerts_engine.acknowledge(record.id, who or getpass.getuser())
        if done is None:
            raise click.ClickException(
                f"alert {record.id} is {record.status}; only an open alert can be acknowledged"
            )
        click.echo(f"acknowledged {done.id} ({done.rule} on {done.brand})")
        _deliver(app, done.id, "acknowledge")


@alerts.command("resolve")
@click.argument("ident")
@pass_state
def resolve(state: State, ident: str) -> None:
    """Resolve an alert by hand; its channels get the resolution notice."""
    with state.app() as app:
        record = _find(app, ident)
        done = app.alerts_engine.resolve(record.id)
        if done is None:
            raise click.ClickException(f"alert {record.id} is already resolved")
        click.echo(f"resolved {done.id} ({done.rule} on {done.brand})")
        _deliver(app, done.id, "resolve")


@alerts.command("test")
@click.option("--rule", "rule_name", required=True, help="Send on this rule's channels.")
@pass_state
def test(state: State, rule_name: str) -> None:
    """Send a test notification on every channel of a rule, and say how each went."""
    from alerts.channels.base import DeliveryError
    from alerts.notification import Notification, Why
    from alerts.phrases import say
    from alerts.why import authors_of, search_link

    rule = _rule(state, rule_name)
    if not rule.channels:
        raise click.ClickException(f"rule '{rule.name}' has no channels")
    with state.app() as app:
        notifiers = app.notifiers()
        brand = (
            rule.brand
            if rule.brand != "*"
            else (state.settings.brands[0].name if state.settings.brands else "*")
        )
        now = datetime.now(UTC)
        recent = app.alerts_engine.buckets.negatives(brand, now - timedelta(days=1))[
            : state.settings.alerts.top_mentions
        ]
        why = Why.of(
            rule,
            brand,
            say(state.settings.alerts.language, "test", rule=rule.name, brand=brand),
            now,
            now,
            mentions=recent,
            authors=authors_of(recent, 5),
            search=search_link(brand, now - timedelta(days=1), state.settings.alerts.kibana),
            lang=state.settings.alerts.language,
        )
        notification = Notification.test(why, now)
        failed = 0
        for name in rule.channels:
            notifier = notifiers[name]
            try:
                notifier.send(notification)
                click.echo(f"{name}: sent")
            except DeliveryError as exc:
                failed += 1
                click.echo(f"{name}: FAILED: {notifier.scrub(str(exc))}")
    sys.exit(1 if failed else 0)


@alerts.command("backtest")
@click.option(
    "--series",
    "series_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A CSV file with columns timestamp,value (one row per bucket, or finer).",
)
@click.option("--from-store", is_flag=True, help="Replay the brand's stored mentions instead.")
@click.option("--brand", help="With --from-store: the brand (default: the rule's).")
@click.option(
    "--since",
    default="30d",
    show_default=True,
    help="With --from-store: from this date or duration ago.",
)
@click.option("--until", help="With --from-store: up to this date (default: now).")
@click.option(
    "--rule",
    "rule_name",
    help="The rule to replay (default: the default detector on negative mentions).",
)
@click.option("--bucket", help="Bucket length (default: the configured one, 5m).")
@format_option("json: one object per alert.")
@pass_state
def backtest(
    state: State,
    series_file: Path | None,
    from_store: bool,
    brand: str | None,
    since: str,
    until: str | None,
    rule_name: str | None,
    bucket: str | None,
    fmt: str,
) -> None:
    """Replay a series through a rule's detector, confirmation and cooldown, and list the
    alerts it would have fired."""
    if bool(series_file) == from_store:
        raise click.UsageError("give either --series FILE.csv or --from-store")
    from alerts.backtest import read_series, rebucket, replay, store_series
    from alerts.rules import detector_for, tracker_for

    rule = _rule(state, rule_name)
    step = parse_interval(bucket, "--bucket") if bucket else state.settings.alerts.bucket
    points: list[tuple[datetime, Any]]
    if series_file is not None:
        if rule.metric == "negative_share":
            raise click.UsageError("a share rule needs (negative, total) pairs: use --from-store")
        points = list(rebucket(read_series(series_file), step))
        label = str(series_file)
    else:
        target = brand or (rule.brand if rule.brand != "*" else None)
        if not target:
            raise click.UsageError("--from-store needs --brand (the rule applies to every brand)")
        name = state.settings.brand(target).name
        start = parse_time(since) or datetime.now(UTC) - timedelta(days=30)
        end = parse_time(until) or datetime.now(UTC)
        with state.app() as app:
            points = store_series(app.store, rule, name, start, end, step)
        label = f"{name} ({rule.metric}) from the store"
    fired = replay(
        points, detector_for(rule, step), tracker_for(rule, step), severity=rule.severity
    )
    if fmt == "json":
        for a in fired:
            click.echo(json.dumps({**a.to_json(), "rule": rule.name}))
        return
    rows = [
        [
            a.to_json()["timestamp"],
            f"{a.score:.1f}",
            a.severity,
            f"{a.window_observed:g}",
            f"{a.window_expected:.2f}",
            a.to_json()["since"],
        ]
        for a in fired
    ]
    click.echo(table(rows, ["timestamp", "score", "severity", "observed", "expected", "since"]))
    click.echo(f"\n{len(fired)} alert(s) over {len(points)} buckets of {label}", err=True)


@alerts.command("rebuild")
@click.option(
    "--since", default="35d", show_default=True, help="Recount from this date or duration ago."
)
@click.option("--brand", help="Only this brand.")
@pass_state
def rebuild(state: State, since: str, brand: str | None) -> None:
    """Recount the alert buckets from the store (after a lost state file, or a new rule set).
    Stop the alerts worker first."""
    start = parse_time(since)
    assert start is not None
    names = [state.settings.brand(brand).name] if brand else [b.name for b in state.settings.brands]
    with state.app() as app:
        counted = app.alerts_engine.buckets.rebuild(app.store, names, start, datetime.now(UTC))
        with app.alerts_db.transaction() as conn:
            conn.execute("UPDATE watches SET detector = '{}'")  # relearn from the new buckets
    for name, n in counted.items():
        click.echo(f"{name}: {n} mentions recounted")
