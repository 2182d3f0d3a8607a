"""Writing a report in a format, to a file, whole or not at all."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from veille.reports.weekly import WeeklyReport, as_json

FORMATS = ("pdf", "xlsx", "html", "md", "json")


def render(report: WeeklyReport, fmt: str) -> bytes:
    """The report in ``fmt`` (one of `FORMATS`), as bytes."""
    from veille.reports import render as text

    if fmt == "pdf":
        return text.pdf(report)
    if fmt == "xlsx":
        from veille.reports.workbook import xlsx

        return xlsx(report)
    if fmt == "html":
        return text.html(report).encode()
    if fmt == "md":
        return text.markdown(report).encode()
    if fmt == "json":
        return (json.dumps(as_json(report), ensure_ascii=False, indent=2) + "\n").encode()
    raise ValueError(f"unknown report format '{fmt}' (formats: {', '.join(FORMATS)})")


def slug(text: str) -> str:
    """``Lumen Télécom`` -> ``lumen-telecom``: a name safe in any file system."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "report"


def file_name(report: WeeklyReport, fmt: str, name: str = "weekly") -> str:
    """``weekly-velora-2026-W48.pdf``: the report, its brands and its period."""
    brands = "-".join(slug(b) for b in report.brands) if len(report.brands) <= 3 else "brands"
    return f"{slug(name)}-{brands}-{report.period.label.replace('/', '_')}.{fmt}"


def write_report(report: WeeklyReport, fmt: str, folder: Path, name: str = "weekly") -> Path:
    """Write ``report`` in ``fmt`` into ``folder`` under its `file_name`; return its path."""
    path = folder / file_name(report, fmt, name)
    write_atomically(path, render(report, fmt))
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (`index.export.replacing`), creating its
    folder."""
    from index.export import replacing

    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as temporary:
        temporary.write_bytes(data)
