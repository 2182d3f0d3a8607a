"""Every date form of the watched languages, one case per form and language: the text as a page
or feed prints it, the source's language or locale, its zone, when the page was fetched, and
the UTC instant a reader must get, or None where the text is no date Veille can trust."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from parsel import Selector

from crawlers.extract.article import extract_article
from crawlers.extract.date_words import month_first
from crawlers.extract.dates import parse_date

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
NEW_YEAR = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)  # 01:30 in Paris, still 2026 in New York

Case = tuple[str, str | None, str, datetime, str | None]


def cases(*rows: Case) -> list[object]:
    return [pytest.param(*row, id=f"{row[1]}:{row[0]}") for row in rows]


WRITTEN = cases(
    ("lun., 24 sept. 2018", "fr", "Europe/Paris", NOW, "2018-09-23T22:00:00"),
    ("24 septembre 2018 à 14 h 03", "fr", "Europe/Paris", NOW, "2018-09-24T12:03:00"),
    ("1er mars 2019", "fr", "Europe/Paris", NOW, "2019-02-28T23:00:00"),
    ("Mar 10 Nov 2026 21:14", "fr", "Europe/Paris", NOW, "2026-11-10T20:14:00"),
    ("mercredi 3 octobre 2018, 08:15", "fr", "Europe/Paris", NOW, "2018-10-03T06:15:00"),
    ("September 24, 2018 at 7:42 pm", "en", "America/New_York", NOW, "2018-09-24T23:42:00"),
    ("Sept. 24, 2018, 7:42 p.m.", "en", "America/New_York", NOW, "2018-09-24T23:42:00"),
    ("Sep 24th, 2018 at 7:42pm", "en", "UTC", NOW, "2018-09-24T19:42:00"),
    ("Mar 10, 2026", "en", "UTC", NOW, "2026-03-10T00:00:00"),
    ("Mi, 03 Okt 2018", "de", "Europe/Berlin", NOW, "2018-10-02T22:00:00"),
    ("24. September 2018 um 19:42", "de", "Europe/Berlin", NOW, "2018-09-24T17:42:00"),
    ("Samstag, 24. März 2018", "de", "Europe/Berlin", NOW, "2018-03-23T23:00:00"),
    ("Mo., 1. Okt. 2018, 08:15 Uhr", "de", "Europe/Berlin", NOW, "2018-10-01T06:15:00"),
    ("mié, 24 sep 2018", "es", "Europe/Madrid", NOW, "2018-09-23T22:00:00"),
    ("24 de septiembre de 2018 a las 19:42", "es", "Europe/Madrid", NOW, "2018-09-24T17:42:00"),
    ("gio 04 ott 2018", "it", "Europe/Rome", NOW, "2018-10-03T22:00:00"),
    ("24 settembre 2018 alle 19:42", "it", "Europe/Rome", NOW, "2018-09-24T17:42:00"),
    ("Seg, 24 Set 2018 19:42:40 -0300", "pt-BR", "America/Sao_Paulo", NOW, "2018-09-24T22:42:40"),
    ("24 de setembro de 2018 às 19:42", "pt", "America/Sao_Paulo", NOW, "2018-09-24T22:42:00"),
    ("wo 03 okt 2018", "nl", "Europe/Amsterdam", NOW, "2018-10-02T22:00:00"),
    ("24 september 2018 om 19:42", "nl", "Europe/Amsterdam", NOW, "2018-09-24T17:42:00"),
    ("Posted: Mon Sep 24, 2018 7:42 pm", "en", "Europe/London", NOW, "2018-09-24T18:42:00"),
    ("Last edited: Sep 24, 2018", "en", "UTC", NOW, "2018-09-24T00:00:00"),
    ("Sep 24 '18", "en", "UTC", NOW, "2018-09-24T00:00:00"),
    ("1º de outubro de 2018", "pt", "America/Sao_Paulo", NOW, "2018-10-01T03:00:00"),
    ("zuletzt bearbeitet: 24.09.2018", "de", "Europe/Berlin", NOW, "2018-09-23T22:00:00"),
    # a name of another language than the page's: an English feed date on a Brazilian feed
    ("Mon, 24 Sep 2018 19:42:40 +0000", "pt-BR", "America/Sao_Paulo", NOW, "2018-09-24T19:42:40"),
    ("tor, 27 sep 2018 17:30:00 +0200", "sv-SE", "Europe/Stockholm", NOW, "2018-09-27T15:30:00"),
    ("24 września 2018 o 19:42", "pl", "Europe/Warsaw", NOW, "2018-09-24T17:42:00"),
    # a page in a language Veille does not watch: dateparser reads it in that language first
    ("24 сентября 2018", "ru", "Europe/Moscow", NOW, "2018-09-23T21:00:00"),
    # no year: the latest such day not ahead of when the page was fetched
    ("24 sept.", "fr", "Europe/Paris", NOW, "2026-09-23T22:00:00"),
    ("Dec 24", "en", "UTC", NOW, "2025-12-24T00:00:00"),
    ("Dec 31", "en", "UTC", NEW_YEAR, "2026-12-31T00:00:00"),
)

ZONES = cases(
    ("Mon, 24 Sep 2018 19:42:40 GMT", "en", "Europe/Paris", NOW, "2018-09-24T19:42:40"),
    ("Mon, 24 Sep 2018 19:42:40 CEST", "en", "UTC", NOW, "2018-09-24T17:42:40"),
    ("Mon, 24 Sep 2018 19:42:40 CET", "fr", "UTC", NOW, "2018-09-24T18:42:40"),
    ("24 Sep 2018 19:42 PST", "en", "UTC", NOW, "2018-09-25T03:42:00"),
    ("Mon, 24 Sep 2018 19:42:40 EST", "en", "UTC", NOW, "2018-09-25T00:42:40"),
    ("Mon, 24 Sep 2018 19:42:40 GMT+2", "en", "UTC", NOW, "2018-09-24T17:42:40"),
    ("2018-09-24T19:42:40Z", "fr", "Europe/Paris", NOW, "2018-09-24T19:42:40"),
    ("2018-09-24T19:42:40+02:00", "fr", "UTC", NOW, "2018-09-24T17:42:40"),
    ("2018-09-24 19:42", "fr", "Europe/Paris", NOW, "2018-09-24T17:42:00"),
    ("24 Sep 2018 19:42", "en", "Europe/Paris", NOW, "2018-09-24T17:42:00"),
    ("24 Sep 2018 19:42", "en", "America/Sao_Paulo", NOW, "2018-09-24T22:42:00"),
)

NUMERIC = cases(
    ("03.03.2011, 14:17", "de", "Europe/Berlin", NOW, "2011-03-03T13:17:00"),
    ("24/09/2018 19:42", "fr", "Europe/Paris", NOW, "2018-09-24T17:42:00"),
    ("24.09.2018 19.42 Uhr", "de", "Europe/Berlin", NOW, "2018-09-24T17:42:00"),
    ("24-09-2018", "nl", "Europe/Amsterdam", NOW, "2018-09-23T22:00:00"),
    ("2018/09/24", "en-US", "UTC", NOW, "2018-09-24T00:00:00"),
    ("09/24/2018", "en-US", "America/New_York", NOW, "2018-09-24T04:00:00"),
    ("11-02-2026, 10:00 AM", "en", "America/New_York", NOW, "2026-11-02T15:00:00"),
    # the source's locale and zone decide the order of an ambiguous date
    ("09/10/2018", "en-US", "UTC", NOW, "2018-09-10T00:00:00"),
    ("09/10/2018", "en", "America/Chicago", NOW, "2018-09-10T05:00:00"),
    ("09/10/2018", "en", "America/Sao_Paulo", NOW, "2018-10-09T03:00:00"),
    ("09/10/2018", "en-GB", "America/New_York", NOW, "2018-10-09T04:00:00"),
    ("09/10/2018", "en", "Europe/London", NOW, "2018-10-08T23:00:00"),
    ("09/10/2018", "fr-CA", "America/Toronto", NOW, "2018-10-09T04:00:00"),
    ("09/10/2018", "pt-BR", "America/Sao_Paulo", NOW, "2018-10-09T03:00:00"),
    ("09/10/2018", None, "America/New_York", NOW, "2018-10-09T04:00:00"),
    # an unambiguous date is read right whatever the order
    ("13/02/2018", "en-US", "UTC", NOW, "2018-02-13T00:00:00"),
    ("02/13/2018", "fr", "UTC", NOW, "2018-02-13T00:00:00"),
    # two-digit years: the latest century not ahead of now
    ("24/09/18 19:42", "fr", "Europe/Paris", NOW, "2018-09-24T17:42:00"),
    ("03.03.11, 14:17", "de", "Europe/Berlin", NOW, "2011-03-03T13:17:00"),
    ("24.09.98", "de", "UTC", NOW, "1998-09-24T00:00:00"),
    ("Mon, 24 Sep 18 19:42:40 GMT", "en", "UTC", NOW, "2018-09-24T19:42:40"),
)

RELATIVE = cases(
    ("il y a 3 heures", "fr", "Europe/Paris", NOW, "2026-11-20T09:00:00"),
    ("il y a une heure", "fr", "Europe/Paris", NOW, "2026-11-20T11:00:00"),
    ("il y a 2 jours", "fr", "Europe/Paris", NOW, "2026-11-18T12:00:00"),
    ("il y a 2 mois", "fr", "Europe/Paris", NOW, "2026-09-20T12:00:00"),
    ("hier à 14:17", "fr", "Europe/Paris", NOW, "2026-11-19T13:17:00"),
    ("Aujourd'hui, 14:03", "fr", "Europe/Paris", NOW, "2026-11-20T13:03:00"),
    ("Aujourd’hui à 9h05", "fr", "Europe/Paris", NOW, "2026-11-20T08:05:00"),
    ("avant-hier", "fr", "Europe/Paris", NOW, "2026-11-17T23:00:00"),
    ("hier à 23:50", "fr", "Europe/Paris", NEW_YEAR, "2026-12-31T22:50:00"),
    ("à l'instant", "fr", "Europe/Paris", NOW, "2026-11-20T12:00:00"),
    ("yesterday", "en", "UTC", NOW, "2026-11-19T00:00:00"),
    ("2 hours ago", "en", "UTC", NOW, "2026-11-20T10:00:00"),
    ("an hour ago", "en", "UTC", NOW, "2026-11-20T11:00:00"),
    ("3 weeks ago", "en", "UTC", NOW, "2026-10-30T12:00:00"),
    ("5 min ago", "en", "UTC", NOW, "2026-11-20T11:55:00"),
    ("Yesterday at 3:00 PM", "en", "America/New_York", NOW, "2026-11-19T20:00:00"),
    ("Today, 2:03 AM", "en", "America/Los_Angeles", NOW, "2026-11-20T10:03:00"),
    ("Monday at 3:04 PM", "en", "America/New_York", NOW, "2026-11-16T20:04:00"),
    ("Heute, 09:12", "de", "Europe/Berlin", NOW, "2026-11-20T08:12:00"),
    ("Gestern, 22:40", "de", "Europe/Berlin", NOW, "2026-11-19T21:40:00"),
    ("vor 3 Stunden", "de", "Europe/Berlin", NOW, "2026-11-20T09:00:00"),
    ("vor einer Stunde", "de", "Europe/Berlin", NOW, "2026-11-20T11:00:00"),
    ("vorgestern", "de", "Europe/Berlin", NOW, "2026-11-17T23:00:00"),
    ("hace 2 días", "es", "Europe/Madrid", NOW, "2026-11-18T12:00:00"),
    ("hace 5 minutos", "es", "Europe/Madrid", NOW, "2026-11-20T11:55:00"),
    ("ayer", "es", "Europe/Madrid", NOW, "2026-11-18T23:00:00"),
    ("ayer a las 14:17", "es", "Europe/Madrid", NOW, "2026-11-19T13:17:00"),
    ("há 3 horas", "pt", "America/Sao_Paulo", NOW, "2026-11-20T09:00:00"),
    ("ontem", "pt-BR", "America/Sao_Paulo", NOW, "2026-11-19T03:00:00"),
    ("ontem às 14:17", "pt", "America/Sao_Paulo", NOW, "2026-11-19T17:17:00"),
    ("3 uur geleden", "nl", "Europe/Amsterdam", NOW, "2026-11-20T09:00:00"),
    ("2 dagen geleden", "nl", "Europe/Amsterdam", NOW, "2026-11-18T12:00:00"),
    ("gisteren", "nl", "Europe/Amsterdam", NOW, "2026-11-18T23:00:00"),
    ("gisteren om 14:17", "nl", "Europe/Amsterdam", NOW, "2026-11-19T13:17:00"),
    ("2 ore fa", "it", "Europe/Rome", NOW, "2026-11-20T10:00:00"),
    ("igår kl. 14:17", "sv", "Europe/Stockholm", NOW, "2026-11-19T13:17:00"),
    ("för 3 timmar sedan", "sv", "Europe/Stockholm", NOW, "2026-11-20T09:00:00"),
    ("wczoraj o 14:17", "pl", "Europe/Warsaw", NOW, "2026-11-19T13:17:00"),
    ("3 godziny temu", "pl", "Europe/Warsaw", NOW, "2026-11-20T09:00:00"),
    ("un'ora fa", "it", "Europe/Rome", NOW, "2026-11-20T11:00:00"),
    ("ieri", "it", "Europe/Rome", NOW, "2026-11-18T23:00:00"),
    ("ieri alle 14:17", "it", "Europe/Rome", NOW, "2026-11-19T13:17:00"),
    ("l’altro ieri alle 14:00", "it", "Europe/Rome", NOW, "2026-11-18T13:00:00"),
    ("il y a 3h", "fr", "Europe/Paris", NOW, "2026-11-20T09:00:00"),
    ("il y a 3 j", "fr", "Europe/Paris", NOW, "2026-11-17T12:00:00"),
    ("2 hrs ago", "en", "UTC", NOW, "2026-11-20T10:00:00"),
    ("3 mins ago", "en", "UTC", NOW, "2026-11-20T11:57:00"),
    ("ayer por la mañana", "es", "Europe/Madrid", NOW, "2026-11-18T23:00:00"),
    # two units: the larger is read, never the smaller alone
    ("3 hours and 12 minutes ago", "en", "UTC", NOW, "2026-11-20T09:00:00"),
    ("2 uur en 5 minuten geleden", "nl", "Europe/Amsterdam", NOW, "2026-11-20T10:00:00"),
    ("il y a 3 heures et 12 minutes", "fr", "Europe/Paris", NOW, "2026-11-20T09:00:00"),
    # a relative date in another language than the page says
    ("vor 3 Stunden", "fr", "Europe/Paris", NOW, "2026-11-20T09:00:00"),
)

NOT_DATES = cases(
    ("1 234", "fr", "Europe/Paris", NOW, None),
    ("#12", "fr", "Europe/Paris", NOW, None),
    ("345", "de", "Europe/Berlin", NOW, None),
    ("Messages : 345", "fr", "Europe/Paris", NOW, None),
    ("Posts: 1,234", "en", "UTC", NOW, None),
    ("Beiträge: 345", "de", "Europe/Berlin", NOW, None),
    ("Mensagens: 1.234", "pt", "America/Sao_Paulo", NOW, None),
    ("14:17", "fr", "Europe/Paris", NOW, None),
    ("Membre", "fr", "Europe/Paris", NOW, None),
    ("Joined: Mar 2009", "en", "UTC", NOW, None),  # a month, no day
    ("31/02/2018", "fr", "UTC", NOW, None),  # no such day
    ("13/13/2018", "fr", "UTC", NOW, None),
    ("30 février 2018", "fr", "UTC", NOW, None),
    ("24 Sep 2018 25:70", "en", "UTC", NOW, None),
    ("Sep '18", "en", "UTC", NOW, None),  # a month, no day
    ("9999 years ago", "en", "UTC", NOW, None),
    ("Sat, 30 Nov -0001 00:00:00 +0000", "fr", "UTC", NOW, None),  # PHP's zero date
    ("demain", "fr", "Europe/Paris", NOW, None),  # not published yet
    ("tomorrow", "en", "UTC", NOW, None),
    ("mañana", "es", "Europe/Madrid", NOW, None),
    ("ago", "es", "Europe/Madrid", NOW, None),  # a month alone
    ("septembre", "fr", "Europe/Paris", NOW, None),
    ("v1.2.3", "en", "UTC", NOW, None),
    ("2031-01-01T00:00:00Z", "fr", "UTC", NOW, None),  # more than a day ahead
    ("12 mars 1989", "fr", "UTC", NOW, None),  # before 1990
    ("", "fr", "UTC", NOW, None),
)


def _check(text: str, lang: str | None, tz: str, now: datetime, expected: str | None) -> None:
    parsed = parse_date(text, tz=tz, now=now, lang=lang)
    if expected is None:
        assert parsed is None
        return
    assert parsed is not None, f"{text!r} not read"
    assert parsed.utcoffset() is not None
    assert parsed == datetime.fromisoformat(expected).replace(tzinfo=UTC)


@pytest.mark.parametrize(("text", "lang", "tz", "now", "expected"), WRITTEN)
def test_written_dates(text: str, lang: str, tz: str, now: datetime, expected: str) -> None:
    _check(text, lang, tz, now, expected)


@pytest.mark.parametrize(("text", "lang", "tz", "now", "expected"), ZONES)
def test_zone_names_and_offsets(
    text: str, lang: str, tz: str, now: datetime, expected: str
) -> None:
    _check(text, lang, tz, now, expected)


@pytest.mark.parametrize(("text", "lang", "tz", "now", "expected"), NUMERIC)
def test_numeric_dates(text: str, lang: str | None, tz: str, now: datetime, expected: str) -> None:
    _check(text, lang, tz, now, expected)


@pytest.mark.parametrize(("text", "lang", "tz", "now", "expected"), RELATIVE)
def test_relative_dates(text: str, lang: str, tz: str, now: datetime, expected: str) -> None:
    _check(text, lang, tz, now, expected)


@pytest.mark.parametrize(("text", "lang", "tz", "now", "expected"), NOT_DATES)
def test_what_is_no_date_is_unknown(
    text: str, lang: str, tz: str, now: datetime, expected: None
) -> None:
    _check(text, lang, tz, now, expected)


def test_relative_dates_follow_the_fetch_time() -> None:
    later = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    first = parse_date("il y a 3 heures", tz="Europe/Paris", now=NOW, lang="fr")
    second = parse_date("il y a 3 heures", tz="Europe/Paris", now=later, lang="fr")
    assert first is not None
    assert second is not None
    assert second - first == later - NOW


@pytest.mark.parametrize(
    ("lang", "tz", "expected"),
    [
        ("en-US", "Europe/Paris", True),
        ("en_US", "UTC", True),
        ("en", "America/New_York", True),
        ("en", "America/Sao_Paulo", False),
        ("en", "America/Argentina/Buenos_Aires", False),
        ("en", "Europe/London", False),
        ("en-GB", "America/New_York", False),
        ("fr", "America/Montreal", False),
        ("es", "America/Mexico_City", False),
        (None, "America/New_York", False),
    ],
)
def test_month_first_follows_locale_and_zone(lang: str | None, tz: str, expected: bool) -> None:
    assert month_first(lang, tz) is expected


PIECES = [
    "il y a", "9999", "ans", "years ago", "vor", "Jahren", "31", "02", "2018", "/", ".", ":",
    "12", "99", "pm", "GMT+14", "utc-99", "+9999", "sept.", "mar", "hier", "à", "Monday", "'18",
    "00", "h", "Uhr", "há", "un'", "ora", "fa", "\u00a0", "²", "٣", "Z", "1537811560", "#",
]  # fmt: skip


@given(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=7),
    st.sampled_from([" ", "", "/", "."]),
    st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati", "Not/AZone"]),
    st.sampled_from(["fr", "en-US", None, "pt_BR", "xx"]),
)
def test_pieces_of_dates_give_a_trusted_date_or_none(
    pieces: list[str], joiner: str, tz: str, lang: str | None
) -> None:
    parsed = parse_date(joiner.join(pieces), tz=tz, now=NOW, lang=lang)
    assert parsed is None or (parsed.utcoffset() is not None and parsed <= NOW.replace(day=21))


@pytest.mark.parametrize(
    ("page_lang", "expected"),
    [("en-US", "2018-09-10T00:00:00"), ("en-GB", "2018-10-09T00:00:00")],
)
def test_an_article_pages_declared_locale_orders_its_numeric_date(
    page_lang: str, expected: str
) -> None:
    html = (
        f'<!doctype html><html lang="{page_lang}"><head><title>Kwizo review</title></head>'
        "<body><article><h1>The Kwizo robot, reviewed</h1>"
        '<span class="entry-date">09/10/2018</span>'
        "<p>We spent a week with the Kwizo robot vacuum and it kept the floors clean.</p>"
        "</article></body></html>"
    )
    found = extract_article(Selector(text=html), "https://blog.example/kwizo", now=NOW)
    assert found.published == datetime.fromisoformat(expected).replace(tzinfo=UTC)
