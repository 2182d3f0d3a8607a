"""Reviews a page declares in schema.org markup: each ``Review`` (its text, title, author, date
and ``reviewRating``), what it reviews (``itemReviewed``, or the ``Product`` / ``Organization``
whose ``review`` list holds it) and the page's ``AggregateRating``.

Three syntaxes say the same thing: JSON-LD (``<script type="application/ld+json">``, plain,
in lists or in an ``@graph`` whose nodes point at each other by ``@id``), microdata
(``itemscope``, ``itemtype``, ``itemprop``) and RDFa Lite (``typeof``, ``property``). The two
attribute syntaxes are read into the same dictionaries JSON-LD gives, so one reader reads all
three. A page that repeats its reviews in two syntaxes is read in the one that holds the most.

Hostile pages: malformed JSON-LD, a rating that is not a number or lies outside its scale, a
review with no text, a page of tens of thousands of reviews. Each is counted in
`ReviewPage.problems` and skipped (a bad rating drops the rating, not the review's text), and
the rest of the page is still read. At most ``limit`` reviews are kept per page, and the walk
through the markup is bounded (`MAX_NODES`, `MAX_DEPTH`) whatever the page holds.

Identity (`Review.key`): a review's own ``@id`` or ``url`` if it has one, else its author and
date, else its text, else its place on the page, so that a review keeps its id when newer
reviews push it down the page (see `crawlers.items.review_identity`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from crawlers.extract.dates import parse_date
from crawlers.extract.text import html_to_text
from ingest.record import Rating

if TYPE_CHECKING:
    from lxml.etree import _Element
    from parsel import Selector

MAX_REVIEWS = 500
"""Reviews kept per page by default; the rest are counted (``reviews_over_limit``)."""
MAX_NODES = 200_000
"""Nodes of structured data walked per page at most."""
MAX_DEPTH = 40
"""How deep the walk goes into nested structured data."""
_MAX_PROBLEMS_SHOWN = 5

_NOT_ITEMS = frozenset({"Review", "Rating", "AggregateRating", "Person", "WebPage"})
"""Types that are never what a review is about, though they may carry a ``review`` key."""
_NUMBER = re.compile(r"^[+-]?\d+(?:[.,]\d+)?$")


@dataclass(frozen=True, slots=True)
class Review:
    key: str
    """What tells this review apart on its page, stable across crawls (see the module)."""
    own: bool
    """Whether ``key`` is the review's own ``@id`` or ``url`` (unique on the web)."""
    text: str
    title: str | None
    author: str | None
    author_url: str | None
    published: datetime | None
    rating: Rating | None
    url: str | None
    """The review's own permalink, if it has one."""
    position: int


@dataclass(frozen=True, slots=True)
class Aggregate:
    value: float
    best: float
    worst: float
    count: int | None


@dataclass
class ReviewPage:
    url: str
    syntax: str | None = None
    """``json-ld``, ``microdata`` or ``rdfa``: where the reviews were read."""
    item: str | None = None
    """What the page reviews, when one thing is."""
    aggregate: Aggregate | None = None
    reviews: list[Review] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    """What was skipped, by kind: ``json_ld_malformed``, ``ratings_invalid``, ..."""
    examples: list[str] = field(default_factory=list)
    """A few of the problems, said in words, for the crawl's note and ``veille extract``."""

    def problem(self, kind: str, example: str, n: int = 1) -> None:
        self.problems[kind] += n
        if len(self.examples) < _MAX_PROBLEMS_SHOWN:
            self.examples.append(example[:200])


# -- the three syntaxes, as JSON-LD-shaped dictionaries -----------------------------------------


def _json_ld(sel: Selector, page: ReviewPage) -> list[Any]:
    out: list[Any] = []
    for n, script in enumerate(sel.xpath("//script[@type='application/ld+json']/text()").getall()):
        # Some sites wrap the JSON in HTML comments or CDATA markers.
        text = script.strip().removeprefix("<!--").removesuffix("-->").strip()
        text = text.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        if not text:
            continue
        try:
            out.append(json.loads(text))
        except (ValueError, RecursionError) as exc:
            reason = str(exc)[:80] if isinstance(exc, ValueError) else "nested too deep"
            page.problem("json_ld_malformed", f"JSON-LD block {n + 1} is not JSON ({reason})")
    return out


