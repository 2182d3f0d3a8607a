"""HTML to readable text, with the paragraphs kept: a fragment (a feed's summary, a Discourse
post) with the standard library alone, or one element of a page without what does not belong
to it (quotes of earlier posts, signatures, buttons).

Forgiving by construction: `html.parser` never raises on bad markup, unclosed tags or stray
entities. Block elements become line breaks; scripts, styles and templates are dropped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from html import unescape
from html.parser import HTMLParser
from typing import TYPE_CHECKING

from ingest.record import MAX_TEXT_CHARS

if TYPE_CHECKING:
    from parsel import Selector

_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "td",
        "th",
        "tr",
        "ul",
    ]
)
_SKIP = frozenset({"script", "style", "template", "noscript", "head"})
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\n\s*\n+")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str | None) -> str:
    """The readable text of an HTML fragment; plain text passes through (unescaped)."""
    if not fragment:
        return ""
    if "<" not in fragment:
        text = unescape(fragment)
    else:
        parser = _Text()
        parser.feed(fragment)
        parser.close()
        text = "".join(parser.parts)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _LINES.sub("\n\n", "\n".join(lines)).strip()


def node_text(node: Selector, remove: Sequence[str] = ()) -> str:
    """The text of ``node`` with every match of ``remove`` (CSS or XPath) taken out first."""
    # Imported here: the feed poller reads summaries with `html_to_text` alone, without lxml.
    from lxml import etree, html

    from crawlers.extract.select import text_of, to_xpath

    root = node.root
    if isinstance(root, str):
        return " ".join(root.split())
    if not isinstance(root, etree._Element):
        return text_of(node)
    element = copy.deepcopy(root)
    doomed: list[object] = []
    for path in (p for expr in remove for p in to_xpath(expr)):
        matches = element.xpath(path)
        if isinstance(matches, list):
            doomed.extend(matches)
    for found in doomed:
        if not isinstance(found, etree._Element) or found is element:
            continue
        parent = found.getparent()
        if parent is None:
            continue
        # Keep the text that follows the removed element: it is the post's own.
        if found.tail and found.tail.strip():
            previous = found.getprevious()
            if previous is not None:
                previous.tail = (previous.tail or "") + found.tail
            else:
                parent.text = (parent.text or "") + found.tail
        parent.remove(found)
    markup = html.tostring(element, encoding="unicode", method="html", with_tail=False)
    return html_to_text(markup)[:MAX_TEXT_CHARS]
