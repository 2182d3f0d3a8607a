"""Dates as pages print them, to aware UTC datetimes: ISO 8601, Unix times, and French or English
text (``lun. 2 nov. 2026 10:00``, ``2 novembre 2026 à 14 h 03``, ``Aujourd'hui, 14:03``,
``Yesterday at 3:00 PM``, ``il y a 3 heures``).

A date without a time zone is read in the site's zone (forums print local time). Relative dates
are relative to when the page was fetched. Day-first order for French pages, month-first for
English ones unless the text says otherwise.

A date outside the range Veille can trust (before 1990, or more than a day after ``now``), or one
that does not fit in a `datetime` once in UTC (``9999-12-31T23:59:59-14:00``), is unknown:
`sane_utc` says None, and the caller falls back as it does for a page without a date. The feed
parser (`crawlers.feeds.parse`) keeps the same rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

_EPOCH = re.compile(r"^\d{10}(\d{3})?$")
_HOUR_H = re.compile(r"(\d{1,2})\s*h\s*(\d{2})\b", re.IGNORECASE)
_NOISE = re.compile(
    r"^(?:(?:posted|published|updated|written)\s+(?:on\s+)?|(?:posté|publié|écrit|mis à jour)"
    r"(?:\s+le)?\s+|le\s+|on\s+)",
    re.IGNORECASE,
)
_SEPARATORS = ("»", "|", "·", "—")
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
"""Dates before this are a publisher's error (a zero date, a year typed wrong): unknown."""
FUTURE_SLACK = timedelta(days=1)
"""How far ahead of now a date may be (time zones, clocks a little fast) and still be trusted."""
# A date in words has a year, a time or a word ("hier", "yesterday", a month); "#12" has none.
_DATE_LIKE = re.compile(r"\d{4}|\d{1,2}\s*[:h]\s*\d{2}|[^\W\d_]{3,}")


def sane_utc(value: datetime, now: datetime) -> datetime | None:
    """``value`` in UTC if Veille can trust it (from `EARLIEST` to `FUTURE_SLACK` after ``now``);
    None if not, or if it does not fit in a `datetime` once in UTC. A naive ``value`` is UTC."""
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):  # year 9999 at -14:00, year 1 at +14:00
        return None
    if utc < EARLIEST or utc > now + FUTURE_SLACK:
        return None
    return utc


def _iso(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if not re.match(r"^\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _dateparser(text: str, tz: str, now: datetime, lang: str | None) -> datetime | None:
    import dateparser

    languages = ["en", "fr"] if lang == "en" else ["fr", "en"]
    settings: dict[str, Any] = {
        "TIMEZONE": tz,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
        "RELATIVE_BASE": now.astimezone(ZoneInfo(tz)).replace(tzinfo=None),
    }
    if lang != "en":
        settings["DATE_ORDER"] = "DMY"
    try:
        parsed: datetime | None = dateparser.parse(text, languages=languages, settings=settings)
    except (ValueError, OverflowError, TypeError, KeyError):  # odd text that looked like a date
        return None
    return parsed


def _candidates(text: str) -> list[str]:
    text = " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())
    out = [text]
    for sep in _SEPARATORS:
        if sep in text:
            out.append(text.rsplit(sep, 1)[1].strip())
    cleaned = _HOUR_H.sub(r"\1:\2", _NOISE.sub("", out[-1]))
    if cleaned not in out:
        out.append(cleaned)
    return [c for c in out if c]


def parse_date(
    value: str | None,
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> datetime | None:
    """``value`` as an aware UTC datetime, or None if it says no date Veille can trust."""
    if not value or not value.strip():
        return None
    now = now or datetime.now(UTC)
    value = value.strip()
    parsed: datetime | None = None
    if _EPOCH.match(value):
        seconds = int(value) / (1000 if len(value) == 13 else 1)
        parsed = datetime.fromtimestamp(seconds, UTC)
    else:
        parsed = _iso(value)
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=ZoneInfo(tz))
    if parsed is None:
        if len(value) > 120:  # a paragraph, not a date
            return None
        for candidate in _candidates(value):
            if not _DATE_LIKE.search(candidate):
                continue
            parsed = _dateparser(candidate, tz, now, lang)
            if parsed is not None:
                break
    if parsed is None:
        return None
    return sane_utc(parsed, now)


def first_date(
    values: Iterable[str | None],
    *,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> datetime | None:
    """The first of ``values`` that reads as a date."""
    for value in values:
        parsed = parse_date(value, tz=tz, now=now, lang=lang)
        if parsed is not None:
            return parsed
    return None
