"""Rendering for the terminal: JSON lines for programs, aligned tables for people, and the same
tables as CSV for spreadsheets.

A command that prints tables takes ``--format csv`` with no code of its own: `format_option`
offers ``csv`` beside ``table`` and remembers the choice, `table` then writes CSV in the
exports' dialect (`index.export.csv_cell`: ``;``, decimal commas), and `note` sends the lines
around the tables to stderr, so that standard output holds only CSV. Tables are separated by
an empty line. A BOM starts the output only when standard output is a file (``> report.csv``,
which Excel will open), never on a pipe or a terminal, where it would be a stray character.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from index.export import csv_cell, csv_writer, mention_json

if TYPE_CHECKING:
    from ingest.record import Mention

__all__ = ["format_option", "mention_json", "mention_rows", "note", "stdout_is_file", "table"]

F = TypeVar("F", bound=Callable[..., Any])

_FORMAT = "veille.output.format"
_TABLES = "veille.output.tables"


def format_option(
    help: str | None = None, *, choices: Sequence[str] = ("table", "json"), csv: bool = True
) -> Callable[[F], F]:
    """The ``--format`` option of a command that prints for people or for programs (``fmt``);
    the first choice is the default. With ``table`` among the choices and ``csv``, ``csv`` is
    one too: the command's tables are then written as CSV (see `table`)."""
    if csv and "table" in choices and "csv" not in choices:
        choices = (*choices, "csv")
        help = (f"{help} " if help else "") + "csv: the tables' rows, for a spreadsheet."

    def remember(ctx: click.Context, _param: click.Parameter, value: str) -> str:
        ctx.meta[_FORMAT] = value
        return value

    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
        callback=remember,
    )


def _csv_wanted() -> bool:
    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.meta.get(_FORMAT) == "csv"


def stdout_is_file() -> bool:
    """Whether standard output is a regular file (a redirection), not a pipe or a terminal."""
    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


def note(message: str) -> None:
    """A line printed around a command's tables: on stdout with them, or on stderr when they are
    CSV, which must be alone on stdout (where an empty line already separates them)."""
    if not _csv_wanted():
        click.echo(message)
    elif message.strip():
        click.echo(message, err=True)


def _csv_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    out = io.StringIO()
    ctx = click.get_current_context()
    earlier = ctx.meta.get(_TABLES, 0)
    ctx.meta[_TABLES] = earlier + 1
    if earlier:
        out.write("\n")  # an empty line between tables
    elif stdout_is_file():
        out.write("\ufeff")
    writer = csv_writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([csv_cell(value) for value in r] for r in rows)
    return out.getvalue().removesuffix("\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return " ".join(str(value).split())


def table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    width: int | None = None,
    flex: int = -1,
) -> str:
    """An aligned text table. Column ``flex`` shrinks to fit the terminal width. With
    ``--format csv``, the same rows as CSV (times in UTC, as the table shows them)."""
    if _csv_wanted():
        return _csv_table(rows, headers)
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    total = width or shutil.get_terminal_size((120, 24)).columns
    flex = flex % len(headers) if headers else 0
    spare = total - (sum(widths) + 2 * (len(widths) - 1))
    if spare < 0 and headers:
        widths[flex] = max(10, widths[flex] + spare)

    def line(values: Sequence[str]) -> str:
        out = []
        for value, w in zip(values, widths, strict=True):
            out.append(value if len(value) <= w else value[: max(1, w - 1)] + "…")
        return "  ".join(v.ljust(w) for v, w in zip(out, widths, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in cells)])


def mention_rows(mentions: Sequence[Mention]) -> tuple[list[list[Any]], list[str]]:
    headers = ["published", "brands", "sentiment", "lang", "source", "author", "text"]
    rows = []
    for m in mentions:
        e = m.enrichment
        text = m.title + " — " + m.text if m.title and m.text else (m.title or m.text)
        rows.append(
            [
                m.published or f"unknown (seen {_cell(m.fetched)})",
                ", ".join(e.brands) if e else "",
                e.sentiment.label if e and e.sentiment else "",
                m.effective_lang,
                m.source.name,
                m.author.display if m.author else "",
                text,
            ]
        )
    return rows, headers