def _type_name(value: str) -> str:
    """``https://schema.org/Review``, ``schema:Review`` and ``Review`` are all ``Review``."""
    return re.split(r"[/#:]", value.strip())[-1]


class _Attributes:
    """Which attributes an attribute syntax writes its items with."""

    def __init__(self, syntax: str) -> None:
        self.syntax = syntax
        self.microdata = syntax == "microdata"

    def is_item(self, el: _Element) -> bool:
        return el.get("itemscope") is not None if self.microdata else el.get("typeof") is not None

    def types(self, el: _Element) -> list[str]:
        raw = el.get("itemtype" if self.microdata else "typeof") or ""
        return [_type_name(t) for t in raw.split() if t.strip()]

    def props(self, el: _Element) -> list[str]:
        raw = el.get("itemprop" if self.microdata else "property") or ""
        return [_type_name(p) for p in raw.split() if p.strip()]


def _attribute_value(el: _Element, base: str) -> str:
    tag = el.tag if isinstance(el.tag, str) else ""
    for attribute in ("content", "datetime", "value"):
        value = el.get(attribute)
        if value is not None:
            return value
    if tag in ("a", "link", "area"):
        return urljoin(base, el.get("href") or "")
    if tag in ("img", "source", "audio", "video"):
        return urljoin(base, el.get("src") or "")
    return " ".join("".join(str(t) for t in el.itertext()).split())


def _attribute_items(root: _Element, syntax: str, base: str, budget: list[int]) -> list[Any]:
    """The top-level items of a microdata or RDFa Lite page, as JSON-LD-shaped dictionaries."""
    from lxml import etree

    attrs = _Attributes(syntax)

    def item(el: _Element, depth: int) -> dict[str, Any]:
        types = attrs.types(el)
        out: dict[str, Any] = {"@type": types[0] if len(types) == 1 else types}
        own_id = el.get("itemid" if attrs.microdata else "resource")
        if own_id:
            out["@id"] = urljoin(base, own_id)
        if depth > MAX_DEPTH:
            return out
        # Depth-first, in page order: properties of this item, not of the items inside it.
        stack = list(reversed(list(el)))
        while stack and budget[0] > 0:
            child = stack.pop()
            if not isinstance(child.tag, str):
                continue
            budget[0] -= 1
            names = attrs.props(child)
            nested = attrs.is_item(child)
            if names:
                value: Any = item(child, depth + 1) if nested else _attribute_value(child, base)
                for name in names:
                    if name in out:
                        previous = out[name]
                        out[name] = (
                            [*previous, value]
                            if isinstance(previous, list)
                            else [
                                previous,
                                value,
                            ]
                        )
                    else:
                        out[name] = value
            if not nested:
                stack.extend(reversed(list(child)))
        return out

    top: list[Any] = []
    path = "//*[@itemscope]" if attrs.microdata else "//*[@typeof]"
    found = root.xpath(path)
    for el in found if isinstance(found, list) else []:
        if not isinstance(el, etree._Element):
            continue
        if budget[0] <= 0:
            break
        if attrs.props(el):
            continue  # a property of an enclosing item, read with it
        top.append(item(el, 0))
    return top


# -- reading the dictionaries --------------------------------------------------------------------


def _types(node: dict[str, Any]) -> set[str]:
    raw = node.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    return {_type_name(v) for v in values if isinstance(v, str)}


def _is_item(node: dict[str, Any]) -> bool:
    """Whether ``node`` is something reviewed: a product, a company, a place, a book..."""
    kinds = _types(node)
    return bool(kinds) and not kinds & _NOT_ITEMS


