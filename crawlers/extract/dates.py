"""Dates as feeds, pages and forums print them, to aware UTC datetimes: ISO 8601, Unix times,
RFC 822, and the written and numeric forms of the languages Veille watches (French, English,
German, Spanish, Italian, Portuguese, Dutch, Swedish, Polish: `crawlers.extract.date_words`):
``lun., 24 sept. 2018``, ``Seg, 24 Set 2018 19:42:40 -0300``, ``24. September 2018 um 19:42``,
``September 24, 2018 at 7:42 pm``, ``03.03.2011, 14:17``, ``Aujourd'hui, 14:03``,
``hier à 14:17``, ``vor 3 Stunden``, ``há 3 horas``, ``3 uur geleden``, ``Monday at 3:04 PM``.

How a text is read:
- the page's language is tried first, then the other watched ones, each with its own words
  (so ``Mar 10 Nov`` is a Tuesday in French, ``Mar 10`` is March in English);
- a date without a zone is read in the site's zone ``tz`` (forums print local time); a zone
  name (CET, CEST, GMT, EST, PST, Z...) or an offset in the text wins;
- relative dates count back from ``now``, when the page was fetched; a day without a time of
  day (``hier``, ``yesterday``) is midnight in ``tz``; a date without a year is the latest one
  not ahead of ``now``; a two-digit year is the latest century's that is not ahead of ``now``;
- a numeric date (``09/10/2018``) is day-first unless the source writes month-first
  (`crawlers.extract.date_words.month_first`: ``en-US``, or English in a US zone); a date that
  fits only one order (``13/02``, ``02/13``) is read in that order;
- what these rules do not know goes to dateparser (the page's language first, then the
  others), and only if it has words: a count such as ``1 234``, ``#12`` or ``345`` is no date.

A text that is not a date, or cannot be read, is unknown (None), never "now". So is a date
outside the range Veille can trust (before 1990, or more than a day after ``now``), or one that
does not fit in a `datetime` once in UTC (``9999-12-31T23:59:59-14:00``): `sane_utc` says None.
The feed parser (`crawlers.feeds.parse`) keeps the same rule and reads with `parse_date` what
feedparser does not.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from crawlers.extract.date_words import (
    WATCHED,
    Words,
    base_language,
    fold,
    languages,
    month_first,
    words,
)

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
# A date has a year, a time, a word ("hier", "yesterday", a month) or is numeric (24.09.98);
# "#12" has none of them.
_DATE_LIKE = re.compile(r"\d{4}|\d{1,2}\s*[:h]\s*\d{2}|[^\W\d_]|\d{1,2}([./-])\d{1,2}\1\d{2}")
_WORDY = re.compile(r"[^\W\d_]{3,}")
_LETTERS = re.compile(r"[^\W\d_]+")

# Zone names as feeds and forums print them, in minutes east of UTC. Ambiguous ones (IST: India,
# Ireland or Israel) are left out: the site's zone is a better guess.
_ZONES = {
    "z": 0, "ut": 0, "utc": 0, "gmt": 0, "wet": 0, "west": 60, "bst": 60, "cet": 60, "mez": 60,
    "cest": 120, "mesz": 120, "eet": 120, "eest": 180, "est": -300, "edt": -240, "cst": -360,
    "cdt": -300, "mst": -420, "mdt": -360, "pst": -480, "pdt": -420, "akst": -540, "akdt": -480,
    "hst": -600, "brt": -180, "brst": -120, "art": -180,
}  # fmt: skip
# "3 hours and 12 minutes ago" is read as "3 hours ago" (late by the smaller unit at most), not
# as "12 minutes ago", where a language writes "ago" after the units ("ago", "geleden", "fa").
_COMPOUND_AGO = re.compile(
    r"(\d{1,4}\s*[^\W\d_]+\.?)\s*(?:,|and|en|e|y|und)\s*\d{1,4}\s*[^\W\d_]+\.?\s*(ago|geleden|fa)\b"
)
_AMPM = re.compile(r"\b([ap])\.?\s?m\.(?!\w)")
_ZONE_HOURS = re.compile(r"\b(?:utc|gmt)\s*([+-])(\d{1,2})(?::?(\d{2}))?(?!\d)")
_DOT_TIME = re.compile(
    r"\b(um|alle|ore|om|as|las|at|a|vers|gegen)\s+(\d{1,2})\.(\d{2})(?![.\d])|"
    r"(?<![\d.])(\d{1,2})\.(\d{2})(?=\s*(?:uhr|h)\b)"
)
_TOKENS = re.compile(
    r"(?P<date>(?<!\d)(?P<a>\d{1,4})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4}))(?!\d)"
    r"|(?P<offset>(?<![^\W\d_])(?P<sign>[+-])(?P<oh>\d{2}):?(?P<om>\d{2}))(?!\d)"
    r"|(?P<time>(?P<h>\d{1,2})\s*[:h]\s*(?P<mi>\d{2})(?:\s*:\s*(?P<s>\d{2})(?:[.,]\d+)?)?)(?!\d)"
    r"|(?P<hour>(?P<hh>\d{1,2})\s*(?P<unit>h|uhr|am|pm))(?![^\W\d_])"
    r"|(?P<year>(?<![^\W_])'(?P<yy>\d{2}))(?!\d)"  # Discourse's "Sep '18", "Sep 24 '18"
    r"|(?P<num>\d+)(?:st|nd|rd|th|er|eme|e|o|a)?\.?(?![^\W_])"
    r"|(?P<word>[^\W\d_]+(?:['-][^\W\d_]+)*)\.?"
)
_Token = tuple[str, Any]


class _NotThisLanguage(Exception):
    """The text's words, all known in the language tried, make no date (a month alone)."""


