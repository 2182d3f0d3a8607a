"""The ``veille`` command line.

Every command loads the settings first (``--config``, ``VEILLE_CONFIG`` or ./veille.yaml) and
stops at once, with the file, key and expected value, if they are wrong. Long-running commands
stop cleanly on Ctrl-C or SIGTERM: the batch in flight finishes or is replayed at the next start.

Exit codes: 0 success, 1 failure at run time, 2 bad configuration or usage, 130 interrupted.
A failure is one line that says what went wrong and what to do, never a traceback: Veille's own
errors name the file or server at fault; a SQLite error that escaped them is still one line.

One module per command family (`COMMANDS` says which); shared pieces are in
`veille.cli.common`. A command's module is imported only when that command runs (or when
``--help`` lists them all), and the pipeline's libraries only by the commands that use them, so
``veille --version`` and ``veille --help`` start at once.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from ingest.errors import ConfigError, QuerySyntaxError, VeilleError
from veille.cli.common import State
from veille.logs import mask, setup_logging

COMMANDS = {
    "run": "veille.cli.pipeline:run",
    "poll": "veille.cli.pipeline:poll",
    "crawl": "veille.cli.crawl:crawl",
    "networks": "veille.cli.networks:networks",
    "enrich": "veille.cli.pipeline:enrich",
    "index": "veille.cli.pipeline:index",
    "alerts": "veille.cli.alerts:alerts",
    "search": "veille.cli.reading:search",
    "report": "veille.cli.reports:report",
    "reports": "veille.cli.reports:reports",
    "export": "veille.cli.export:export",
    "status": "veille.cli.reading:status",
    "dead": "veille.cli.reading:dead",
    "authors": "veille.cli.authors:authors",
    "sentiment": "veille.cli.sentiment:sentiment",
    "extract": "veille.cli.crawl:extract",
    "feeds": "veille.cli.config:feeds",
    "sources": "veille.cli.networks:sources",
    "config": "veille.cli.config:show_config",
    "kibana": "veille.cli.kibana:kibana",
    "demo": "veille.cli.demo:demo",
}
"""Each command's name and where it is defined (``module:attribute``)."""


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {mask(message)}", err=True)
    sys.exit(code)


class VeilleGroup(click.Group):
    """Finds its commands in `COMMANDS`, importing each only when it is needed, and turns
    Veille's errors into one clear message and an exit code, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            _fail(str(exc), 2)
        except QuerySyntaxError as exc:
            _fail(f"invalid query: {exc}", 2)
        except VeilleError as exc:
            _fail(str(exc), 1)
        except Exception as exc:
            import sqlite3  # only now: the commands that need no file never load it

            if not isinstance(exc, sqlite3.Error):
                raise
            _fail(
                f"{exc} ({type(exc).__name__}): a file under data_dir is damaged or is not "
                f"Veille's; restore it from a backup, or move it aside",
                1,
            )
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


def main() -> None:
    cli(prog_name="veille")
