"""Feed documents to typed entries: RSS 0.9x/1.0/2.0 and Atom through feedparser, JSON Feed here.

feedparser 6.0 does not read JSON Feed, so this module reads JSON Feed 1.0 and 1.1 itself.

Bad feeds lose only what is really broken:
- feedparser's lenient parser recovers the entries of malformed XML (an unescaped ``&``, an
  unclosed tag); the feed comes back with a ``warning`` and its good entries;
- encodings are sniffed from the HTTP header, the XML declaration, then UTF-8, then
  windows-1252, so a windows-1252 feed without a declaration reads correctly;
- a JSON Feed item that is not an object is skipped and counted;
- authors are display names (`crawlers.extract.authors.clean_author`): no e-mail addresses,
  no "By", no body text; several authors are joined with ", ";
- a date Veille cannot trust (before 1990, more than a day ahead, or past what a `datetime`
  holds) is unknown (None), as `crawlers.extract.dates.sane_utc` says;
- dates feedparser does not read (localized names: ``Seg, 24 Set 2018``, ``lun., 24 sept.
  2018``; numeric ``24/09/2018``) are read from the raw text by `crawlers.extract.dates`, in the
  feed's language and the source's zone; so are those feedparser reads doubtfully (no zone, which
  it takes for UTC; a zone name RFC 822 does not define, such as CEST, also taken for UTC; a
  two-digit year);
- a document that is not a feed at all (an HTML page, an empty body, JSON nested deeper than
  `MAX_JSON_DEPTH`) raises `NotAFeed`, and nothing else escapes: whatever bytes a server sends,
  `parse_feed` returns a `ParsedFeed` or raises `NotAFeed`.
"""

from __future__ import annotations

import calendar
import json
import re
import sys
import time
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

import feedparser

from crawlers.extract.authors import clean_author
from crawlers.extract.dates import parse_date, sane_utc
from crawlers.extract.text import html_to_text
from ingest.errors import PermanentError

MAX_JSON_DEPTH = 64
"""Arrays and objects nested deeper than this are no JSON Feed (one is 4 or 5 levels deep):
refused before `json.loads`, whose recursion a hostile document would otherwise exhaust."""


class NotAFeed(PermanentError):
    """Raised when a fetched document is not RSS, Atom or JSON Feed."""


@dataclass(frozen=True)
class FeedEntry:
    id: str | None
    link: str | None
    title: str | None
    text: str
    author: str | None = None
    published: datetime | None = None
    lang: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    format: str
    title: str | None
    lang: str | None
    entries: list[FeedEntry]
    warning: str | None = None
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    link: str | None = None
    """The site the feed is about (RSS ``<link>``, Atom's alternate link, JSON Feed's
    ``home_page_url``), where a reader goes for an entry that has no link of its own."""


def _struct_time(value: time.struct_time | None, now: datetime) -> datetime | None:
    if value is None:
        return None
    try:
        return sane_utc(datetime.fromtimestamp(calendar.timegm(value), UTC), now)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _iso(value: object, now: datetime, tz: str, lang: str | None) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:  # not RFC 3339, as JSON Feed asks: read it as a page's date
        return parse_date(value, tz=tz, now=now, lang=lang)
    if parsed.tzinfo is None:
        return parse_date(value, tz=tz, now=now, lang=lang)
    return sane_utc(parsed, now)


# A date feedparser reads right: a numeric offset, or a zone RFC 822 defines, and a full year.
_STATED_ZONE = re.compile(r"(?:[+-]\d{2}:?\d{2}|(?<![a-z])(?:gmt|utc|ut|z|[ecmp][sd]t))\s*$", re.I)
_FULL_YEAR = re.compile(r"(?<!\d)\d{4}(?!\d)")


