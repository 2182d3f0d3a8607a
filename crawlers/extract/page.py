"""A fetched page as a Scrapy `HtmlResponse`, with its encoding checked and repaired.

Scrapy decodes with the HTTP header's charset first, then the page's ``<meta charset>``, then a
guess. Servers lie: a header says UTF-8 for a windows-1252 page (replacement characters), or
ISO-8859-1 for a UTF-8 page (``Ã©`` for ``é``). `repair_encoding` notices both and decodes again
with what the bytes really are.
"""

from __future__ import annotations

import re

from scrapy.http import HtmlResponse, TextResponse
from w3lib.encoding import html_body_declared_encoding, resolve_encoding

_MOJIBAKE = re.compile("[ÃÂ][\u0080-\u00bf]")


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
    headers = {"Content-Type": content_type} if content_type else {}
    response = HtmlResponse(url=url, body=body, headers=headers)
    repaired, _ = repair_encoding(response)
    assert isinstance(repaired, HtmlResponse)
    return repaired
