"""The commands that read what Veille holds: ``search``, ``status`` and ``dead``, and
``dead replay``, which republishes dead letters.

The commands that only read run inside `ingest.access.read_only`: they open every file
read-only and set nothing up, so they never wait for the workers' write locks.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal, cast

import click

from ingest.access import read_only
from veille.cli.common import State, filter_options, parse_time, pass_state
from veille.output import format_option, mention_json, mention_rows, note, table

if TYPE_CHECKING:
    from ingest.store import Filters


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
    with read_only(), state.app() as app:
        if everything:
            for lines in app.store.export(filters):
                click.echo("\n".join(lines))
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
    note(
        f"\n{shown} of {result.total} mentions"
        + (f"; next page: --page {page + 1}" if first + size <= result.total else "")
    )


@click.command()
@format_option(csv=False)
@pass_state
def status(state: State, fmt: str) -> None:
    """What Veille holds and how its stages are doing."""
    from veille.status import collect_status, render_status

    with read_only(), state.app() as app:
        collected = collect_status(app)
    click.echo(
        json.dumps(collected, indent=2, default=str) if fmt == "json" else render_status(collected)
    )


@click.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@format_option()
@click.pass_context
def dead(ctx: click.Context, limit: int, fmt: str) -> None:
    """The latest dead letters: records that failed for good, with the reason.

    ``veille dead replay`` republishes them to the topic they came from."""
    if ctx.invoked_subcommand is not None:
        return
    from ingest.deadletter import read_dead

    state = ctx.find_object(State)
    assert state is not None
    with read_only(), state.app() as app:
        # Read a little more than asked: replay marks share the topic with the letters.
        found = read_dead(app.bus.peek(app.topics.dead, limit * 2))
    letters = [letter for _, letter in found.letters][-limit:]
    if fmt == "json":
        for letter in letters:
            click.echo(letter.model_dump_json())
        return
    rows = [[d.failed, d.stage, d.mention_id or f"{d.topic}@{d.offset}", d.reason] for d in letters]
    click.echo(table(rows, ["failed", "stage", "record", "reason"]))


@dead.command("replay")
@click.option("--reason", help="Only letters whose reason contains this text (case ignored).")
@click.option("--since", help="Only letters that failed from this date or duration ago: 24h, 7d.")
@click.option("--stage", help="Only letters of this stage: enrich, index, alerts.")
@click.option("--dry-run", is_flag=True, help="Show what would be replayed; publish nothing.")
@pass_state
def replay(
    state: State, reason: str | None, since: str | None, stage: str | None, dry_run: bool
) -> None:
    """Republish dead letters to the topic they came from, each once: a letter replayed before
    is skipped (the replay marks it on the dead-letter topic). Run it once the cause is fixed."""
    from ingest.deadletter import replay as replay_letters

    with state.app() as app:
        done = replay_letters(
            app.bus,
            app.topics.dead,
            reason=reason,
            since=parse_time(since),
            stage=stage,
            dry_run=dry_run,
            clock=app.clock,
        )
    if dry_run and done.chosen:
        rows = [
            [d.failed, d.stage, d.mention_id or f"{d.topic}@{d.offset}", d.reason]
            for d in done.chosen
        ]
        click.echo(table(rows, ["failed", "stage", "record", "reason"]))
    topics = ", ".join(f"{topic} {n}" for topic, n in sorted(done.by_topic.items()))
    click.echo(
        f"{'would replay' if dry_run else 'replayed'} {len(done.chosen)} dead letter(s)"
        + (f" ({topics})" if topics else "")
        + (f"; {done.replayed_before} replayed before, skipped" if done.replayed_before else "")
    )
