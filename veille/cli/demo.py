"""``veille demo``: a sample web on localhost and the whole pipeline on it, embedded."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
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
