"""Feed dates as real feeds write them: localized names feedparser does not read, dates without
a zone (read in the source's zone, not taken for UTC), zone names feedparser takes for UTC, and
entries without a date or with an impossible one, which stay unknown, never "now"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawlers.feeds.parse import parse_feed

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def rss(lang: str | None, *dates: str | None, dc: bool = False) -> bytes:
    items = []
    for n, date in enumerate(dates):
        if date is None:
            stamp = ""
        elif dc:
            stamp = f"<dc:date>{date}</dc:date>"
        else:
            stamp = f"<pubDate>{date}</pubDate>"
        items.append(
            f"<item><title>Avis {n}</title><link>https://blog.example/p/{n}</link>"
            f"<guid>https://blog.example/p/{n}</guid>{stamp}"
            f"<description>Le robot Kwizo {n} est arrivé.</description></item>"
        )
    language = f"<language>{lang}</language>" if lang else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Blog Kwizo</title><link>https://blog.example/</link>{language}"
        f"{''.join(items)}</channel></rss>"
    ).encode()


def atom(lang: str, published: str | None, updated: str | None) -> bytes:
    stamps = (f"<published>{published}</published>" if published else "") + (
        f"<updated>{updated}</updated>" if updated else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">'
        "<title>Forum Gartenfreunde</title><id>urn:example:garten</id>"
        "<entry><title>Neuer Mäher</title><id>urn:example:garten:1</id>"
        '<link href="https://garten.example/t/1"/>'
        f"{stamps}<summary>Der Mähroboter Grasfix mäht endlich leise.</summary></entry></feed>"
    ).encode()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_brazilian_dates_are_read_not_dropped() -> None:
    body = rss("pt-BR", "Seg, 24 Set 2018 19:42:40 -0300", "Ter, 25 Set 2018 08:05:00 -0300")
    feed = parse_feed(body, "application/rss+xml", now=NOW, tz="America/Sao_Paulo")
    assert [e.published for e in feed.entries] == [
        utc("2018-09-24T22:42:40"),
        utc("2018-09-25T11:05:00"),
    ]


def test_french_dates_without_zone_are_read_in_the_source_zone() -> None:
    body = rss("fr", "lun., 24 sept. 2018 14:03", "mar. 25 sept. 2018")
    feed = parse_feed(body, now=NOW, tz="Europe/Paris")
    assert [e.published for e in feed.entries] == [
        utc("2018-09-24T12:03:00"),
        utc("2018-09-24T22:00:00"),
    ]


@pytest.mark.parametrize(
    ("date", "tz", "expected"),
    [
        # feedparser reads these as UTC; the site's zone is the better reading
        ("24 Sep 2018 19:42", "Europe/Paris", "2018-09-24T17:42:00"),
        ("Mon, 24 Sep 2018 19:42:40", "America/New_York", "2018-09-24T23:42:40"),
        # a zone name outside RFC 822, which feedparser takes for UTC
        ("Mon, 24 Sep 2018 19:42:40 CEST", "UTC", "2018-09-24T17:42:40"),
        ("Mon, 24 Sep 2018 19:42:40 MESZ", "UTC", "2018-09-24T17:42:40"),
        # what feedparser reads right stays as it reads it
        ("Mon, 24 Sep 2018 19:42:40 GMT", "Europe/Paris", "2018-09-24T19:42:40"),
        ("Mon, 24 Sep 2018 19:42:40 +0200", "America/New_York", "2018-09-24T17:42:40"),
        ("Mon, 24 Sep 2018 19:42:40 PDT", "Europe/Paris", "2018-09-25T02:42:40"),
        # numeric forms feedparser refuses
        ("24/09/2018 19:42", "Europe/Paris", "2018-09-24T17:42:00"),
        ("03.03.2011, 14:17", "Europe/Berlin", "2011-03-03T13:17:00"),
        # a two-digit year
        ("Mon, 24 Sep 18 19:42:40 GMT", "UTC", "2018-09-24T19:42:40"),
        ("24/09/18 19:42", "Europe/Paris", "2018-09-24T17:42:00"),
    ],
)
def test_rss_dates(date: str, tz: str, expected: str) -> None:
    feed = parse_feed(rss(None, date), now=NOW, tz=tz, lang="fr")
    assert feed.entries[0].published == utc(expected)


def test_dc_date_without_zone_is_read_in_the_source_zone() -> None:
    feed = parse_feed(rss("fr", "2018-09-24T19:42:40", dc=True), now=NOW, tz="Europe/Paris")
    assert feed.entries[0].published == utc("2018-09-24T17:42:40")


@pytest.mark.parametrize(
    ("published", "updated", "expected"),
    [
        ("2018-10-03T10:00:00+02:00", None, "2018-10-03T08:00:00"),
        ("2018-10-03T10:00:00", None, "2018-10-03T08:00:00"),  # no zone: Berlin's
        ("Mi, 03 Okt 2018 10:00:00 +0200", None, "2018-10-03T08:00:00"),
        (None, "03.10.2018 10:00", "2018-10-03T08:00:00"),
        ("Mi, 03 Okt 2018", "2018-10-05T10:00:00Z", "2018-10-02T22:00:00"),
        ("kein Datum", "2018-10-05T10:00:00Z", "2018-10-05T10:00:00"),
    ],
)
def test_atom_dates(published: str | None, updated: str | None, expected: str) -> None:
    feed = parse_feed(atom("de", published, updated), now=NOW, tz="Europe/Berlin")
    assert feed.entries[0].published == utc(expected)


@pytest.mark.parametrize(
    "date",
    [
        None,
        "",
        "Mon, 31 Feb 2018 19:42:40 GMT",  # no such day
        "31/02/2018 10:00",
        "Sat, 01 Jan 2031 00:00:00 GMT",  # years ahead
        "Mon, 01 Jan 1979 00:00:00 GMT",  # before 1990
        "bientôt",
        "12",
    ],
)
def test_a_feed_date_veille_cannot_trust_is_unknown(date: str | None) -> None:
    feed = parse_feed(rss("fr", date), now=NOW, tz="Europe/Paris")
    assert feed.entries[0].published is None


def test_the_callers_language_decides_an_ambiguous_numeric_date() -> None:
    body = rss("en-us", "09/10/2018 10:00")
    american = parse_feed(body, now=NOW, tz="America/New_York")
    french = parse_feed(body, now=NOW, tz="America/New_York", lang="fr")
    assert american.entries[0].published == utc("2018-09-10T14:00:00")
    assert french.entries[0].published == utc("2018-10-09T14:00:00")


def test_json_feed_dates_outside_rfc3339_are_read() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "Kwizo", "language": "fr",'
        b' "items": ['
        b'{"id": "1", "url": "https://blog.example/1", "content_text": "un",'
        b' "date_published": "2018-09-24T19:42:00"},'
        b'{"id": "2", "url": "https://blog.example/2", "content_text": "deux",'
        b' "date_published": "lun., 24 sept. 2018 19:42"},'
        b'{"id": "3", "url": "https://blog.example/3", "content_text": "trois",'
        b' "date_published": "pas de date"}]}'
    )
    feed = parse_feed(body, "application/feed+json", now=NOW, tz="Europe/Paris")
    assert [e.published for e in feed.entries] == [
        utc("2018-09-24T17:42:00"),
        utc("2018-09-24T17:42:00"),
        None,
    ]
