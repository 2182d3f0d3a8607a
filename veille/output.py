"""Rendering for the terminal: JSON lines for programs, aligned tables for people."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ingest.record import Mention

F = TypeVar("F", bound=Callable[..., Any])


def format_option(
    help: str | None = None, *, choices: Sequence[str] = ("table", "json")
) -> Callable[[F], F]:
    """The ``--format`` option of a command that prints for people or for programs (``fmt``);
    the first choice is the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help=help,
    )


def mention_json(mention: Mention) -> str:
    """One mention as one line of JSON: its fields with its enrichment."""
    return json.dumps(mention.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


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
    """An aligned text table. Column ``flex`` shrinks to fit the terminal width."""
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
                m.published,
                ", ".join(e.brands) if e else "",
                e.sentiment.label if e and e.sentiment else "",
                m.effective_lang,
                m.source.name,
                m.author.display if m.author else "",
                text,
            ]
        )
    return rows, headers
