"""``veille report``: a selection's timeline and tops on the terminal; ``veille report weekly``:
the agency's report as PDF, XLSX, HTML, Markdown or JSON.

Both read their figures through `index.report`, so the numbers agree to the unit; both count days
from midnight and weeks from Monday in the configured ``timezone``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ingest.access import read_only
from veille.cli.common import State, filter_options, parse_interval, parse_time, pass_state
from veille.output import format_option, table

if TYPE_CHECKING:
    from ingest.store import Distinct, Filters


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
        click.echo("")
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
    from veille.reports.files import file_name, render, write_atomically
    from veille.reports.weekly import build_report

    settings = state.settings
    period = _period(settings.zone, week, since, until)
    for name in brands:
        settings.brand(name)  # an unknown brand is a usage error before anything is read
    with read_only(), state.app() as app:
        built = build_report(app, brands, period, lang=lang, limit=limit)
    data = render(built, fmt)
    if str(out) == "-":
        if fmt in ("pdf", "xlsx"):
            raise click.UsageError(f"--out -: a {fmt} report needs a file")
        click.echo(data.decode(), nl=False)
        return
    target = out or settings.data_dir / "reports"
    if target.is_dir() or out is None:
        target = target / file_name(built, fmt)
    write_atomically(target, data)
    click.echo(f"{target}")


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
