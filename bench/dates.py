"""Date reading speed and accuracy: ``python -m bench.dates [--rounds N]``.

Workload: `WORKLOAD`, 60 date texts of the forms feeds, pages and forums print, in seven of the
watched languages (written dates with localized weekday and month names, RFC 822 with zone
names, numeric day-first and month-first dates, two-digit years, relative dates, and counts
that are no dates), each with the source's language or locale, its zone, and the UTC instant
expected when the page was fetched at `NOW` (None: no date).

Three readers go through the same workload in the same run:
- ``veille``: `crawlers.extract.dates.parse_date`, each round with a fetch time one second
  later, so that its result cache never answers (a cold reading of every text);
- ``veille (cached)``: the same with one fetch time, as for a forum page whose posts repeat
  their date forms;
- ``dateparser, 1 language`` (the baseline): ``dateparser.parse`` with the source's one
  language, its zone, the fetch time and the locale's date order;
- ``dateparser, all languages``: the same with every watched language (nine), as a reader must
  do when it cannot trust the page's declared language.

For each it prints parses per second and how many texts it read right (the exact instant, or
None for a non-date). The speed ratio is against the baseline.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dateparser

from crawlers.extract.date_words import WATCHED, base_language, month_first
from crawlers.extract.dates import parse_date

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
P, B, NY, SP = "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Sao_Paulo"
WORKLOAD: list[tuple[str, str, str, str | None]] = [
    ("lun., 24 sept. 2018", "fr", P, "2018-09-23T22:00"),
    ("24 septembre 2018 à 14 h 03", "fr", P, "2018-09-24T12:03"),
    ("Mar 10 Nov 2026 21:14", "fr", P, "2026-11-10T20:14"),
    ("1er mars 2019", "fr", P, "2019-02-28T23:00"),
    ("24/09/2018 19:42", "fr", P, "2018-09-24T17:42"),
    ("24/09/18 19:42", "fr", P, "2018-09-24T17:42"),
    ("il y a 3 heures", "fr", P, "2026-11-20T09:00"),
    ("hier à 14:17", "fr", P, "2026-11-19T13:17"),
    ("Aujourd'hui, 14:03", "fr", P, "2026-11-20T13:03"),
    ("avant-hier", "fr", P, "2026-11-17T23:00"),
    ("Messages : 345", "fr", P, None),
    ("September 24, 2018 at 7:42 pm", "en", NY, "2018-09-24T23:42"),
    ("Mon, 24 Sep 2018 19:42:40 GMT", "en", "UTC", "2018-09-24T19:42"),
    ("Mon, 24 Sep 2018 19:42:40 CEST", "en", "UTC", "2018-09-24T17:42"),
    ("24 Sep 2018 19:42 PST", "en", "UTC", "2018-09-25T03:42"),
    ("Mon, 24 Sep 18 19:42:40 GMT", "en", "UTC", "2018-09-24T19:42"),
    ("09/24/2018", "en-US", NY, "2018-09-24T04:00"),
    ("09/10/2018", "en", "America/Chicago", "2018-09-10T05:00"),
    ("09/10/2018", "en-GB", "Europe/London", "2018-10-08T23:00"),
    ("yesterday", "en", "UTC", "2026-11-19T00:00"),
    ("2 hours ago", "en", "UTC", "2026-11-20T10:00"),
    ("Yesterday at 3:00 PM", "en", NY, "2026-11-19T20:00"),
    ("Posts: 1,234", "en", "UTC", None),
    ("#12", "en", "UTC", None),
    ("Mi, 03 Okt 2018", "de", B, "2018-10-02T22:00"),
    ("24. September 2018 um 19:42", "de", B, "2018-09-24T17:42"),
    ("03.03.2011, 14:17", "de", B, "2011-03-03T13:17"),
    ("Heute, 09:12", "de", B, "2026-11-20T08:12"),
    ("Gestern, 22:40", "de", B, "2026-11-19T21:40"),
    ("vor 3 Stunden", "de", B, "2026-11-20T09:00"),
    ("Beiträge: 345", "de", B, None),
    ("mié, 24 sep 2018", "es", "Europe/Madrid", "2018-09-23T22:00"),
    ("24 de septiembre de 2018 a las 19:42", "es", "Europe/Madrid", "2018-09-24T17:42"),
    ("hace 2 días", "es", "Europe/Madrid", "2026-11-18T12:00"),
    ("ayer", "es", "Europe/Madrid", "2026-11-18T23:00"),
    ("ayer a las 14:17", "es", "Europe/Madrid", "2026-11-19T13:17"),
    ("gio 04 ott 2018", "it", "Europe/Rome", "2018-10-03T22:00"),
    ("24 settembre 2018 alle 19:42", "it", "Europe/Rome", "2018-09-24T17:42"),
    ("2 ore fa", "it", "Europe/Rome", "2026-11-20T10:00"),
    ("ieri", "it", "Europe/Rome", "2026-11-18T23:00"),
    ("ieri alle 14:17", "it", "Europe/Rome", "2026-11-19T13:17"),
    ("Seg, 24 Set 2018 19:42:40 -0300", "pt-BR", SP, "2018-09-24T22:42"),
    ("24 de setembro de 2018 às 19:42", "pt", SP, "2018-09-24T22:42"),
    ("há 3 horas", "pt", SP, "2026-11-20T09:00"),
    ("ontem", "pt", SP, "2026-11-19T03:00"),
    ("ontem às 14:17", "pt", SP, "2026-11-19T17:17"),
    ("09/10/2018", "pt-BR", SP, "2018-10-09T03:00"),
    ("wo 03 okt 2018", "nl", "Europe/Amsterdam", "2018-10-02T22:00"),
    ("24 september 2018 om 19:42", "nl", "Europe/Amsterdam", "2018-09-24T17:42"),
    ("3 uur geleden", "nl", "Europe/Amsterdam", "2026-11-20T09:00"),
    ("gisteren", "nl", "Europe/Amsterdam", "2026-11-18T23:00"),
    ("gisteren om 14:17", "nl", "Europe/Amsterdam", "2026-11-19T13:17"),
    ("2018-09-24T19:42:40+02:00", "fr", "UTC", "2018-09-24T17:42"),
    ("1537811560", "en", "UTC", "2018-09-24T17:52"),
    ("Sept. 24, 2018, 7:42 p.m.", "en", NY, "2018-09-24T23:42"),
    ("Monday at 3:04 PM", "en", NY, "2026-11-16T20:04"),
    ("13/02/2018", "en-US", "UTC", "2018-02-13T00:00"),
    ("Samstag, 24. März 2018", "de", B, "2018-03-23T23:00"),
    ("31/02/2018", "fr", P, None),
    ("1 234", "fr", P, None),
]

Reader = Callable[[str, str, str, datetime], datetime | None]


def veille(text: str, lang: str, tz: str, now: datetime) -> datetime | None:
    return parse_date(text, tz=tz, now=now, lang=lang)


def _dateparser(languages: Callable[[str], list[str]]) -> Reader:
    def read(text: str, lang: str, tz: str, now: datetime) -> datetime | None:
        settings: dict[str, Any] = {
            "TIMEZONE": tz,
            "TO_TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
            "RELATIVE_BASE": now.astimezone(ZoneInfo(tz)).replace(tzinfo=None),
            "DATE_ORDER": "MDY" if month_first(lang, tz) else "DMY",
        }
        try:
            parsed: datetime | None = dateparser.parse(
                text, languages=languages(lang), settings=settings
            )
        except (ValueError, OverflowError, TypeError, KeyError):
            return None
        return parsed

    return read


def _right(found: datetime | None, expected: str | None) -> bool:
    if expected is None or found is None:
        return found is None and expected is None
    return found.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") == expected


def measure(reader: Reader, rounds: int, *, fresh_now: bool) -> tuple[float, int]:
    """Parses per second over ``rounds`` passes of the workload, and texts read right."""
    right = sum(_right(reader(t, lang, tz, NOW), want) for t, lang, tz, want in WORKLOAD)
    start = time.perf_counter()
    for n in range(rounds):
        now = NOW + timedelta(seconds=n + 1) if fresh_now else NOW
        for text, lang, tz, _ in WORKLOAD:
            reader(text, lang, tz, now)
    elapsed = time.perf_counter() - start
    return rounds * len(WORKLOAD) / elapsed, right


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    one = _dateparser(lambda lang: [base_language(lang) or "en"])
    every = _dateparser(
        lambda lang: (
            [base_language(lang) or "en"] + [w for w in WATCHED if w != base_language(lang)]
        )
    )
    # warm every reader's tables and imports once, outside the timings
    for reader in (veille, one, every):
        reader("24 sept. 2018", "fr", "UTC", NOW)
    rows = [
        ("dateparser, 1 language (baseline)", *measure(one, args.rounds, fresh_now=True)),
        ("dateparser, all watched languages", *measure(every, args.rounds, fresh_now=True)),
        ("veille", *measure(veille, args.rounds, fresh_now=True)),
        ("veille (cached)", *measure(veille, args.rounds, fresh_now=False)),
    ]
    base = rows[0][1]
    print(f"workload: {len(WORKLOAD)} date texts, {args.rounds} rounds each")
    print(f"{'reader':36} {'parses/s':>10} {'vs baseline':>12} {'read right':>11}")
    for name, rate, right in rows:
        print(f"{name:36} {rate:10.0f} {rate / base:11.1f}x {right:>5}/{len(WORKLOAD)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
