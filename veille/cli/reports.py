"""``veille report``: a selection's timeline and tops on the terminal; ``veille report weekly``:
the agency's report as PDF, XLSX, HTML, Markdown or JSON.

Both read their figures through `index.report`, so the numbers agree to the unit; both count days
from midnight and weeks from Monday in the configured ``timezone``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ingest.access import read_only
from veille.cli.common import State, filter_options, parse_interval, parse_time, pass_state
from veille.output import format_option, note, table

if TYPE_CHECKING:
    from ingest.store import Distinct, Filters
    from veille.reports.schedule import ReportsWorker


class _ReportGroup(click.Group):
    """``veille report [QUERY] [filters]`` runs the group itself; ``veille report weekly ...``
    its subcommand. A plain group would take ``weekly`` for the query."""

    allow_interspersed_args = True

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            super().parse_args(ctx, [])
            ctx._protected_args, ctx.args = args[:1], args[1:]
            return ctx.args
        return super().parse_args(ctx, args)


@click.group(cls=_ReportGroup, invoke_without_command=True)
@filter_options(since="7d")
@click.option("--interval", default="1d", show_default=True, help="Timeline bucket: 1h, 1d, 1w...")
@click.option("--top", "limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--collapse-copies", is_flag=True, help="Count syndicated copies and retweets once.")
@format_option()
@click.pass_context
def report(
    ctx: click.Context,
    filters: Filters,
    interval: str,
    limit: int,
    collapse_copies: bool,
    fmt: str,
) -> None:
    """Mentions over time by sentiment, top sites and top authors (default: the last 7 days).
    Days start at midnight and weeks on Monday in the configured timezone.

    ``veille report weekly`` writes the agency's weekly report."""
    if ctx.invoked_subcommand is not None:
        return
    from index.report import zoned_figures

    state = ctx.find_object(State)
    assert state is not None
    distinct: Distinct = "cluster" if collapse_copies else None
    step = parse_interval(interval)
    zone = state.settings.zone
    with read_only(), state.app() as app:
        figures = zoned_figures(
            app.store,
            filters,
            interval=step,
            zone=zone,
            facets=("site", "author"),
            limit=limit,
            distinct=distinct,
        )
    buckets, tops = figures.timeline, figures.tops
    labels = ("negative", "neutral", "positive")
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "total": figures.total,
                    "timeline": [
                        {
                            "start": b.start.astimezone(zone).isoformat(),
                            **b.counts,
                            "total": b.total,
                        }
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
    rows = [
        [b.start.astimezone(zone), *(b.counts.get(label, 0) for label in labels), b.total]
        for b in buckets
    ]
    click.echo(table(rows, [f"from ({zone.key})", *labels, "total"]))
    for facet, terms in tops.items():
        note("")
        click.echo(table([[t.key, t.count] for t in terms], [facet, "mentions"]))


@report.command()
@click.option(
    "--brand", "brands", multiple=True, help="A brand (repeat for several; default: all)."
)
@click.option("--week", help="An ISO week: 2026-W48 (default: the last complete week).")
@click.option("--since", help="Instead of --week: from this date (2026-11-01) or duration ago.")
@click.option("--until", help="With --since: up to this date, excluded (default: now).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pdf", "xlsx", "html", "md", "json"]),
    default="pdf",
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(dir_okay=True, path_type=Path),
    help="A file, or a directory to write it in (default: DATA_DIR/reports/); - prints md, "
    "html and json.",
)
@click.option("--lang", type=click.Choice(["fr", "en"]), help="Default: agency.language (fr).")
@click.option("--top", "limit", type=click.IntRange(1, 50), default=10, show_default=True)
@pass_state
def weekly(
    state: State,
    brands: tuple[str, ...],
    week: str | None,
    since: str | None,
    until: str | None,
    fmt: str,
    out: Path | None,
    lang: str | None,
    limit: int,
) -> None:
    """The weekly report of one brand or several: headline figures against the week before,
    share of voice against competitors, charts, top authors, sites and stories, the week's
    incidents and data gaps."""
    from veille.reports.files import render, write_atomically, write_report
    from veille.reports.weekly import build_report

    settings = state.settings
    to_stdout = str(out) == "-"
    if to_stdout and fmt in ("pdf", "xlsx"):  # said before any work
        raise click.UsageError(f"--out -: a {fmt} report needs a file")
    period = _period(settings.zone, week, since, until)
    for name in brands:
        settings.brand(name)  # an unknown brand is a usage error before anything is read
    with read_only(), state.app() as app:
        built = build_report(app, brands, period, lang=lang, limit=limit)
    if to_stdout:
        click.echo(render(built, fmt).decode(), nl=False)
    elif out is None or out.is_dir():
        click.echo(str(write_report(built, fmt, out or settings.data_dir / "reports")))
    else:
        write_atomically(out, render(built, fmt))
        click.echo(str(out))


