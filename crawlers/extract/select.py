"""Selectors as the settings write them: CSS (with parsel's ``::text`` and ``::attr(name)``) or
XPath (``xpath:`` prefix, or an expression that starts with ``/``, ``./`` or ``(``), and lists
of either separated by commas (``a[rel=nofollow], xpath:substring-after(., ' par ')``).

Selecting every match takes them all (a CSS list in page order). Reading one value takes the
first match of the first alternative that matches, so a list is a list of preferences: a
string result (text, attribute) as it is, an element by its text, or, for dates, by the
machine-readable attribute it carries.
"""

from __future__ import annotations

from functools import lru_cache

from cssselect import SelectorError
from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator

_XPATH_STARTS = ("/", "./", "(", "../", "xpath:")
_DATE_ATTRIBUTES = ("datetime", "data-time", "data-timestamp", "data-datetime", "content", "title")
_translator = HTMLTranslator()


def _split(expr: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in expr:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


@lru_cache(maxsize=1024)
def alternatives(expr: str) -> tuple[str, ...]:
    """The alternatives of a selector list, each CSS or XPath."""
    # Top-level commas separate alternatives in both languages: XPath's own union is "|".
    return tuple(_split(expr.strip()))


@lru_cache(maxsize=1024)
def compile_selector(expr: str) -> tuple[str, str]:
    """One alternative as ``("css" | "xpath", query)``; raise ValueError if it is not valid."""
    expr = expr.strip()
    if expr.startswith("xpath:"):
        kind, query = "xpath", expr[6:].strip()
    elif expr.startswith(_XPATH_STARTS):
        kind, query = "xpath", expr
    else:
        kind, query = "css", expr.removeprefix("css:").strip()
    try:
        etree.XPath(_translator.css_to_xpath(query) if kind == "css" else query)
    except (SelectorError, etree.XPathSyntaxError) as exc:
        raise ValueError(f"invalid {kind.upper()} selector '{expr}': {exc}") from None
    return kind, query


def check_selector(expr: str) -> None:
    """Raise ValueError if any alternative of ``expr`` is not a valid selector."""
    for alternative in alternatives(expr):
        compile_selector(alternative)


def to_xpath(expr: str) -> list[str]:
    """Each alternative as an XPath expression."""
    out = []
    for alternative in alternatives(expr):
        kind, query = compile_selector(alternative)
        out.append(_translator.css_to_xpath(query) if kind == "css" else query)
    return out


def _one(sel: Selector | SelectorList[Selector], alternative: str) -> SelectorList[Selector]:
    kind, query = compile_selector(alternative)
    return sel.css(query) if kind == "css" else sel.xpath(query)


def select(sel: Selector | SelectorList[Selector], expr: str | None) -> SelectorList[Selector]:
    """Every match of ``expr`` under ``sel`` (an empty list for no expression)."""
    if not expr:
        return SelectorList([])
    parts = alternatives(expr)
    if all(compile_selector(p)[0] == "css" for p in parts):
        return sel.css(", ".join(compile_selector(p)[1] for p in parts))
    found: list[Selector] = []
    seen: set[int] = set()
    for part in parts:
        for node in _one(sel, part):
            if isinstance(node.root, str) or id(node.root) not in seen:
                seen.add(id(node.root))
                found.append(node)
    return SelectorList(found)


def text_of(node: Selector) -> str:
    """The text of a match: a string result as it is, an element's text with spaces folded."""
    if isinstance(node.root, str):
        return " ".join(node.root.split())
    return " ".join(" ".join(node.xpath(".//text()").getall()).split())


def first(sel: Selector | SelectorList[Selector], expr: str | None) -> Selector | None:
    """The first match of the first alternative that matches: in ``.fn, .comment-author`` the
    name wins over the block around it, wherever each comes in the page."""
    if not expr:
        return None
    for alternative in alternatives(expr):
        for node in _one(sel, alternative):
            if not isinstance(node.root, str) or node.root.strip():
                return node
    return None


def first_text(sel: Selector | SelectorList[Selector], expr: str | None) -> str | None:
    node = first(sel, expr)
    if node is None:
        return None
    return text_of(node) or None


def first_link(sel: Selector | SelectorList[Selector], expr: str | None) -> str | None:
    """The ``href`` of the first match (or the string the selector returned)."""
    node = first(sel, expr)
    if node is None:
        return None
    if isinstance(node.root, str):
        return node.root.strip() or None
    href = node.attrib.get("href") or node.xpath(".//a/@href").get()
    return href.strip() if href else None


def date_texts(sel: Selector | SelectorList[Selector], expr: str | None) -> list[str]:
    """What the first match says about a date, best first: its machine-readable attributes
    (``datetime``, ``data-time``...), then its text."""
    node = first(sel, expr)
    if node is None:
        return []
    found: list[str] = []
    if not isinstance(node.root, str):
        for name in _DATE_ATTRIBUTES:
            value = node.attrib.get(name)
            if value and value.strip():
                found.append(value.strip())
        found += [v.strip() for v in node.xpath(".//time/@datetime").getall()[:1]]
    text = text_of(node)
    if text:
        found.append(text)
    return found
