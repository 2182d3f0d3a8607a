"""The settings of reports: the agency's name, logo and colours on every page (white label), and
the schedules of reports produced and delivered on their own (`ReportSchedule`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from ingest.settings import Strict, TimeZone

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _colour(value: str) -> str:
    if not _COLOUR.match(value):
        raise ValueError(f"'{value}' is not a colour written #RRGGBB, e.g. #1f4e79")
    return value.lower()


Colour = Annotated[str, AfterValidator(_colour)]


class AgencySettings(Strict):
    """Who signs the reports."""

    name: str = "Veille"
    logo: Path | None = None
    """A PNG, JPEG or SVG file shown at the top of each report (relative to the settings file)."""
    colour: Colour = "#1f4e79"
    """The main colour: titles, rules, the brand's bars."""
    accent: Colour = "#e07b39"
    """The second colour: the competitors' bars, highlights."""
    language: Literal["fr", "en"] = "fr"
    """The reports' language unless a command or a schedule says otherwise."""


Period = Literal["daily", "weekly", "monthly"]
Format = Literal["pdf", "xlsx", "html", "md", "json"]

WEEKDAYS = {
    **{
        d: i
        for i, d in enumerate(
            ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        )
    },
    **{
        d: i
        for i, d in enumerate(
            ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
        )
    },
}
_AT = re.compile(r"^(?:(?P<day>[a-zé]+|\d{1,2})\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


@dataclass(frozen=True)
class When:
    """When a period's report is due: ``day`` (a weekday 0-6 for weekly reports, a day of the
    month 1-28 for monthly ones, None for daily) at ``hour``:``minute`` after the period ends."""

    day: int | None
    hour: int
    minute: int


def parse_at(value: str, period: str) -> When:
    """``monday 08:00`` (weekly; French day names too), ``08:00`` (daily), ``1 08:00`` (monthly:
    the day of the month, 1 to 28), or a `ValueError` that shows the form."""
    forms = {"weekly": "'monday 08:00'", "daily": "'08:00'", "monthly": "'1 08:00'"}
    match = _AT.match(value.strip().lower())
    hour = int(match.group("hour")) if match else -1
    minute = int(match.group("minute")) if match else -1
    day_text = match.group("day") if match else None
    problem = not match or hour > 23 or minute > 59
    day: int | None = None
    if not problem and period == "weekly":
        day = WEEKDAYS.get(day_text or "")
        problem = day is None
    elif not problem and period == "monthly":
        day = int(day_text) if day_text and day_text.isdigit() else None
        problem = day is None or not 1 <= day <= 28
    elif not problem:
        problem = day_text is not None
    if problem:
        raise ValueError(f"'{value}' is not when a {period} report is due: write {forms[period]}")
    return When(day, hour, minute)


class ReportSchedule(Strict):
    """A report produced once per period, kept under DATA_DIR/reports/NAME/ and delivered."""

    name: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][\w.-]*$")]
    brands: list[str] = []
    """Configured brands' names; empty: every brand."""
    period: Period = "weekly"
    at: str = "monday 08:00"
    """When the report of the period just ended is due: ``monday 08:00`` (weekly),
    ``08:00`` (daily), ``1 08:00`` (monthly, day 1 to 28), in ``timezone``."""
    timezone: TimeZone | None = None
    """Default: the top-level ``timezone``."""
    formats: list[Format] = ["pdf", "xlsx"]
    language: Literal["fr", "en"] | None = None
    """Default: ``agency.language``."""
    channels: list[str] = []
    """Alert channels (``alerts.channels``) of type email or webhook that receive it."""
    directory: Path | None = None
    """A directory the files are also copied to (a shared folder)."""

    @model_validator(mode="after")
    def _when(self) -> ReportSchedule:
        parse_at(self.at, self.period)
        if not self.formats:
            raise ValueError("formats: give at least one of pdf, xlsx, html, md, json")
        return self

    @property
    def when(self) -> When:
        return parse_at(self.at, self.period)
