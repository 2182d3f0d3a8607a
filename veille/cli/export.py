"""``veille export``: every mention a query and filters select, with its enrichment, to a file
(CSV, XLSX, JSON lines or Parquet) or to standard output (CSV, JSON lines), streamed from the
store in constant memory by `index.export`; a progress bar on a terminal only."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from index.export import FORMATS
from ingest.access import read_only
from veille.cli.common import State, filter_options, pass_state

if TYPE_CHECKING:
    from index.export import Format, Progress
    from ingest.store import Filters, MentionStore


@contextmanager
def _progress(store: MentionStore, filters: Filters) -> Iterator[Progress | None]:
    """A progress bar on stderr when it is a terminal (its length from a count), else none."""
    if not sys.stderr.isatty():
        yield None
        return
    total = store.count(filters)
    with click.progressbar(length=total, label="exporting", file=sys.stderr) as bar:
        yield bar.update


@click.command()
@filter_options()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    help="Default: from the --out file's extension, else csv.",
)
@click.option(
    "--out",
    metavar="FILE",
    help="Where to write; '-' or none: standard output (csv and jsonl only).",
)
@pass_state
def export(state: State, filters: Filters, fmt: str | None, out: str | None) -> None:
    """Export every mention that matches, with its enrichment, one row each, oldest first.

    CSV is for French Excel (UTF-8 with a BOM, ';' between cells, decimal commas); XLSX has
    typed dates and numbers; JSON lines hold the stored mentions (UTC dates); Parquet has a
    fixed schema. Dates are in the configured timezone, which the header names."""
    from index.export import STREAMABLE, write_file, write_stream
    from veille.output import stdout_is_file

    path = None if out is None or out == "-" else Path(out)
    suffix = path.suffix.lower().lstrip(".") if path else ""
    chosen = cast("Format", fmt or (suffix if suffix in FORMATS else "csv"))
    if path is None and chosen not in STREAMABLE:
        raise click.UsageError(f"--format {chosen} needs --out FILE: it cannot go to a stream")
    zone = state.settings.zone
    with read_only(), state.app() as app, _progress(app.store, filters) as progress:
        batches = app.store.scan(filters)
        if path is None:
            written = write_stream(
                batches,
                chosen,
                sys.stdout.buffer,
                zone=zone,
                bom=chosen == "csv" and stdout_is_file(),
                progress=progress,
            )
        else:
            written = write_file(batches, chosen, path, zone=zone, progress=progress)
    where = str(path) if path else "standard output"
    click.echo(f"{written} mentions written to {where} ({chosen})", err=True)
