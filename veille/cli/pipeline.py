"""The commands that run the pipeline: ``veille run`` (every stage in one process), and one
command per stage for scale-out workers: ``poll``, ``enrich``, ``index run`` (and ``index
setup``). ``crawl`` and ``alerts run`` live with their families (`veille.cli.crawl`,
`veille.cli.alerts`)."""

from __future__ import annotations

import sys

import click

from veille.cli.common import State, pass_state
from veille.output import table
from veille.workers import enrich_process_count, run_processes, run_workers, stop_on_signals


@click.command()
@pass_state
def run(state: State) -> None:
    """Run every stage continuously (pollers on their schedule) until interrupted."""
    with state.app() as app, stop_on_signals() as stop:
        code = run_workers(app.workers(), stop)
    sys.exit(code)


def _run_stage(state: State, name: str, once: bool, *, beside: tuple[str, ...] = ()) -> None:
    """Run stage ``name`` (and the stages ``beside`` it, each in its own thread) until stopped,
    or, with ``once``, each until its input is drained."""
    from veille.app import Worker

    names = (name, *beside)
    with state.app() as app:
        with stop_on_signals() as stop:
            if once:
                for each in names:
                    app.runner(each).run(stop, until_idle=True)
            elif run_workers([Worker(n, app.runner(n).run) for n in names], stop):
                sys.exit(1)
        for each in names:
            counts = app.counters.read(each).get(each, {})
            line = ", ".join(f"{k}={v}" for k, v in sorted(counts.items()))
            click.echo(f"{each}: {line}", err=True)


@click.command()
@click.option("--once", is_flag=True, help="Process what is waiting, then exit.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    help="Worker processes, one consumer-group member each (default: enrich.workers).",
)
@pass_state
def enrich(state: State, once: bool, workers: int | None) -> None:
    """Run the enrich worker: mentions.raw -> mentions.enriched."""
    count, why = (workers, "--workers") if workers else enrich_process_count(state.settings)
    if count > 1:
        from veille.app import enrich_processes

        processes = enrich_processes(state.settings, count, state.log_level)
        sys.exit(run_processes(processes, once, why))
    _run_stage(state, "enrich", once)


@click.group()
def index() -> None:
    """The index worker and the store's set-up."""


@index.command("run")
@click.option("--once", is_flag=True, help="Process what is waiting, then exit.")
@pass_state
def index_run(state: State, once: bool) -> None:
    """Run the index worker: mentions.enriched -> the store, and the deletions stage:
    mentions.deleted -> mentions removed from the store."""
    _run_stage(state, "index", once, beside=("deletions",))


@index.command("setup")
@pass_state
def index_setup(state: State) -> None:
    """Create or migrate the store (idempotent: safe at every deploy)."""
    from veille.logs import redact

    with state.app() as app:
        app.store.setup()
    click.echo(f"store ready: {redact(state.settings.store_url)}")


_POLLED = ("ok", "not_modified")


@click.command()
@click.option("--once", is_flag=True, help="Poll every feed now, then exit (1 if one failed).")
@pass_state
def poll(state: State, once: bool) -> None:
    """Run the feed pollers: feeds -> mentions.raw."""
    with state.app() as app:
        poller = app.feed_poller()
        if once:
            outcomes = poller.poll_due(force=True)
            rows = [[o.feed, o.status, o.new, o.error or o.warning or ""] for o in outcomes]
            click.echo(table(rows, ["feed", "status", "new", "note"]))
            if any(o.status not in _POLLED for o in outcomes):
                sys.exit(1)
            return
        with stop_on_signals() as stop:
            poller.run(stop)