class _UnknownWord(_NotThisLanguage):
    """The text has a word the language tried does not know."""


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


@cache
def _day_phrases() -> tuple[tuple[str, str], ...]:
    return tuple(pair for lang in WATCHED for pair in words(lang).day_phrases)


def _normalize(text: str) -> str:
    """Folded text with the spellings the tokens do not cover made regular."""
    text = _COMPOUND_AGO.sub(r"\1 \2", _AMPM.sub(r"\1m", fold(text)))
    text = _ZONE_HOURS.sub(
        lambda m: f" {m[1]}{int(m[2]):02d}{m[3] or '00'}" if int(m[2]) <= 14 else m[0], text
    )
    text = _DOT_TIME.sub(lambda m: f"{m[1]} {m[2]}:{m[3]}" if m[1] else f"{m[4]}:{m[5]}", text)
    for phrase, joined in _day_phrases():
        if phrase in text:
            text = re.sub(rf"(?<![^\W\d_]){re.escape(phrase)}(?![^\W\d_])", joined, text)
    return text


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKENS.finditer(text):
        kind = m.lastgroup
        if m["date"]:
            out.append(("date", (m["a"], m["b"], m["c"])))
        elif m["offset"]:
            minutes = int(m["oh"]) * 60 + int(m["om"])
            out.append(("offset", -minutes if m["sign"] == "-" else minutes))
        elif m["time"]:
            out.append(("time", (0, (int(m["h"]), int(m["mi"]), int(m["s"] or 0)))))
        elif m["hour"]:
            out.append(("hour", (int(m["hh"]), m["unit"])))
        elif m["year"]:
            out.append(("year", m["yy"]))
        elif m["num"]:
            out.append(("num", m["num"]))
        elif kind == "word" or m["word"]:
            out.append(("word", m["word"]))
    return out


def _year(digits: str, now_year: int) -> int:
    if len(digits) == 4:
        return int(digits)
    if len(digits) != 2:
        raise _NotThisLanguage
    year = 2000 + int(digits)
    return year if year <= now_year + 1 else year - 100


def _months_back(moment: datetime, months: int) -> datetime:
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def _ago(text: str, seen: set[str], w: Words, now: datetime) -> datetime | None:
    if seen.isdisjoint(w.ago_words):
        return None
    m = w.ago.search(text)
    if m is None or m.lastindex is None:
        return None
    number = m[m.lastindex]
    count = 1 if number in w.one else int(number)
    unit = w.ago_units[m.lastindex - 1]
    if unit in ("year", "month"):
        return _months_back(now, count * (12 if unit == "year" else 1))
    return now - timedelta(**{unit + "s": count})


def _zone(tz: str) -> tzinfo:
    try:
        return ZoneInfo(tz)
    except (ValueError, KeyError, OSError):  # not a zone name: the caller's mistake, read as UTC
        return UTC


