"""The weekly report written out: Markdown and HTML from Jinja templates, PDF typeset by
WeasyPrint from the HTML (the same template, charts embedded), and the summary an email carries.
Every number goes through `Words`, so French reads ``1 234`` and ``12,5 %``."""

from __future__ import annotations

import base64
import logging
import mimetypes
import shutil
import subprocess
import unicodedata
import warnings
from functools import cached_property, lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from index.report import SourceDays
from veille.reports import charts
from veille.reports.weekly import BrandSection, WeeklyReport
from veille.reports.words import Words

SOURCES_SHOWN = 15

_SYMBOLS = frozenset({"So", "Sk", "Cf", "Mn", "Me"})
"""Symbols (emoji, flags, dingbats), their modifiers, joiners and variation selectors."""


@lru_cache(maxsize=1)
def _drawable() -> frozenset[int] | None:
    """The characters the fonts installed here can draw (what fontconfig lists, as WeasyPrint
    finds them), or None where fontconfig cannot say."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        listed = subprocess.run(  # noqa: S603 (a fixed command: fontconfig's own fc-list)
            [fc_list, "--format", "%{file}\n"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return None
    from fontTools.ttLib import TTFont, TTLibError

    covered: set[int] = set()
    for path in filter(None, listed):
        try:
            with TTFont(path, fontNumber=0, lazy=True) as font:
                covered.update(font.getBestCmap() or {})
        except (OSError, TTLibError, AssertionError, KeyError, ValueError):
            continue
    return frozenset(covered) or None


def drawable(text: str, fonts: frozenset[int] | None = None) -> str:
    """``text`` without the symbols no installed font can draw (``fonts``: their characters,
    default those of this machine): with no emoji font, "Manon 🚀" is "Manon ", where
    WeasyPrint would print an empty box. Letters are kept whatever the fonts: a name in a
    script no font has must still show that something is there."""
    fonts = fonts if fonts is not None else _drawable()
    if fonts is None:
        return text
    return "".join(
        c
        for c in text
        if ord(c) < 0x2000 or ord(c) in fonts or unicodedata.category(c) not in _SYMBOLS
    )


class View:
    """What the templates read: the report, its words, its charts as data URIs."""

    def __init__(self, report: WeeklyReport) -> None:
        self.report = report
        self.words = Words(report.lang, report.period.zone)
        self.agency = report.agency

    @property
    def title(self) -> str:
        return f"{self.words('weekly')} — {', '.join(self.report.brands)}"

    @property
    def subtitle(self) -> str:
        period, w = self.report.period, self.words
        days = period.days()
        start, end = w.date(days[0]), w.date(days[-1])
        if "-W" in period.label:
            return w("week", week=period.label.split("-W")[1], start=start, end=end)
        return w("period", start=start, end=end)

    @property
    def generated(self) -> str:
        return self.words(
            "generated",
            when=self.words.when(self.report.generated),
            zone=self.report.period.zone.key,
        )

    @cached_property
    def logo(self) -> str | None:
        path = self.agency.logo
        if path is None or not path.is_file():
            return None
        kind = mimetypes.guess_type(path.name)[0] or "image/png"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode()}"

    def headline(self, section: BrandSection) -> list[tuple[str, str, str, str]]:
        """(label, this period, previous period, change) for each headline figure."""
        w, now, before = self.words, section.figures.headline, section.figures.before
        rows = []
        for key, write, points in (
            ("mentions", w.number, False),
            ("authors", w.number, False),
            ("reach", w.number, False),
            ("negative_share", w.percent, True),
            ("net_sentiment", w.signed, True),
            ("satisfaction", w.percent, True),
        ):
            value, earlier = getattr(now, key), getattr(before, key)
            rows.append(
                (w(key), write(value), write(earlier), w.change(value, earlier, points=points))
            )
        return rows

    def completeness(self, section: BrandSection) -> tuple[list[SourceDays], int]:
        """The sources to show day by day: each one that fell silent on a day, and the busiest
        up to `SOURCES_SHOWN`; and how many others there are (the workbook lists them all)."""
        rows = section.figures.completeness
        shown = [s for i, s in enumerate(rows) if s.gaps or i < SOURCES_SHOWN]
        return shown, len(rows) - len(shown)

    def share(self, part: int, whole: int) -> str:
        return self.words.percent(part / whole if whole else None)

    def charts(self, section: BrandSection) -> dict[str, str]:
        f, w = section.figures, self.words
        images = {
            "timeline": charts.timeline(f, section.incidents, w),
            "negative": charts.negative_share(f, w, self.agency.colour),
        }
        if section.voices:
            images["voice"] = charts.share_of_voice(
                section.voices, w, self.agency.colour, self.agency.accent
            )
        sources = f.tops.get("source", [])
        if sources:
            images["sources"] = charts.bars(
                [t.key for t in sources], [t.count for t in sources], self.agency.colour, w
            )
        return {name: _data_uri(png) for name, png in images.items()}

    def summary(self) -> str:
        """One sentence per brand: what an email's body says."""
        w = self.words
        lines = []
        for section in self.report.sections:
            now, before = section.figures.headline, section.figures.before
            lines.append(
                w(
                    "summary",
                    brands=section.name,
                    period=self.subtitle,
                    mentions=w.number(now.mentions),
                    change=w.change(now.mentions, before.mentions),
                    negative=w.percent(now.negative_share),
                    incidents=len(section.incidents),
                )
            )
        return "\n".join(lines)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("veille.reports", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(template: str, report: WeeklyReport, **extra: Any) -> str:
    view = View(report)
    return _environment().get_template(template).render(v=view, w=view.words, r=report, **extra)


def html(report: WeeklyReport) -> str:
    """The report as one self-contained HTML page (styles and charts inside)."""
    return _render("weekly.html", report, for_print=False)


def markdown(report: WeeklyReport) -> str:
    """The report as Markdown, without charts: for a wiki, a ticket, an email."""
    return _render("weekly.md", report)


def pdf(report: WeeklyReport) -> bytes:
    """The report typeset on A4 pages by WeasyPrint, from the HTML template."""
    # WeasyPrint logs its steps at INFO from its import on, and warns on every run where the
    # system's HarfBuzz lacks its subsetter; fontTools logs its font subsetting: nothing for a
    # user to act on (the template's CSS is the project's, checked by the tests).
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        # Where the system's HarfBuzz lacks its subsetter (Debian 12 ships it apart, as
        # libharfbuzz-subset0), WeasyPrint says it will need it one day and embeds fonts with
        # fontTools meanwhile: the PDF is the same.
        warnings.filterwarnings("ignore", "HarfBuzz-Subset", DeprecationWarning)
        from weasyprint import HTML

    page = drawable(_render("weekly.html", report, for_print=True))
    document: bytes = HTML(string=page).write_pdf()
    return document