def _period(zone: Any, week: str | None, since: str | None, until: str | None) -> Any:
    from datetime import UTC, datetime

    from index.report import Period

    if week and (since or until):
        raise click.UsageError("give either --week or --since/--until, not both")
    try:
        if week:
            return Period.iso_week(week, zone)
        if since:
            start = parse_time(since)
            end = parse_time(until) or datetime.now(UTC)
            assert start is not None
            return Period.between(start, end, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if until:
        raise click.UsageError("--until needs --since")
    return Period.last_week(datetime.now(UTC), zone)


@click.group()
def reports() -> None:
    """The scheduled reports of the ``reports:`` settings: list, show, send, run."""


@contextmanager
def _worker(state: State) -> Iterator[ReportsWorker]:
    """The reports worker of these settings, for one command."""
    with state.app() as app:
        worker = app.reports_worker()
        try:
            yield worker
        finally:
            worker.close()


def _schedule(state: State, name: str) -> Any:
    for schedule in state.settings.reports:
        if schedule.name == name:
            return schedule
    names = ", ".join(r.name for r in state.settings.reports) or "none configured"
    raise click.BadParameter(f"no report named '{name}' (reports: {names})", param_hint="NAME")


@reports.command("list")
@format_option()
@pass_state
def list_reports(state: State, fmt: str) -> None:
    """Each scheduled report: when it is due, its last period and where it went."""
    rows: list[dict[str, Any]] = []
    with _worker(state) as worker:
        for s in state.settings.reports:
            last = worker.db.produced(s.name)[:1]
            deliveries = worker.db.deliveries(s.name, last[0].period) if last else []
            rows.append(
                {
                    "name": s.name,
                    "period": s.period,
                    "at": s.at,
                    "brands": s.brands or [b.name for b in state.settings.brands],
                    "formats": s.formats,
                    "next": worker.next_due(s).isoformat(),
                    "last": last[0].period if last else None,
                    "deliveries": {d.target: d.status for d in deliveries},
                }
            )
    if fmt == "json":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        click.echo("no scheduled report: add a reports: section to the settings (see README)")
        return
    click.echo(
        table(
            [
                [
                    r["name"],
                    f"{r['period']} {r['at']}",
                    ", ".join(r["brands"]),
                    ", ".join(r["formats"]),
                    r["next"][:16].replace("T", " "),
                    r["last"] or "",
                    ", ".join(f"{t} {s}" for t, s in r["deliveries"].items()),
                ]
                for r in rows
            ],
            ["name", "when", "brands", "formats", "next due (local)", "last", "deliveries"],
        )
    )


@reports.command()
@click.argument("name")
@click.option("--period", help="2026-W48, 2026-11-30 or 2026-11 (default: the latest produced).")
@pass_state
def show(state: State, name: str, period: str | None) -> None:
    """The files of one report's period, and each delivery's outcome."""
    schedule = _schedule(state, name)
    with _worker(state) as worker:
        label = _named_period(schedule, period, worker).label if period else None
        produced = worker.db.produced(schedule.name, label)[:1]
        if not produced:
            raise click.ClickException(
                f"{name}: nothing produced{f' for {label}' if label else ' yet'}"
            )
        made = produced[0]
        deliveries = worker.db.deliveries(made.name, made.period)
        zone = worker.zone(schedule)
    click.echo(f"{made.name} {made.period}: {made.subject}")
    click.echo(made.summary)
    for path in made.files:
        click.echo(f"  {path}")
    if deliveries:
        click.echo("")
        click.echo(
            table(
                [
                    [d.target, d.status, d.attempts, d.at and d.at.astimezone(zone), d.error or ""]
                    for d in deliveries
                ],
                ["to", "status", "attempts", f"at ({zone.key})", "error"],
            )
        )


def _named_period(schedule: Any, period: str, worker: ReportsWorker) -> Any:
    """The period ``--period`` names, or a usage error that shows its form."""
    from veille.reports.schedule import parse_period

    try:
        return parse_period(schedule, period, worker.zone(schedule))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None


@reports.command()
@click.argument("name")
@click.option("--period", help="2026-W48, 2026-11-30 or 2026-11 (default: the latest due).")
@pass_state
def send(state: State, name: str, period: str | None) -> None:
    """Produce one report's period again and deliver it to every target, now."""
    from veille.reports.schedule import due_periods

    schedule = _schedule(state, name)
    with _worker(state) as worker:
        chosen = (
            _named_period(schedule, period, worker)
            if period
            else due_periods(schedule, worker.clock.now(), worker.zone(schedule), None)[0]
        )
        produced = worker.produce(schedule, chosen)
        worker.deliver(schedule, produced)
        deliveries = worker.db.deliveries(produced.name, produced.period)
    for path in produced.files:
        click.echo(str(path))
    for d in deliveries:
        click.echo(f"{d.target}: {d.status}" + (f" ({d.error})" if d.error else ""))
    if any(d.status != "sent" for d in deliveries):
        raise SystemExit(1)


@reports.command("run")
@click.option("--once", is_flag=True, help="Produce and deliver what is due, then exit.")
@pass_state
def run_reports(state: State, once: bool) -> None:
    """The reports worker alone (scale-out): produces each scheduled report once per period
    and delivers it (``veille run`` runs it too)."""
    from veille.workers import stop_on_signals

    with state.app() as app, stop_on_signals() as stop:
        app.reports_worker().run(stop, until_idle=once)
