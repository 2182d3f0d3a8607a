"""What any HTML page needs before its content is read, whatever it is (an article, a forum
thread, a listing): its text decoded right, and what it declares about itself.

- `html_response` and `repair_encoding`: a fetched page as a Scrapy `HtmlResponse`, decoded
  with what its bytes really are. Scrapy decodes with the HTTP header's charset first, then the
  page's ``<meta charset>``, then a guess. Servers lie: a header says UTF-8 for a windows-1252
  page (replacement characters), or ISO-8859-1 for a UTF-8 page (``Ã©`` for ``é``);
  `repair_encoding` notices both and decodes again.
- `base_url`, `canonical_link`, `page_lang` and `meta`: the ``<base href>`` links resolve
  against, the canonical URL, the language and the ``<meta>`` values the page declares;
- `ld_nodes` and `walk_ld`: the JSON-LD objects a page declares;
- `parser_stopped`: why the HTML parser gave up before the end of a page, if it did (elements
  nested deeper than libxml2 reads, 2,048 levels): what lies past that point is not read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from w3lib.encoding import html_body_declared_encoding, resolve_encoding

if TYPE_CHECKING:
    from parsel import Selector
    from scrapy.http import HtmlResponse, TextResponse

_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")
_DEPTH = re.compile(r"Excessive depth in document: (\d+)")


def _badness(text: str) -> int:
    return text.count("\ufffd") * 2 + len(_MOJIBAKE.findall(text))


def _decodes(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def repair_encoding(response: TextResponse) -> tuple[TextResponse, bool]:
    """The response, decoded again if its text is garbled; and whether it was."""
    text = response.text
    bad = _badness(text)
    if not bad:
        return response, False
    # Best first, ties going to the earlier: what the page itself declares, then windows-1252
    # (what French and English pages that lie are almost always in), then a statistical guess.
    candidates: list[str] = ["utf-8"]
    declared = html_body_declared_encoding(response.body)
    if declared:
        candidates.append(resolve_encoding(declared) or declared)
    candidates.append("cp1252")
    from charset_normalizer import from_bytes

    best = from_bytes(response.body[:200_000]).best()
    if best is not None:
        candidates.append(best.encoding)
    chosen, chosen_bad = None, bad
    for encoding in dict.fromkeys(candidates):
        if resolve_encoding(encoding) == resolve_encoding(response.encoding):
            continue
        decoded = _decodes(response.body, encoding)
        if decoded is not None and _badness(decoded) < chosen_bad:
            chosen, chosen_bad = encoding, _badness(decoded)
    if chosen is None:
        return response, False
    return response.replace(encoding=chosen), True


def html_response(body: bytes, url: str, content_type: str | None = None) -> HtmlResponse:
    """A response for bytes read elsewhere (a saved page, a `crawlers.fetch.Fetcher` result)."""
    # Imported here: reading a page's content (`crawlers.extract.article`, `.forum_html`) does
    # not need Scrapy, only building a response does.
    from scrapy.http import HtmlResponse

    headers = {"Content-Type": content_type} if content_type else {}
    response = HtmlResponse(url=url, body=body, headers=headers)
    repaired, _ = repair_encoding(response)
    assert isinstance(repaired, HtmlResponse)
    return repaired


def parser_stopped(body: bytes) -> str | None:
    """Why the HTML parser stopped reading ``body`` before its end, or None if it did not."""
    from lxml import etree

    # The parser parsel (and so Scrapy) uses, with the same limits.
    parser = etree.HTMLParser(recover=True, huge_tree=True)
    try:
        etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError) as exc:
        return str(exc)
    fatal = [error for error in parser.error_log if error.level_name == "FATAL"]
    if not fatal:
        return None
    message = fatal[0].message.split(", use XML_PARSE_HUGE", 1)[0]
    depth = _DEPTH.search(message)
    if depth:
        message = f"elements nested more than {depth[1]} levels deep, more than it reads"
    return f"the HTML parser stopped at line {fatal[0].line}: {message}"


def base_url(sel: Selector, url: str) -> str:
    """The URL that relative links resolve against: ``<base href>`` if the page has one."""
    href = sel.xpath("//head/base/@href").get()
    return urljoin(url, href.strip()) if href else url


def canonical_link(sel: Selector, url: str) -> str | None:
    href = sel.xpath("//head/link[@rel='canonical']/@href").get()
    return urljoin(base_url(sel, url), href.strip()) if href and href.strip() else None


def page_lang(sel: Selector) -> str | None:
    lang = (
        sel.xpath("/html/@lang").get()
        or sel.xpath(
            "//meta[@http-equiv='content-language' or @http-equiv='Content-Language']/@content"
        ).get()
    )
    return lang.strip() if lang and lang.strip() else None


def walk_ld(data: object) -> Iterator[dict[str, Any]]:
    """Every object of a JSON-LD document: itself, the items of a list, those of ``@graph``."""
    if isinstance(data, list):
        for item in data:
            yield from walk_ld(item)
    elif isinstance(data, dict):
        yield data
        yield from walk_ld(data.get("@graph"))


def ld_nodes(sel: Selector) -> Iterator[dict[str, Any]]:
    """Every JSON-LD node the page declares (`walk_ld` of each script), skipping scripts that
    are no JSON."""
    for script in sel.xpath("//script[@type='application/ld+json']/text()").getall():
        try:
            data = json.loads(script)
        except ValueError:
            continue
        yield from walk_ld(data)


def meta(sel: Selector, *names: str) -> str | None:
    """The first ``<meta>`` named ``names`` (by ``property`` or ``name``) that has a value."""
    for name in names:
        value = sel.xpath(f"//meta[@property='{name}' or @name='{name}']/@content").get()
        if value and value.strip():
            return value.strip()
    return None
