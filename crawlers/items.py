"""What a page shows, and the mention it becomes: `Found` (an article, a comment, a forum post or a
review, as the page showed it), which the spiders yield, and `to_mention`, which turns it into the
`Mention` that goes on ``mentions.raw``; ``veille extract`` uses it too, so what it prints is
what the crawler publishes. The feed poller gives mentions their ids by the same rules
(`identity`, `article_of`).

Identity: a post whose permalink names it alone (``viewtopic.php?p=1007``) gets the id of that
URL, the same id the site's feed gives it. A comment whose permalink only differs from its
article's by the fragment (``/article/#comment-12``) gets an id from the site and that fragment.
Its comment page (WordPress's ``/article/comment-page-2/#comment-12`` or ``?cpage=2``) is left
out: a comment keeps its id when newer comments push it to another page. A review gets an id
from the site and `review_native`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawlers.extract.dates import FUTURE_SLACK
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
    Engagement,
    Mention,
    Rating,
    Source,
    SourceKind,
    Thread,
    canonical_url,
    mention_id,
    site_of,
)

Kind = Literal["article", "comment", "post", "review"]


@dataclass(frozen=True, slots=True)
class Found:
    kind: Kind
    url: str
    """The permalink."""
    text: str
    title: str | None = None
    author: str | None = None
    author_url: str | None = None
    published: datetime | None = None
    lang: str | None = None
    thread_url: str | None = None
    thread_title: str | None = None
    position: int | None = None
    parent_url: str | None = None
    """The permalink of what this answers: a comment's article, a reply's post."""
    unique: bool = True
    """Whether ``url`` names this alone without its fragment."""
    likes: int | None = None
    native: str | None = None
    """An id native to the site, when the permalink does not name this alone (a review on a
    page of reviews, see `review_native`)."""
    rating: Rating | None = None


_COMMENT_PAGE = re.compile(r"/comment-page-\d+/?$")


def article_of(url: str) -> str:
    """The page a comment permalink is on, without its fragment or comment page:
    ``/article/comment-page-2/#comment-12`` is on ``/article/``."""
    parts = urlsplit(url)
    path = _COMMENT_PAGE.sub("/", parts.path)
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "cpage"]
    )
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def identity(url: str, unique: bool = True) -> str:
    """The mention id of a post with this permalink (see the module docstring)."""
    if unique:
        return mention_id(url=url)
    fragment = urlsplit(url).fragment
    native = canonical_url(f"{article_of(url)}#{fragment}" if fragment else url, keep_fragment=True)
    return mention_id(source=site_of(url), native_id=native)


def review_native(root: str, key: str, *, own: bool) -> str:
    """The native id of a review: its own ``@id`` or ``url`` if it has one (``own``), else its
    key (author and date, text, place) on its list of reviews, whose first page is ``root``, so
    that a review keeps its id when newer ones push it to the next page."""
    return f"review:{key}" if own else f"review:{canonical_url(root)}|{key}"


def to_mention(
    found: Found,
    *,
    source: str,
    kind: SourceKind,
    fetched: datetime,
    lang: str | None = None,
) -> Mention:
    """The mention for what a page showed; raise ValueError (or pydantic's) if it cannot be."""
    published = found.published
    if published is not None and published > fetched + FUTURE_SLACK:  # a clock in the future
        published = None
    thread = None
    if found.thread_url:
        thread = Thread(
            id=identity(found.thread_url),
            title=found.thread_title,
            url=found.thread_url,
            position=found.position,
        )
    author = None
    if found.author or found.author_url:
        author = Author(name=found.author, url=found.author_url)
    if found.native is not None:
        # A saved page read by ``veille extract`` has a file:// URL, with no site.
        site = site_of(found.url) or urlsplit(found.url).scheme
        mention_key = mention_id(source=site, native_id=found.native)
    else:
        mention_key = identity(found.url, found.unique)
    return Mention(
        id=mention_key,
        source=Source(kind=kind, name=source),
        url=found.url,
        site=site_of(found.url),
        title=found.title,
        text=found.text[:MAX_TEXT_CHARS],
        author=author,
        published=published,
        fetched=fetched,
        thread=thread,
        parent=identity(found.parent_url) if found.parent_url else None,
        engagement=Engagement(likes=found.likes) if found.likes else Engagement(),
        lang=found.lang or lang,
        rating=found.rating,
    )