@dataclass
class _Parts:
    """What a text's tokens say in one language, before they make a date."""

    months: list[int] = field(default_factory=list)
    ambiguous: list[int] = field(default_factory=list)  # "mar": March, or mardi in French
    weekday: int | None = None
    day_offset: int | None = None  # today 0, yesterday -1
    numbers: list[str] = field(default_factory=list)
    year: str | None = None  # a year no one can take for a day: '18
    numeric: tuple[str, str, str] | None = None  # 24/09/2018
    clock: tuple[int, int, int] | None = None
    offset: int | None = None  # minutes east of UTC


def _twelve_hour(clock: tuple[int, int, int], half: str) -> tuple[int, int, int]:
    hour = clock[0]
    if half == "pm" and hour < 12:
        hour += 12
    elif half == "am" and hour == 12:
        hour = 0
    return (hour, *clock[1:])


def _word(parts: _Parts, value: str, w: Words, previous: str) -> None:
    if value in ("am", "pm") and previous in ("time", "hour") and parts.clock is not None:
        parts.clock = _twelve_hour(parts.clock, value)
    elif value in _ZONES:
        parts.offset = _ZONES[value]
    elif value in w.days:
        parts.day_offset = w.days[value]
    elif value in w.months and value in w.weekdays:
        parts.ambiguous.append(w.months[value])
        parts.weekday = w.weekdays[value]
    elif value in w.months:
        parts.months.append(w.months[value])
    elif value in w.weekdays:
        parts.weekday = w.weekdays[value]
    elif value not in w.joiners:
        raise _UnknownWord


def _parts(tokens: list[_Token], w: Words) -> _Parts:
    parts = _Parts()
    previous = ""
    for kind, value in tokens:
        if kind == "word":
            _word(parts, value, w, previous)
        elif kind == "num":
            parts.numbers.append(value)
        elif kind == "year":
            if parts.year is not None:
                raise _NotThisLanguage
            parts.year = value
        elif kind == "date":
            if parts.numeric is not None:
                raise _NotThisLanguage
            parts.numeric = value
        elif kind in {"time", "hour"}:
            if parts.clock is not None:
                raise _NotThisLanguage
            hour, rest = value
            parts.clock = rest if kind == "time" else _twelve_hour((hour, 0, 0), rest)
        elif kind == "offset":  # after the time, once: PHP's zero date "30 Nov -0001" has none
            if parts.clock is None or parts.offset is not None:
                raise _NotThisLanguage
            parts.offset = value
        previous = kind
    if not parts.months and len(parts.ambiguous) == 1:
        parts.months = parts.ambiguous
    return parts


def _interpret(
    tokens: list[_Token], w: Words, tz: str, lang: str | None, now: datetime
) -> datetime:
    """The date ``tokens`` say in ``w``'s language; `_NotThisLanguage` if they say none in it.
    Raises ValueError for a date that cannot be (31 February, 25 o'clock)."""
    p = _parts(tokens, w)
    zone = _zone(tz) if p.offset is None else timezone(timedelta(minutes=p.offset))
    local_now = now.astimezone(zone)
    hour, minute, second = p.clock or (0, 0, 0)

    def at(year: int, month: int, day: int) -> datetime:
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)

    if bool(p.months) + (p.numeric is not None) + (p.day_offset is not None) != 1:
        dated = p.months or p.numeric or p.day_offset is not None or p.numbers or p.year
        if p.weekday is None or dated or p.clock is None:
            raise _NotThisLanguage
        # "Monday at 3:04 PM": the last Monday, as forums write dates of the past week
        day = local_now.date() - timedelta(days=(local_now.weekday() - p.weekday) % 7)
        moment = at(day.year, day.month, day.day)
        return moment - timedelta(days=7) if moment > now else moment
    if (p.day_offset is not None or p.numeric is not None) and (p.numbers or p.year):
        raise _NotThisLanguage
    if p.day_offset is not None:
        day = local_now.date() + timedelta(days=p.day_offset)
        return at(day.year, day.month, day.day)
    if p.numeric is not None:
        a, b, c = p.numeric
        if len(a) == 4:
            return at(int(a), int(b), int(c))
        first, other = int(a), int(b)
        day_first = first > 12 or (other <= 12 and not month_first(lang, tz))
        year = _year(c, local_now.year)
        return at(year, other, first) if day_first else at(year, first, other)
    if len(p.months) != 1 or not 1 <= len(p.numbers) + (p.year is not None) <= 2:
        raise _NotThisLanguage
    years = [n for n in p.numbers if len(n) == 4] + ([p.year] if p.year else [])
    days = [n for n in p.numbers if len(n) <= 2]
    if len(days) == 2 and not years:  # RFC 822's "24 Sep 18"
        days, years = days[:1], days[1:]
    if len(days) != 1 or len(years) > 1:
        raise ValueError("a month without a day is no date")
    if years:
        return at(_year(years[0], local_now.year), p.months[0], int(days[0]))
    moment = at(local_now.year, p.months[0], int(days[0]))  # no year: the latest not ahead
    return moment.replace(year=moment.year - 1) if moment > now + FUTURE_SLACK else moment


