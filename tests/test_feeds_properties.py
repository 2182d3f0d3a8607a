"""Property-based tests of what a server can send the feed poller: feed documents (RSS, Atom,
JSON Feed) built by strategies, with random structure, depth, encodings, dates and garbage, and
the dates and delays read from them. Whatever the bytes, `parse_feed` returns a feed or raises
`NotAFeed`; every date read is aware, in Veille's trusted range, or unknown (None); every delay
is a finite number of seconds or unknown."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawlers.extract.dates import EARLIEST, FUTURE_SLACK, parse_date, sane_utc
from crawlers.feeds.parse import MAX_JSON_DEPTH, NotAFeed, ParsedFeed, parse_feed
from crawlers.fetch import retry_after_seconds

pytestmark = pytest.mark.hostile

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# -- dates as servers write them ----------------------------------------------------------------

offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60 - 59, 23 * 60 + 59)
)
any_datetime = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))
aware = st.builds(lambda d, tz: d.replace(tzinfo=tz), any_datetime, offsets)
iso_dates = st.one_of(
    aware.map(datetime.isoformat),
    any_datetime.map(datetime.isoformat),
    aware.map(lambda d: d.isoformat().replace("+00:00", "Z")),
    st.sampled_from(
        [
            "9999-12-31T23:59:59-14:00",
            "9999-12-31T23:59:59-23:59",
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00Z",
            "1989-12-31T23:59:59Z",
            "2026-11-21T09:00:01+00:00",
        ]
    ),
)
http_dates = st.one_of(
    aware.map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S %z")),
    st.sampled_from(
        [
            "Fri, 31 Dec 9999 23:59:59 -1400",
            "Mon, 01 Jan 0001 00:00:00 +1400",
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Sun, 31 Dec 99999 23:59:59 GMT",
            "31 Dec 9999",
        ]
    ),
)
epochs = st.integers(-(10**20), 10**20).map(str)
date_texts = st.one_of(iso_dates, http_dates, epochs, st.text(max_size=60))


def trusted(value: datetime | None) -> bool:
    """None, or an aware date from 1990 to a day after NOW."""
    return value is None or (
        value.utcoffset() is not None and EARLIEST <= value <= NOW + FUTURE_SLACK
    )


@given(aware | any_datetime)
def test_sane_utc_gives_a_trusted_date_or_none(value: datetime) -> None:
    assert trusted(sane_utc(value, NOW))


@given(date_texts, st.sampled_from(["UTC", "Europe/Paris", "Pacific/Kiritimati"]))
def test_page_dates_are_trusted_or_unknown(text: str, tz: str) -> None:
    assert trusted(parse_date(text, tz=tz, now=NOW, lang="fr"))


@given(st.one_of(http_dates, st.integers(0, 10**30).map(str), st.text(max_size=30)))
def test_retry_after_is_finite_seconds_or_unknown(value: str) -> None:
    seconds = retry_after_seconds(value, NOW)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)


# -- feed documents ------------------------------------------------------------------------------

ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252", "ascii"]
texts = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40
) | st.sampled_from(["<b>html</b>", "&amp; &bogus; &#0; &#x110000;", "]]>", "\x00\x0b"])
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | texts
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for i in range(depth):
        value = [value] if i % 2 else {"x": value}
    return value


json_items = st.fixed_dictionaries(
    {},
    optional={
        "id": json_scalars | json_values,
        "url": texts | st.just("http://example.com/a") | json_values,
        "title": texts | json_values,
        "content_text": texts | json_values,
        "content_html": texts | json_values,
        "summary": texts,
        "date_published": iso_dates | json_values,
        "date_modified": iso_dates,
        "author": json_values | st.fixed_dictionaries({"name": texts | json_values}),
        "authors": json_values
        | st.lists(st.fixed_dictionaries({"name": texts | json_values}), max_size=3),
        "language": texts | json_values,
        "_extension": st.integers(0, 300).map(nested),
    },
)
json_feeds = st.fixed_dictionaries(
    {
        "version": st.sampled_from(
            ["https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1"]
        )
        | json_values,
        "items": st.lists(json_items | json_values, max_size=4) | json_values,
    },
    optional={"title": texts | json_values, "language": texts | json_values},
)


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    doc = draw(json_feeds | json_values)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")


@st.composite
def xml_documents(draw: st.DrawFn) -> bytes:
    """RSS 2.0 or Atom, well formed or not, in a declared encoding or in another."""
    atom = draw(st.booleans())
    raw = draw(st.booleans())  # markup characters left unescaped

    def text() -> str:
        value = draw(texts)
        return value if raw else escape(value)

    entries = []
    for _ in range(draw(st.integers(0, 3))):
        date = draw(iso_dates if atom else http_dates | st.text(max_size=20))
        depth = draw(st.integers(0, 3000))
        body = "<x>" * depth + text() + "</x>" * depth * draw(st.integers(0, 1))
        if atom:
            entries.append(
                f"<entry><id>{text()}</id><title>{text()}</title>"
                f'<link href="{escape(draw(texts), {chr(34): "&quot;"})}"/>'
                f"<updated>{date}</updated><published>{date}</published>"
                f"<content type='html'>{body}</content></entry>"
            )
        else:
            entries.append(
                f"<item><title>{text()}</title><link>{text()}</link><guid>{text()}</guid>"
                f"<pubDate>{date}</pubDate><description>{body}</description></item>"
            )
    declared = draw(st.sampled_from(ENCODINGS))
    head = f'<?xml version="1.0" encoding="{declared}"?>' if draw(st.booleans()) else ""
    if atom:
        doc = f'{head}<feed xmlns="http://www.w3.org/2005/Atom"><title>{text()}</title>'
        doc += "".join(entries) + "</feed>"
    else:
        doc = f'{head}<rss version="2.0"><channel><title>{text()}</title>'
        doc += "".join(entries) + "</channel></rss>"
    data = doc.encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    cut = draw(st.integers(0, len(data)))
    return data[:cut] + draw(st.binary(max_size=20)) if draw(st.booleans()) else data


content_types = st.sampled_from(
    [
        None,
        "application/rss+xml",
        "application/atom+xml; charset=utf-8",
        "application/feed+json",
        "text/xml; charset=iso-8859-1",
        "text/html",
        "application/json; charset=utf-16",
    ]
)


def assert_feed_or_not_a_feed(body: bytes, content_type: str | None) -> None:
    try:
        parsed = parse_feed(body, content_type, "http://feeds.example/feed", now=NOW)
    except NotAFeed:
        return
    assert isinstance(parsed, ParsedFeed)
    for entry in parsed.entries:
        assert trusted(entry.published)
        assert isinstance(entry.text, str)


@given(json_documents(), content_types)
def test_json_feeds_parse_or_are_not_feeds(body: bytes, content_type: str | None) -> None:
    assert_feed_or_not_a_feed(body, content_type)


@given(xml_documents(), content_types)
def test_rss_and_atom_parse_or_are_not_feeds(body: bytes, content_type: str | None) -> None:
    assert_feed_or_not_a_feed(body, content_type)


@given(st.binary(max_size=300), content_types)
def test_garbage_is_not_a_feed_or_parses(body: bytes, content_type: str | None) -> None:
    assert_feed_or_not_a_feed(body, content_type)


@given(st.integers(0, 200_000), st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
def test_a_json_feed_nested_too_deep_is_not_a_feed(
    depth: int, brackets: tuple[bytes, bytes]
) -> None:
    """An item holding ``depth`` nested arrays or objects: the feed reads while the whole fits
    in MAX_JSON_DEPTH (the item sits 3 levels down), and is `NotAFeed` beyond."""
    opener, closer = brackets
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "http://a.example/",'
        b' "_x": ' + opener * depth + b"1" + closer * depth + b"}]}"
    )
    if depth + 3 <= MAX_JSON_DEPTH:
        assert len(parse_feed(body, "application/feed+json", now=NOW).entries) == 1
    else:
        with pytest.raises(NotAFeed, match="nested deeper"):
            parse_feed(body, "application/feed+json", now=NOW)
