"""The weekly report as an Excel workbook (XlsxWriter): one sheet per table, typed cells (counts
as numbers, shares as percentages, dates as dates in the report's zone), frozen headers,
filters, widths, and a native chart of mentions per day by sentiment."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ingest.store import Facet
from veille.reports.render import View
from veille.reports.weekly import WeeklyReport

Cell = str | int | float | date | datetime | None

SHEETS = {
    "fr": {
        "headline": "Synthèse",
        "timeline": "Jours",
        "share_of_voice": "Part de voix",
        "top_sources": "Sources",
        "top_sites": "Sites",
        "top_authors": "Auteurs",
        "influencers": "Influenceurs",
        "stories": "Sujets",
        "mentions": "Mentions",
        "terms": "Termes",
        "incidents": "Incidents",
        "completeness": "Complétude",
    },
    "en": {
        "headline": "Summary",
        "timeline": "Days",
        "share_of_voice": "Share of voice",
        "top_sources": "Sources",
        "top_sites": "Sites",
        "top_authors": "Authors",
        "influencers": "Influencers",
        "stories": "Stories",
        "mentions": "Mentions",
        "terms": "Terms",
        "incidents": "Incidents",
        "completeness": "Completeness",
    },
}
"""Sheet names: short, since Excel cuts them at 31 characters."""


class _Book:
    def __init__(self, view: View) -> None:
        import xlsxwriter

        self.view = view
        self.buffer = io.BytesIO()
        self.book = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "remove_timezone": True})
        colour = view.agency.colour
        self.header = self.book.add_format(
            {"bold": True, "font_color": "#ffffff", "bg_color": colour, "border": 1}
        )
        self.formats = {
            "int": self.book.add_format({"num_format": "#,##0"}),
            "pct": self.book.add_format({"num_format": "0.0%"}),
            "num": self.book.add_format({"num_format": "0.00"}),
            "date": self.book.add_format({"num_format": "dd/mm/yyyy"}),
            "time": self.book.add_format({"num_format": "dd/mm/yyyy hh:mm"}),
        }

    def local(self, value: datetime | None) -> datetime | None:
        return value.astimezone(self.view.words.zone).replace(tzinfo=None) if value else None

    def sheet(
        self,
        name: str,
        headers: Sequence[str],
        rows: Sequence[Sequence[Cell]],
        kinds: Sequence[str | None],
    ) -> Any:
        sheet = self.book.add_worksheet(name)
        widths = [len(h) + 2 for h in headers]
        for col, title in enumerate(headers):
            sheet.write_string(0, col, title, self.header)
        for r, row in enumerate(rows, start=1):
            for col, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                fmt = self.formats.get(kind or "")
                if value is None:
                    sheet.write_blank(r, col, None, fmt)
                elif isinstance(value, datetime):
                    sheet.write_datetime(r, col, self.local(value), fmt)
                    widths[col] = max(widths[col], 17)
                elif isinstance(value, date):
                    sheet.write_datetime(r, col, datetime.combine(value, datetime.min.time()), fmt)
                    widths[col] = max(widths[col], 11)
                elif isinstance(value, int | float):
                    sheet.write_number(r, col, value, fmt)
                    widths[col] = max(widths[col], 10)
                else:
                    sheet.write_string(r, col, value)
                    widths[col] = max(widths[col], min(60, len(value) + 2))
        for col, width in enumerate(widths):
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
        return sheet

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def xlsx(report: WeeklyReport) -> bytes:
    """The workbook's bytes."""
    view = View(report)
    w = view.words
    book = _Book(view)
    sheets = SHEETS[w.lang]
    sections = report.sections
    book.sheet(
        sheets["headline"],
        [w("name"), w("figure"), w("this_period"), w("previous_period")],
        [
            [s.name, w(key), now, before]
            for s in sections
            for key, now, before in _headline_rows(s.figures.headline, s.figures.before)
        ],
        [None, None, "num", "num"],
    )
    daily = book.sheet(
        sheets["timeline"],
        [w("name"), w("day"), w("negative"), w("neutral"), w("positive"), w("total")],
        [
            [s.name, day, c["negative"], c["neutral"], c["positive"], c["total"]]
            for s in sections
            for day, c in zip(s.figures.days, s.figures.daily, strict=True)
        ],
        [None, "date", "int", "int", "int", "int"],
    )
    if sections:
        _chart(book, daily, len(sections[0].figures.days), w)
    book.sheet(
        sheets["share_of_voice"],
        [
            w("name"),
            w("name"),
            w("mentions"),
            w("share"),
            w("negative"),
            w("neutral"),
            w("positive"),
        ],
        [
            [
                s.name,
                x.name,
                x.mentions,
                x.mentions / whole if whole else None,
                x.negative,
                x.neutral,
                x.positive,
            ]
            for s in sections
            for whole in [sum(v.mentions for v in s.voices)]
            for x in s.voices
        ],
        [None, None, "int", "pct", "int", "int", "int"],
    )
    facets: tuple[tuple[Facet, str], ...] = (
        ("source", "top_sources"),
        ("site", "top_sites"),
        ("author", "top_authors"),
    )
    for facet, key in facets:
        book.sheet(
            sheets[key],
            [w("name"), w(facet), w("mentions")],
            [[s.name, t.key, t.count] for s in sections for t in s.figures.tops.get(facet, [])],
            [None, None, "int"],
        )
    book.sheet(
        sheets["influencers"],
        [w("name"), w("author"), w("site"), w("followers"), w("mentions"), w("link")],
        [
            [s.name, i.name, i.site, i.followers, i.mentions, i.url]
            for s in sections
            for i in s.figures.influencers
        ],
        [None, None, None, "int", "int", None],
    )
    book.sheet(
        sheets["stories"],
        [w("name"), w("story"), w("outlets"), w("mentions"), w("first"), w("published"), w("link")],
        [
            [s.name, x.title, x.outlets, x.mentions, x.first_site, x.first_published, x.url]
            for s in sections
            for x in s.figures.stories
        ],
        [None, None, "int", "int", None, "time", None],
    )
    book.sheet(
        sheets["mentions"],
        [
            w("name"),
            w("engagement"),
            w("published"),
            w("site"),
            w("author"),
            w("story"),
            w("sentiment"),
            w("link"),
        ],
        [
            [s.name, key, m.published, m.site, m.author, m.title, w.sentiment(m.sentiment), m.url]
            for s in sections
            for key, rows in (
                (w("engaging"), s.figures.engaging),
                (w("most_negative"), s.figures.negative),
            )
            for m in rows
        ],
        [None, None, "time", None, None, None, None, None],
    )
    book.sheet(
        sheets["terms"],
        [w("name"), w("term"), w("mentions")],
        [[s.name, t.key, t.count] for s in sections for t in s.figures.terms],
        [None, None, "int"],
    )
    book.sheet(
        sheets["incidents"],
        [
            w("name"),
            w("started"),
            w("peak"),
            w("acknowledged"),
            w("resolved"),
            w("status"),
            w("why"),
        ],
        [
            [s.name, i.started, i.peak, i.acknowledged, i.resolved, w.status(i.status), i.headline]
            for s in sections
            for i in s.incidents
        ],
        [None, "time", "time", "time", "time", None, None],
    )
    book.sheet(
        sheets["completeness"],
        [w("name"), w("source"), w("day"), w("mentions"), w("gaps")],
        [
            [s.name, c.source, day, n, "✗" if day in c.gaps else ""]
            for s in sections
            for c in s.figures.completeness
            for day, n in zip(s.figures.days, c.days, strict=True)
        ],
        [None, None, "date", "int", None],
    )
    return book.close()


def _headline_rows(now: Any, before: Any) -> list[tuple[str, Cell, Cell]]:
    return [
        (key, getattr(now, key), getattr(before, key))
        for key in (
            "mentions",
            "authors",
            "reach",
            "negative_share",
            "net_sentiment",
            "satisfaction",
        )
    ]


def _chart(book: _Book, sheet: Any, days: int, w: Any) -> None:
    """A stacked column chart of the first brand's days, beside its table."""
    chart = book.book.add_chart({"type": "column", "subtype": "stacked"})
    name = sheet.get_name()
    colours = {2: "#d64545", 3: "#a7adb5", 4: "#3a9a5b"}
    for col, colour in colours.items():
        chart.add_series(
            {
                "name": [name, 0, col],
                "categories": [name, 1, 1, days, 1],
                "values": [name, 1, col, days, col],
                "fill": {"color": colour},
            }
        )
    chart.set_title({"name": w("timeline")})
    chart.set_x_axis({"num_format": "dd/mm"})
    sheet.insert_chart(1, 7, chart, {"x_scale": 1.4, "y_scale": 1.2})
