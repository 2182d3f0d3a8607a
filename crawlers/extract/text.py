"""The readable text of one element of a page, without what does not belong to it (quotes of
earlier posts, signatures, buttons), with the paragraphs kept."""

from __future__ import annotations

import copy
from collections.abc import Sequence

from lxml import etree, html
from parsel import Selector

from crawlers.extract.select import text_of, to_xpath
from crawlers.html import html_to_text
from ingest.record import MAX_TEXT_CHARS


def node_text(node: Selector, remove: Sequence[str] = ()) -> str:
    """The text of ``node`` with every match of ``remove`` (CSS or XPath) taken out first."""
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