def _entry_date(entry: Any, now: datetime, tz: str, lang: str | None) -> datetime | None:
    """An entry's publication date (its update date if it has none): feedparser's reading where
    it is sure, Veille's reading of the raw text where feedparser has none or may be wrong."""
    # dict.get: feedparser's own get() answers a missing updated_parsed with published_parsed
    # again, and a DeprecationWarning.
    for key in ("published", "updated"):
        raw = _text(dict.get(entry, key))
        theirs = _struct_time(dict.get(entry, f"{key}_parsed"), now)
        if raw is None:
            if theirs is not None:
                return theirs
            continue
        if theirs is not None and _STATED_ZONE.search(raw) and _FULL_YEAR.search(raw):
            return theirs
        ours = parse_date(raw, tz=tz, now=now, lang=lang)
        if ours is not None or theirs is not None:
            return ours or theirs
    return None


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


# A JSON string (an unterminated one runs to the end, so a search never backtracks over it), and
# for each bracket, +1 if it opens, -1 (as a signed byte) if it closes.
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _json_depth_over(text: str, limit: int) -> bool:
    """Whether arrays and objects nest deeper than ``limit`` in ``text``, in linear time."""
    brackets = _NOT_BRACKETS.sub("", _JSON_STRING.sub("", text)).encode("ascii")
    if brackets.count(b"[") + brackets.count(b"{") <= limit:
        return False
    return max(accumulate(array("b", brackets.translate(_BRACKET_STEPS)))) > limit


