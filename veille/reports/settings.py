"""The settings of reports: the agency's name, logo and colours on every page (white label)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator

from ingest.settings import Strict

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