_NUMERIC_DATE = re.compile(r"(?<!\d)\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?!\d)")


@lru_cache(maxsize=8192)
def _read(text: str, tz: str, lang: str | None, now: datetime) -> datetime | None:
    """What the rules above make of one candidate text; None where they know it is no date."""
    folded = _normalize(text)
    order = languages(lang)
    bare = folded.strip(" .!,")
    seen = set(_LETTERS.findall(folded))
    for code in order:
        w = words(code)
        if bare in w.now_words:
            return now
        if not seen.isdisjoint(w.future) and seen.isdisjoint(w.days):  # "demain": not yet
            return None
        if _NUMERIC_DATE.search(folded):
            break  # "24-11-2026 à 22:41": a date written in numbers counts nothing back
        try:
            ago = _ago(folded, seen, w, now)
        except (ValueError, OverflowError):  # "9999 years ago": before year 1
            return None
        if ago is not None:
            return ago
    tokens = _tokens(folded)
    if not any(kind in ("word", "date") for kind, _ in tokens):
        return None  # "1 234", "#12", "14:17": numbers, no date
    understood = False  # every word known in some language, yet no date: not for dateparser
    for code in order:
        try:
            return _interpret(tokens, words(code), tz, lang, now)
        except _UnknownWord:
            continue
        except _NotThisLanguage:
            understood = True
        except (ValueError, OverflowError):  # 31 February, 25:00, year 0
            return None
    if understood or not _WORDY.search(text) or _a_count(tokens):
        return None
    return _dateparser(text, tz, now, lang, order)


def _a_count(tokens: list[_Token]) -> bool:
    """Whether unknown words come with numbers that no date has: no time, no year, no numeric
    date (``Messages : 345``, ``Posts: 1,234``): a count with its label, not for dateparser."""
    kinds = {kind for kind, _ in tokens}
    return (
        "num" in kinds
        and not kinds & {"time", "hour", "date", "offset"}
        and not any(kind == "num" and len(value) == 4 for kind, value in tokens)
    )


def _dateparser(
    text: str, tz: str, now: datetime, lang: str | None, order: tuple[str, ...]
) -> datetime | None:

    settings: dict[str, Any] = {
        "TIMEZONE": tz,
        "TO_TIMEZONE": "UTC",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "RELATIVE_BASE": now.astimezone(_zone(tz)).replace(tzinfo=None),
        "DATE_ORDER": "MDY" if month_first(lang, tz) else "DMY",
    }
    own = base_language(lang)
    if own and own not in order:  # a page in a language Veille does not watch: its own first
        try:
            return _dateparser_in([own, *order], text, settings)
        except ValueError:  # a language dateparser does not know
            pass
    try:
        return _dateparser_in(list(order), text, settings)
    except ValueError:
        return None


def _dateparser_in(languages: list[str], text: str, settings: dict[str, Any]) -> datetime | None:
    import dateparser

    try:
        parsed: datetime | None = dateparser.parse(text, languages=languages, settings=settings)
    except (OverflowError, TypeError, KeyError):  # odd text that looked like a date
        return None
    except ValueError as exc:
        if "language" in str(exc).lower():
            raise
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
    """``value`` as an aware UTC datetime, or None if it says no date Veille can trust.

    ``tz`` is the site's zone (an IANA name), for dates printed without one; ``now`` is when the
    page was fetched (default: the system's clock), for relative dates; ``lang`` is the page's
    language or locale (``fr``, ``en-US``, ``pt_BR``), tried first and deciding the order of
    numeric dates with ``tz``."""
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
            parsed = parsed.replace(tzinfo=_zone(tz))
    if parsed is None:
        if len(value) > 120:  # a paragraph, not a date
            return None
        for candidate in _candidates(value):
            if not _DATE_LIKE.search(candidate):
                continue
            parsed = _read(candidate, tz, lang, now)
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