def _walk(data: list[Any], budget: list[int]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Every dictionary in ``data`` (depth-first, in order), with the name of the item whose
    ``review`` list holds it, if it is in one."""
    stack: list[tuple[Any, str | None, int]] = [(d, None, 0) for d in reversed(data)]
    while stack and budget[0] > 0:
        node, holder, depth = stack.pop()
        budget[0] -= 1
        if isinstance(node, list):
            stack.extend((v, holder, depth + 1) for v in reversed(node) if depth < MAX_DEPTH)
            continue
        if not isinstance(node, dict):
            continue
        yield node, holder
        if depth >= MAX_DEPTH:
            continue
        name = _text(node.get("name")) if _is_item(node) else None
        children = []
        for key, value in node.items():
            if isinstance(value, dict | list):
                inner = name if key in ("review", "reviews") else None
                children.append((value, inner, depth + 1))
        stack.extend(reversed(children))


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str | dict)), None)
    if isinstance(value, dict):
        value = value.get("@value", value.get("name"))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        return None
    text = html_to_text(value) if "<" in value or "&" in value else " ".join(value.split())
    return text or None


def _resolve(value: Any, ids: dict[str, dict[str, Any]]) -> Any:
    """A node that only points at another (``{"@id": "#product"}``) is that other node."""
    if isinstance(value, dict) and set(value) == {"@id"} and isinstance(value["@id"], str):
        return ids.get(value["@id"], value)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value.strip().replace(",", "."))  # "4,5" on French pages
    return None


class BadRating(ValueError):
    pass


def _scale(node: dict[str, Any]) -> tuple[float, float, float]:
    """A rating node's value, best and worst; `BadRating` if it has none that Veille can use."""
    raw = node.get("ratingValue")
    value = _number(raw)
    if value is None:
        raise BadRating(f"rating value {str(raw)[:40]!r} is not a number")
    best = _number(node.get("bestRating")) if node.get("bestRating") is not None else 5.0
    worst_raw = node.get("worstRating")
    worst = _number(worst_raw) if worst_raw is not None else (0.0 if 0 <= value < 1 else 1.0)
    if best is None or worst is None:
        raise BadRating(
            f"rating scale {node.get('worstRating')}..{node.get('bestRating')} is not numbers"
        )
    if not (worst < best and worst <= value <= best):
        raise BadRating(f"rating value {value:g} is outside its scale {worst:g}..{best:g}")
    return value, best, worst


def _aggregate(node: Any) -> Aggregate | None:
    if not isinstance(node, dict):
        return None
    try:
        value, best, worst = _scale(node)
    except BadRating:
        return None
    count = _number(node.get("ratingCount", node.get("reviewCount")))
    return Aggregate(value, best, worst, int(count) if count is not None and count >= 0 else None)


def _author(value: Any, ids: dict[str, dict[str, Any]], base: str) -> tuple[str | None, str | None]:
    value = _resolve(value[0] if isinstance(value, list) and value else value, ids)
    if isinstance(value, dict):
        url = value.get("url")
        return _text(value.get("name")), urljoin(base, url) if isinstance(url, str) else None
    return _text(value), None


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


def _review(
    node: dict[str, Any],
    position: int,
    item: str | None,
    aggregate: Aggregate | None,
    ids: dict[str, dict[str, Any]],
    page: ReviewPage,
    *,
    tz: str,
    now: datetime | None,
    lang: str | None,
) -> Review | None:
    text = _text(node.get("reviewBody")) or _text(node.get("description")) or ""
    title = _text(node.get("name")) or _text(node.get("headline"))
    if not text and not title:
        page.problem("reviews_empty", f"review {position} has no text and no title")
        return None
    author, author_url = _author(node.get("author"), ids, page.url)
    date_raw = _text(node.get("datePublished")) or _text(node.get("dateCreated"))
    published = parse_date(date_raw, tz=tz, now=now, lang=lang) if date_raw else None
    if date_raw and published is None:
        page.problem("dates_unreadable", f"review {position}: date {date_raw[:40]!r} unreadable")
    reviewed = _resolve(node.get("itemReviewed"), ids)
    item = (_text(reviewed.get("name")) if isinstance(reviewed, dict) else _text(reviewed)) or item
    rating = None
    rated = _resolve(node.get("reviewRating"), ids)
    if rated is not None:
        try:
            value, best, worst = _scale(
                rated if isinstance(rated, dict) else {"ratingValue": rated}
            )
            same_scale = aggregate is not None and (aggregate.best, aggregate.worst) == (
                best,
                worst,
            )
            rating = Rating(
                value=value,
                best=best,
                worst=worst,
                item=item[:500] if item else None,
                average=aggregate.value if aggregate and same_scale else None,
                count=aggregate.count if aggregate and same_scale else None,
            )
        except BadRating as exc:
            page.problem("ratings_invalid", f"review {position}: {exc}; kept without its rating")
    own = next(
        (
            urljoin(page.url, v)
            for v in (node.get("@id"), node.get("url"))
            if isinstance(v, str) and v.strip()
        ),
        None,
    )
    url = _text(node.get("url"))
    if own is not None:
        key = f"id:{own}"
    elif author and published:
        key = f"by:{author.casefold()}|{published.isoformat()}"
    elif text:
        key = f"text:{_digest(text)}"
    else:
        key = f"at:{position}"
    return Review(
        key=key,
        own=own is not None,
        text=text,
        title=title,
        author=author,
        author_url=author_url,
        published=published,
        rating=rating,
        url=urljoin(page.url, url) if url else None,
        position=position,
    )


def _read(
    data: list[Any],
    syntax: str,
    url: str,
    *,
    limit: int,
    tz: str,
    now: datetime | None,
    lang: str | None,
) -> ReviewPage:
    page = ReviewPage(url=url, syntax=syntax)
    budget = [MAX_NODES]
    nodes = list(_walk(data, budget))
    ids = {n["@id"]: n for n, _ in nodes if isinstance(n.get("@id"), str) and len(n) > 1}
    for node, _ in nodes:
        kinds = _types(node)
        if page.aggregate is None and "AggregateRating" in kinds:
            page.aggregate = _aggregate(node)
        if _is_item(node) and page.aggregate is None:
            page.aggregate = _aggregate(_resolve(node.get("aggregateRating"), ids))
        if _is_item(node) and page.item is None and ("review" in node or "aggregateRating" in node):
            page.item = _text(node.get("name"))
    reviews = [(n, holder) for n, holder in nodes if "Review" in _types(n)]
    if len(reviews) > limit:
        page.problem(
            "reviews_over_limit",
            f"{len(reviews)} reviews on the page; the first {limit} are read",
            len(reviews) - limit,
        )
    keys: set[str] = set()
    for position, (node, holder) in enumerate(reviews[:limit], start=1):
        review = _review(
            node,
            position,
            holder or page.item,
            page.aggregate,
            ids,
            page,
            tz=tz,
            now=now,
            lang=lang,
        )
        if review is None:
            continue
        if review.key in keys:
            page.problem("reviews_repeated", f"review {position} repeats an earlier one")
            continue
        keys.add(review.key)
        page.reviews.append(review)
    if budget[0] <= 0:
        page.problem("markup_too_large", f"more than {MAX_NODES} nodes of markup; the rest unread")
    return page


def extract_reviews(
    sel: Selector,
    url: str,
    *,
    limit: int = MAX_REVIEWS,
    tz: str = "UTC",
    now: datetime | None = None,
    lang: str | None = None,
) -> ReviewPage:
    """The reviews ``sel`` (a page fetched from ``url``) declares, in whichever syntax holds the
    most. Its problems are that syntax's, and JSON-LD blocks that are not JSON."""
    root = sel.root
    pages = []
    json_page = ReviewPage(url=url)
    json_data = _json_ld(sel, json_page)
    for syntax, data in (
        ("json-ld", json_data),
        ("microdata", _attribute_items(root, "microdata", url, [MAX_NODES])),
        ("rdfa", _attribute_items(root, "rdfa", url, [MAX_NODES])),
    ):
        if not data:
            continue
        page = _read(data, syntax, url, limit=limit, tz=tz, now=now, lang=lang)
        if syntax == "json-ld":
            page.problems.update(json_page.problems)
            page.examples[:0] = json_page.examples
        pages.append(page)
    if not pages:
        return json_page
    best = max(pages, key=lambda p: len(p.reviews))  # the first of equals: JSON-LD
    # JSON-LD may describe the product, and microdata its reviews.
    if best.aggregate is None or best.item is None:
        for other in pages:
            best.aggregate = best.aggregate or other.aggregate
            best.item = best.item or other.item
    if best.syntax != "json-ld" and json_page.problems:
        best.problems.update(json_page.problems)
        best.examples[:0] = json_page.examples
    return best
