"""The words of dates in the languages Veille watches, from Unicode CLDR (through Babel), with
the few forum spellings CLDR does not list.

For each language: month names (wide and abbreviated, as a date prints them and standing
alone, and any unambiguous prefix of three letters or more: ``sept``, ``Okt``, ``Set``),
weekday names, the words for today, yesterday and the day before, the patterns of "N units
ago" (``il y a 3 heures``, ``vor 3 Std.``, ``3 uur geleden``), and the small words that join a
date to its time (``à``, ``um``, ``at``, ``às``). Every key is folded by `fold` (lower case,
no accents, curly apostrophes made straight, no final dot), and the text read is folded the same.

Which order a numeric date is written in (``09/10/2018``) is decided by `month_first`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from babel import Locale

WATCHED = ("fr", "en", "de", "es", "it", "pt", "nl", "sv", "pl")
"""The languages whose dates Veille reads without help, page language first."""

# Said of a number in "N units ago" (an hour ago, il y a une heure, vor einer Stunde...).
_ONE = {
    "fr": ("un", "une"),
    "en": ("a", "an", "one"),
    "de": ("ein", "eine", "einer", "einem", "einen"),
    "es": ("un", "una", "uno"),
    "it": ("un", "una", "uno", "un'"),
    "pt": ("um", "uma"),
    "nl": ("een",),
    "sv": ("en", "ett"),
    "pl": ("jeden", "jedna", "jedno"),
}
# Words that join a date and its time or introduce a date: skipped when reading.
_JOINERS = {
    "fr": (
        "le", "a", "de", "du", "h", "min", "vers", "publie", "poste", "modifie", "edite", "mis",
        "jour", "derniere", "modification",
    ),
    "en": ("at", "on", "the", "of", "posted", "published", "updated", "edited", "last", "o'clock"),
    "de": (
        "um", "am", "den", "der", "uhr", "gegen", "veroffentlicht", "geschrieben", "zuletzt",
        "bearbeitet", "aktualisiert",
    ),
    "es": (
        "de", "del", "a", "las", "la", "el", "en", "por", "manana", "hrs", "publicado",
        "actualizado", "editado",
    ),
    "it": ("alle", "ore", "il", "di", "del", "pubblicato", "aggiornato", "modificato"),
    "pt": ("de", "as", "a", "em", "hrs", "publicado", "atualizado", "editado"),
    "nl": ("om", "op", "uur", "van", "geplaatst", "bijgewerkt", "bewerkt"),
    "sv": ("kl", "klockan", "den", "publicerad", "uppdaterad"),
    "pl": ("o", "godz", "dnia", "opublikowano", "zaktualizowano"),
}  # fmt: skip
# Days CLDR leaves out (English has no word for the day before yesterday).
_EXTRA_DAYS = {
    "en": {"day before yesterday": -2},
    "it": {"altro ieri": -2, "altroieri": -2},
    "es": {"antier": -2},
    "sv": {"igar": -1, "idag": 0, "i forrgar": -2},
}
_NOW_WORDS = {
    "fr": ("a l'instant", "maintenant", "a l'instant meme"),
    "en": ("just now", "now", "right now"),
    "de": ("gerade eben", "jetzt", "soeben", "gerade"),
    "es": ("ahora", "ahora mismo", "justo ahora", "hace un momento"),
    "it": ("adesso", "ora", "proprio ora", "poco fa"),
    "pt": ("agora", "agora mesmo", "agorinha"),
    "nl": ("nu", "zojuist", "net", "zonet"),
    "sv": ("nu", "just nu"),
    "pl": ("teraz", "przed chwila"),
}
UNITS = ("year", "month", "week", "day", "hour", "minute", "second")
_STRIP_DOT = re.compile(r"\.$")


def fold(text: str) -> str:
    """``text`` as the tables key it: lower case, accents off, apostrophes straight, one space."""
    text = text.replace("\u2019", "'").replace("\u02bc", "'").replace("`", "'")
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.split())


@dataclass(frozen=True)
class Words:
    """One language's date words, folded."""

    lang: str
    months: dict[str, int]
    weekdays: dict[str, int]  # 0 is Monday
    days: dict[str, int]  # today 0, yesterday -1, the day before -2
    day_phrases: tuple[tuple[str, str], ...]  # "avant hier" written as the one word it keys
    joiners: frozenset[str]
    now_words: frozenset[str]
    ago: re.Pattern[str]  # one alternative per pattern, each with one group: the number
    ago_units: tuple[str, ...]  # the unit of each alternative's group (`UNITS`)
    ago_words: frozenset[str]  # the words after a number in "N units ago": no search without one
    future: frozenset[str]  # tomorrow, the day after: no publication date
    one: frozenset[str]


def _names(table: object) -> dict[str, int]:
    return {fold(_STRIP_DOT.sub("", str(name))): int(key) for key, name in dict(table).items()}  # type: ignore[call-overload]


def _prefixes(wide: dict[str, int]) -> dict[str, int]:
    """Every prefix of three letters or more that only one name starts with."""
    seen: dict[str, set[int]] = {}
    for name, value in wide.items():
        for end in range(3, len(name) + 1):
            seen.setdefault(name[:end], set()).add(value)
    return {prefix: values.pop() for prefix, values in seen.items() if len(values) == 1}