def _json_feed(body: bytes, now: datetime, tz: str, lang: str | None) -> ParsedFeed:
    try:  # UTF-8, 16 or 32, with or without a byte order mark, as RFC 8259 allows
        text = body.decode(json.detect_encoding(body))
    except UnicodeDecodeError as exc:
        raise NotAFeed(f"invalid JSON Feed: {exc}") from None
    if _json_depth_over(text, MAX_JSON_DEPTH):
        raise NotAFeed(f"JSON nested deeper than {MAX_JSON_DEPTH} levels: not a JSON Feed")
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # bad JSON, an integer too long
        raise NotAFeed(f"invalid JSON Feed: {exc}") from None
    if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise NotAFeed("JSON document is not a JSON Feed (no jsonfeed.org version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise NotAFeed("JSON Feed has no items list")
    entries: list[FeedEntry] = []
    skipped = 0
    feed_lang = _text(doc.get("language"))
    # The feed's own authors are those of every item that names none (JSON Feed 1.1).
    listed = doc.get("authors")
    feed_authors: list[Any] = listed if isinstance(listed, list) else [doc.get("author")]
    feed_author = _authors(a.get("name") for a in feed_authors if isinstance(a, dict))
    for item in items:
        if not isinstance(item, dict):
            skipped += 1
            continue
        authors = item.get("authors")
        if not isinstance(authors, list) or not authors:
            authors = [item["author"]] if isinstance(item.get("author"), dict) else []
        names = [a.get("name") for a in authors if isinstance(a, dict)]
        # An item that names an author, even one without a usable name, is not the feed's.
        author = _authors(names) if authors else feed_author
        text = _text(item.get("content_text")) or html_to_text(
            _text(item.get("content_html")) or _text(item.get("summary")) or ""
        )
        entries.append(
            FeedEntry(
                id=_text(str(item["id"])) if item.get("id") is not None else None,
                link=_text(item.get("url")) or _text(item.get("external_url")),
                title=html_to_text(_text(item.get("title"))) or None,
                text=text,
                author=author,
                published=_iso(item.get("date_published"), now, tz, lang or feed_lang)
                or _iso(item.get("date_modified"), now, tz, lang or feed_lang),
                lang=_text(item.get("language")) or feed_lang,
            )
        )
    version = str(doc["version"]).rsplit("/", 1)[-1]
    return ParsedFeed(
        f"json{version}",
        _text(doc.get("title")),
        feed_lang,
        entries,
        skipped=skipped,
        link=_text(doc.get("home_page_url")),
    )


def _authors(names: Iterable[object]) -> str | None:
    """The entry's authors as one display string, each cleaned (``Name (noreply@...)``, "By
    Name"...: `crawlers.extract.authors`), in order, once each."""
    cleaned = [n for n in map(clean_author, names) if n]
    return ", ".join(dict.fromkeys(cleaned)) or None


def _entry_text(entry: Any) -> str:
    contents = entry.get("content") or []
    html = contents[0].get("value") if contents else None
    return html_to_text(html or entry.get("summary") or entry.get("description") or "")


def _past_unicode(ref: re.Match[bytes]) -> bytes:
    digits = ref[1] or ref[2]
    value = int(digits, 16 if ref[1] else 10) if len(digits) <= 8 else sys.maxunicode + 1
    return ref[0] if value <= sys.maxunicode else b"&#xFFFD;"


def _xml_feed(
    body: bytes,
    content_type: str | None,
    url: str | None,
    now: datetime,
    tz: str,
    lang: str | None,
) -> ParsedFeed:
    headers = {"content-type": content_type or "application/xml"}
    if url:
        headers["content-location"] = url
    # feedparser's lenient parser calls chr() on a character reference past U+10FFFF.
    body = _CHAR_REF.sub(_past_unicode, body)
    try:
        result = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=bool(url)
        )
    except Exception as exc:  # a bug of feedparser's met by these bytes: they are no feed to us
        raise NotAFeed(f"the document is not RSS or Atom (feedparser failed: {exc!r})") from None
    entries = result.get("entries") or []
    version = result.get("version") or ""
    if not entries and not version:
        problem = result.get("bozo_exception")
        looks_html = body.lstrip()[:200].lower().startswith((b"<!doctype html", b"<html"))
        reason = "an HTML page" if looks_html else f"not RSS or Atom ({problem or 'no feed'})"
        raise NotAFeed(f"the document is {reason}")
    feed = result.get("feed") or {}
    feed_lang = _text(feed.get("language"))
    # RSS's channel author is its managingEditor, no entry's author; Atom's is every entry's
    # that names none (RFC 4287, 4.2.1).
    feed_author = clean_author(feed.get("author")) if version.startswith("atom") else None
    parsed: list[FeedEntry] = []
    for entry in entries:
        # One author: the field as the feed wrote it, cleaned here (feedparser's own split of
        # "address (Name)" cuts addresses whose domain ends in more than four letters).
        # Several (Atom): each <name>, as feedparser keeps only the last in ``author``.
        authors = [a for a in entry.get("authors") or [] if isinstance(a, dict)]
        author = _authors(a.get("name") for a in authors) if len(authors) > 1 else None
        author = author or clean_author(entry.get("author"))
        if not authors and not entry.get("author"):
            author = feed_author  # Atom: an entry without an author has its feed's
        contents = entry.get("content") or []
        parsed.append(
            FeedEntry(
                id=_text(entry.get("id")),
                link=_text(entry.get("link")),
                title=html_to_text(entry.get("title")) or None,
                text=_entry_text(entry),
                author=author,
                published=_entry_date(entry, now, tz, lang or feed_lang),
                lang=_text(contents[0].get("language")) if contents else None,
            )
        )
    warning = None
    if result.get("bozo"):
        problem = result.get("bozo_exception")
        warning = f"malformed feed, recovered {len(parsed)} entries: {problem}"
    return ParsedFeed(
        version or "unknown",
        _text(feed.get("title")),
        feed_lang,
        parsed,
        warning=warning,
        link=_text(feed.get("link")),
    )


def parse_feed(
    body: bytes,
    content_type: str | None = None,
    url: str | None = None,
    *,
    now: datetime | None = None,
    tz: str = "UTC",
    lang: str | None = None,
) -> ParsedFeed:
    """Parse a feed document; raise `NotAFeed` if it is none. Dates more than a day after
    ``now`` (default: the system's clock) are unknown. A date printed without a zone is read in
    ``tz`` (the source's zone); one in words is read in ``lang`` (the source's language or
    locale, default the feed's declared one) first, then the other languages Veille watches."""
    if not body.strip():
        raise NotAFeed("the document is empty")
    now = now or datetime.now(UTC)
    head = body.lstrip().removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if head in (b"{", b"[") or (content_type and "json" in content_type.lower()):
        return _json_feed(body, now, tz, lang)
    return _xml_feed(body, content_type, url, now, tz, lang)
