"""The report's charts, drawn offline by matplotlib (its Agg canvas: no display, no browser, no
network) as PNG images: mentions per day by sentiment with the alerts marked, share of voice,
negative share over time, top sources."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from veille.reports.words import Words

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from index.report import BrandFigures, Voice
    from veille.reports.weekly import Incident

SENTIMENT_COLOURS = {"negative": "#d64545", "neutral": "#a7adb5", "positive": "#3a9a5b"}
WIDTH, HEIGHT = 7.2, 2.9  # inches: the width of an A4 page's text block


def _figure(height: float = HEIGHT) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=150, layout="constrained")
    axes = figure.add_subplot()
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    return figure, axes


def _counts_axis(axis: Any, words: Words) -> None:
    """Whole numbers only, written the language's way (``1 000``)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda value, _: words.number(int(value))))


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def timeline(figures: BrandFigures, incidents: Sequence[Incident], words: Words) -> bytes:
    """Stacked bars of mentions per day by sentiment; each alert a marker on its first day."""
    figure, axes = _figure()
    positions = list(range(len(figures.days)))
    bottom = [0] * len(positions)
    for label in ("negative", "neutral", "positive"):
        values = [day[label] for day in figures.daily]
        axes.bar(
            positions,
            values,
            bottom=bottom,
            color=SENTIMENT_COLOURS[label],
            label=words(label),
            width=0.7,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    top = max(bottom, default=0) or 1
    index = {day: i for i, day in enumerate(figures.days)}
    for incident in incidents:
        day = incident.started.astimezone(words.zone).date()
        if day in index:
            axes.annotate("▼", (index[day], top * 1.04), ha="center", color="#7a1f1f", fontsize=11)
    axes.set_ylim(0, top * 1.15)
    _counts_axis(axes.yaxis, words)
    axes.set_xticks(positions, [words.short_day(d) for d in figures.days])
    axes.legend(fontsize=8, frameon=False, ncols=3, loc="upper left")
    return _png(figure)


def negative_share(figures: BrandFigures, words: Words, colour: str) -> bytes:
    """The share of negative mentions day by day, in percent."""
    figure, axes = _figure(2.2)
    shares = [
        100 * day["negative"] / day["total"] if day["total"] else float("nan")
        for day in figures.daily
    ]
    positions = list(range(len(figures.days)))
    axes.plot(positions, shares, marker="o", color=colour)
    known = [s for s in shares if not math.isnan(s)]
    axes.set_ylim(0, max(known or [10]) * 1.2 or 10)
    axes.set_xticks(positions, [words.short_day(d) for d in figures.days])
    axes.yaxis.set_major_formatter(lambda value, _: words.number(round(value)) + " %")
    return _png(figure)


def share_of_voice(voices: Sequence[Voice], words: Words, colour: str, accent: str) -> bytes:
    """Horizontal bars of each name's mentions, split by sentiment, with its share."""
    figure, axes = _figure(0.8 + 0.45 * max(len(voices), 1))
    total = sum(v.mentions for v in voices) or 1
    names = [v.name for v in voices][::-1]
    left = [0] * len(names)
    for label in ("negative", "neutral", "positive"):
        values = [getattr(v, label) for v in voices][::-1]
        axes.barh(names, values, left=left, color=SENTIMENT_COLOURS[label], label=words(label))
        left = [a + b for a, b in zip(left, values, strict=True)]
    for i, v in enumerate(voices[::-1]):
        axes.annotate(
            f" {words.percent(v.mentions / total)}",
            (v.mentions, i),
            va="center",
            fontsize=8,
            color=colour if v.kind == "brand" else accent,
        )
    axes.set_xlim(0, max(left, default=0) * 1.2 or 1)
    _counts_axis(axes.xaxis, words)
    figure.legend(fontsize=8, frameon=False, ncols=3, loc="outside lower center")
    return _png(figure)


def bars(labels: Sequence[str], values: Sequence[int], colour: str, words: Words) -> bytes:
    """Horizontal bars, largest on top: the top sources."""
    figure, axes = _figure(0.5 + 0.32 * max(len(labels), 1))
    axes.barh(list(labels)[::-1], list(values)[::-1], color=colour)
    for i, value in enumerate(list(values)[::-1]):
        axes.annotate(f" {words.number(value)}", (value, i), va="center", fontsize=8)
    axes.set_xlim(0, max(values, default=0) * 1.15 or 1)
    _counts_axis(axes.xaxis, words)
    return _png(figure)