def _ago(locale: Locale, lang: str) -> tuple[re.Pattern[str], tuple[str, ...], frozenset[str]]:
    fields = locale._data["date_fields"]
    number = r"(\d{1,4}|" + "|".join(re.escape(w) for w in _ONE[lang]) + ")"
    patterns: dict[str, str] = {}
    after_words: set[str] = set()
    for unit in UNITS:
        for width in ("", "-short", "-narrow"):
            past = fields.get(unit + width, {}).get("past", {})
            for pattern in dict(past).values():
                before, _, after = fold(str(pattern)).partition("{0}")
                if not re.search(r"[a-z]", before + after):  # "-{0} min": a sign, no words
                    continue
                if not re.search(r"[a-z]", after):  # "il y a {0}": the unit must follow
                    continue
                regex = (
                    re.escape(before.strip()).replace(r"\ ", r"\s*")
                    + (r"\s*" if before.strip() else "")
                    + number
                    + r"\s*"
                    + re.escape(_STRIP_DOT.sub("", after.strip()))
                    .replace(r"\ ", r"\s*")
                    .replace(r"\.", r"s?\.?")  # "5 min. ago", "5 min ago", "2 hrs ago"
                    + r"\.?(?![a-z])"
                )
                patterns.setdefault(regex, unit)
                unit_words = re.findall(r"[^\W\d_]+", after)
                after_words.update(unit_words + [f"{word}s" for word in unit_words])
    # longest first, so "il y a 3 heures" is not read as "il y a 3 h"
    ordered = sorted(patterns, key=len, reverse=True)
    alternatives = re.compile("|".join(f"(?:{p})" for p in ordered))
    return alternatives, tuple(patterns[p] for p in ordered), frozenset(after_words)


@cache
def words(lang: str) -> Words:
    """The date words of ``lang`` (one of `WATCHED`), built once."""
    locale = Locale.parse(lang)
    months: dict[str, int] = {}
    weekdays: dict[str, int] = {}
    for context in ("format", "stand-alone"):
        wide_months = _names(locale.months[context]["wide"])
        wide_days = _names(locale.days[context]["wide"])
        months.update(_prefixes(wide_months))
        weekdays.update(_prefixes(wide_days))
        for width in ("abbreviated", "wide"):
            months.update(_names(locale.months[context][width]))
        for width in ("abbreviated", "short", "wide"):
            weekdays.update(_names(locale.days[context][width]))
    relative = dict(locale._data["date_fields"]["day"]["relative"])
    days = {fold(str(word)): int(offset) for offset, word in relative.items() if offset <= 0}
    future = frozenset(
        folded
        for offset, word in relative.items()
        if offset > 0 and re.fullmatch(r"[^\W\d_]+", folded := fold(str(word)))
    )
    days.update(_EXTRA_DAYS.get(lang, {}))
    phrases = tuple(
        (phrase, re.sub(r"[\s']+", "-", phrase)) for phrase in days if re.search(r"[\s']", phrase)
    )
    days.update({joined: days[phrase] for phrase, joined in phrases})
    ago, units, ago_words = _ago(locale, lang)
    return Words(
        lang=lang,
        months=months,
        weekdays=weekdays,
        days=days,
        day_phrases=phrases,
        joiners=frozenset(_JOINERS[lang]),
        now_words=frozenset(_NOW_WORDS[lang]),
        ago=ago,
        ago_units=units,
        ago_words=ago_words,
        future=future,
        one=frozenset(_ONE[lang]),
    )


def languages(lang: str | None) -> tuple[str, ...]:
    """The watched languages in the order to try them: ``lang``'s own first."""
    own = base_language(lang)
    return ((own,) if own in WATCHED else ()) + tuple(w for w in WATCHED if w != own)


def base_language(lang: str | None) -> str | None:
    """``fr`` for ``fr-CA``, ``pt_BR`` or ``FR``."""
    return re.split(r"[-_]", lang.strip(), maxsplit=1)[0].lower() if lang and lang.strip() else None


# Where English writes the month first: the United States, its territories, Canada, and the
# Philippines. Elsewhere (Latin America included) the day comes first.
_MONTH_FIRST_COUNTRIES = frozenset({"US", "CA", "PH", "PR", "GU", "VI", "AS", "UM", "MP", "FM"})


@cache
def _zone_countries() -> dict[str, str]:
    """Each IANA zone's country, from the tz database's ``zone.tab`` (shipped by tzdata)."""
    table = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text("utf-8")
    out: dict[str, str] = {}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            out[fields[2]] = fields[0]
    return out


@cache
def month_first(lang: str | None, tz: str) -> bool:
    """Whether ``09/10/2018`` is September 10 for a source in ``lang`` and ``tz``: yes for
    ``en-US`` (and ``en-CA``, ``en-PH``), and for plain ``en`` in a zone of those countries
    (``America/New_York``, not ``America/Sao_Paulo``); no for every other language or region."""
    if base_language(lang) != "en" or lang is None:
        return False
    region = re.split(r"[-_]", lang.strip())[1:2]
    if region:
        return region[0].upper() in _MONTH_FIRST_COUNTRIES
    if tz.startswith(("US/", "Canada/")):
        return True
    return _zone_countries().get(tz) in _MONTH_FIRST_COUNTRIES
