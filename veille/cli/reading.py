"""The commands that read what Veille holds: ``search``, ``report``, ``status`` and ``dead``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal, cast

import click

from veille.cli.common import State, filter_options, parse_interval, pass_state
from veille.output import format_option, mention_json, mention_rows, table

if TYPE_CHECKING:
    from ingest.store import Distinct, Filters


@click.command()
@filter_options()
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
    state: State, filters: Filters, sort: str, page: int, size: int, fmt: str, everything: bool
) -> None:
    """Search stored mentions with the query language, e.g. '"service client" NEAR/5 acme'."""
    with state.app() as app:
        if everything:
            for batch in app.store.scan(filters):
                click.echo("\n".join(mention_json(m) for m in batch))
            return
        order = cast(Literal["date", "relevance"], sort)
        result = app.store.search(filters, sort=order, page=page, size=size)
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


@click.command()
@filter_options(since="7d")
@click.option("--interval", default="1d", show_default=True, help="Timeline bucket: 1h, 1d, 1w...")
@click.option("--top", "limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--collapse-copies", is_flag=True, help="Count syndicated copies and retweets once.")
@format_option()
@pass_state
def report(
    state: State, filters: Filters, interval: str, limit: int, collapse_copies: bool, fmt: str
) -> None:
    """Mentions over time by sentiment, top sites and top authors (default: the last 7 days)."""
    distinct: Distinct = "cluster" if collapse_copies else None
    step = parse_interval(interval)
    with state.app() as app:
        buckets = app.store.timeline(filters, step, distinct=distinct)
        tops = {
            facet: app.store.top(filters, facet, limit, distinct=distinct)
            for facet in ("site", "author")
        }
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


@click.command()
@format_option()
@pass_state
def status(state: State, fmt: str) -> None:
    """What Veille holds and how its stages are doing."""
    from veille.status import collect_status, render_status

    with state.app() as app:
        collected = collect_status(app)
    click.echo(
        json.dumps(collected, indent=2, default=str) if fmt == "json" else render_status(collected)
    )


@click.command()
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@format_option()
@pass_state
def dead(state: State, limit: int, fmt: str) -> None:
    """The latest dead letters: records that failed for good, with the reason."""
    from ingest.deadletter import DeadLetter

    with state.app() as app:
        letters = [
            DeadLetter.model_validate_json(m.value) for m in app.bus.peek(app.topics.dead, limit)
        ]
    if fmt == "json":
        for letter in letters:
            click.echo(letter.model_dump_json())
        return
    rows = [[d.failed, d.stage, d.mention_id or f"{d.topic}@{d.offset}", d.reason] for d in letters]
    click.echo(table(rows, ["failed", "stage", "record", "reason"]))
