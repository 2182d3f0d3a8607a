"""Reddit: new posts matching searches, and new posts and comments of watched subreddits.

Two ways in, chosen by the settings:

- **The OAuth API**, for those with an approved app (https://github.com/reddit-archive/reddit/
  wiki/OAuth2, "Application Only OAuth"): the app's ``client_id`` and ``client_secret`` buy an
  application-only token (``POST /api/v1/access_token`` on www.reddit.com, HTTP Basic, form
  ``grant_type=client_credentials``; ``{"access_token", "expires_in"}``), sent as ``Authorization:
  bearer`` to https://oauth.reddit.com: ``GET /search?q=&sort=new&type=link``,
  ``/r/{sub}/new`` and ``/r/{sub}/comments`` (https://www.reddit.com/dev/api), each a Listing
  (``{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {...}}], "after",
  "before"}}``), newest first, ``limit`` up to 100, paged by ``after`` (older than a fullname)
  and ``before`` (the page just newer than one). ``raw_json=1`` keeps ``&``, ``<`` and ``>``
  unescaped. The token is asked again before it expires, and once when a request answers 401.
- **The public RSS feeds** (no key): ``/search.rss?q=&sort=new``, ``/r/{sub}/new/.rss``,
  ``/r/{sub}/comments/.rss`` on www.reddit.com, Atom documents whose entries' ids are the
  fullnames, parsed as the feed poller parses feeds (`crawlers.feeds.parse`); they take the
  same ``limit``, ``after`` and ``before``. They carry no score and no comment count.

Reddit asks every client for a descriptive ``User-Agent`` (``<platform>:<app id>:<version>
(by /u/<user>)``); generic ones are throttled or refused.

Cursors (one per listing: ``search <q>``, ``new <sub>``, ``comments <sub>``): a `TimeCursor`,
the newest item's creation time and fullname, and the fullnames read in the last ``overlap``.
A poll reads the newest page; if every item on it is new, more may lie between it and the
cursor, so it reads forward from the cursor's fullname (``before=``), page after page, oldest
first, up to ``max_pages``, and keeps the rest for a poll a second later. If the item the
cursor names was deleted (``before=`` it then answers nothing), it reads back from the newest
page instead (``after=``), as far as ``max_pages`` allows.

Rate limits (https://support.reddithelp.com/hc/en-us/articles/16160319875092): every answer
carries ``X-Ratelimit-Used``, ``X-Ratelimit-Remaining`` and ``X-Ratelimit-Reset`` (seconds
until the window ends); ``Remaining: 0`` stops the poll until then, as a 429 does.

Mapping: a post (``t3``) or comment (``t1``) is one mention, identified by ``reddit`` + its
fullname. The author's handle and profile URL (none for ``[deleted]``), the score as likes and
``num_comments`` as replies, the comment's parent (``parent_id``), the thread (the post: id,
``r/<subreddit>: <title>``, permalink), the permalink as URL, ``created_utc`` as the date.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from crawlers.feeds.parse import NotAFeed, parse_feed
from crawlers.networks.base import (
    AuthFailed,
    Batch,
    Cursors,
    PlatformError,
    RateLimit,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.cursor import TimeCursor, poll_by_time
from crawlers.networks.http import JsonClient, RateGate
from crawlers.networks.settings import RedditSettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock, SystemClock
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
    Engagement,
    Mention,
    Source,
    SourceKind,
    Thread,
    mention_id,
    site_of,
)

log = logging.getLogger(__name__)

PLATFORM = "reddit"
_TOKEN_MARGIN_S = 60.0
"""A token is asked again this long before Reddit said it expires."""
_OVERLAP_S = 600.0
"""Items this much older than the newest read are still looked for (search indexes late)."""
_FULLNAME = re.compile(r"t[1-6]_[0-9a-z]+$")
_DELETED = frozenset({"[deleted]", "[removed]", ""})


def thing_id(fullname: str) -> str:
    """The mention id of the post or comment ``fullname`` (``t3_...``, ``t1_...``)."""
    return mention_id(source=PLATFORM, native_id=fullname)


def rate_limit_of(headers: Mapping[str, str], now: float) -> RateLimit | None:
    """Reddit's ``X-Ratelimit-Used``, ``-Remaining`` (a decimal number) and ``-Reset``
    (seconds from ``now``)."""

    def number(name: str) -> float | None:
        try:
            value = float(headers.get(name, ""))
        except ValueError:
            return None
        return value if value >= 0 else None

    used, remaining = number("x-ratelimit-used"), number("x-ratelimit-remaining")
    reset = number("x-ratelimit-reset")
    if used is None and remaining is None and reset is None:
        return None
    return RateLimit(
        limit=int(used + remaining) if used is not None and remaining is not None else None,
        remaining=int(remaining) if remaining is not None else None,
        reset=now + reset if reset is not None else None,
    )


class _Item(NamedTuple):
    """One child of a listing: its fullname, its creation time, and its mention (None when it
    could not be made one: counted as skipped)."""

    fullname: str
    created: float
    mention: Mention | None


def _author(name: Any, www: str) -> Author | None:
    if not isinstance(name, str) or name in _DELETED:
        return None
    return Author(handle=name, url=f"{www}/user/{quote(name)}")


def _thread_title(sub: str, title: Any) -> str:
    return f"r/{sub}: {title}" if title else f"r/{sub}"


def _absolute(www: str, link: Any) -> str:
    if not isinstance(link, str) or not link:
        raise ValueError("no permalink")
    return link if link.startswith(("http://", "https://")) else f"{www}{link}"


def thing_to_mention(
    kind: str, data: dict[str, Any], www: str, *, source: str, fetched: datetime
) -> Mention:
    """The mention for a listing child of ``kind`` t3 (post) or t1 (comment); ValueError (or
    pydantic's ValidationError) if it cannot be one."""
    fullname = str(data["name"])
    url = _absolute(www, data.get("permalink"))
    published = datetime.fromtimestamp(float(data["created_utc"]), UTC)
    sub = str(data.get("subreddit") or "")
    score = data.get("score")
    likes = max(0, int(score)) if isinstance(score, int | float) else None
    if kind == "t3":
        title = data.get("title") or None
        text = str(data.get("selftext") or "")
        thread = Thread(id=thing_id(fullname), title=_thread_title(sub, title), url=url, position=0)
        parent = None
        comments = data.get("num_comments")
        replies = int(comments) if isinstance(comments, int) and comments >= 0 else None
    elif kind == "t1":
        title = None
        text = str(data.get("body") or "")
        link = str(data["link_id"])
        link_url = data.get("link_permalink") or url.rsplit("/", 2)[0] + "/"
        thread = Thread(
            id=thing_id(link),
            title=_thread_title(sub, data.get("link_title")),
            url=_absolute(www, link_url),
        )
        parent = thing_id(str(data["parent_id"])) if data.get("parent_id") else None
        replies = None
    else:
        raise ValueError(f"a listing child of kind {kind!r}")
    return Mention(
        id=thing_id(fullname),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site=site_of(url),
        title=title,
        text=text[:MAX_TEXT_CHARS],
        author=_author(data.get("author"), www),
        published=min(published, fetched),
        fetched=fetched,
        thread=thread,
        parent=parent,
        engagement=Engagement(likes=likes, replies=replies),
    )


def entry_to_mention(
    fullname: str,
    link: str,
    title: str | None,
    text: str,
    author: str | None,
    published: datetime,
    *,
    www: str,
    source: str,
    fetched: datetime,
) -> Mention:
    """The mention for an entry of Reddit's RSS feeds (a post's or a comment's), where the
    subreddit and the post come from the permalink (``/r/<sub>/comments/<id>/<slug>/...``)."""
    parts = urlsplit(link).path.strip("/").split("/")
    if len(parts) < 4 or parts[0] != "r" or parts[2] != "comments":
        raise ValueError(f"not a Reddit permalink: {link}")
    sub, post = parts[1], f"t3_{parts[3]}"
    post_url = f"{www}/r/{sub}/comments/{parts[3]}/{parts[4] if len(parts) > 4 else ''}"
    is_post = fullname.startswith("t3_")
    # The feed appends "submitted by /u/name [link] [comments]" to every entry's HTML.
    text = text.rsplit("submitted by", 1)[0].strip() if "submitted by" in text else text
    on = title.split(" on ", 1)[1] if title and not is_post and " on " in title else title
    return Mention(
        id=thing_id(fullname),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=link,
        site=site_of(link),
        title=title if is_post else None,
        text=text[:MAX_TEXT_CHARS],
        author=_author((author or "").removeprefix("/u/"), www),
        published=min(published, fetched),
        fetched=fetched,
        thread=Thread(
            id=thing_id(post),
            title=_thread_title(sub, on),
            url=post_url.rstrip("/") + "/",
            position=0 if is_post else None,
        ),
    )


@dataclass(frozen=True)
class _Listing:
    """One thing read: a search, or a subreddit's new posts or comments."""

    kind: str  # "search", "new" or "comments"
    term: str

    @property
    def key(self) -> str:
        return f"{self.kind} {self.term}"

    def where(self, rss: bool) -> tuple[str, dict[str, str | int]]:
        """The path (API or RSS) and its own parameters."""
        if self.kind == "search":
            params: dict[str, str | int] = {"q": self.term, "sort": "new"}
            return ("/search.rss", params) if rss else ("/search", {**params, "type": "link"})
        path = f"/r/{self.term}/{self.kind}"
        return (f"{path}/.rss", {}) if rss else (path, {})


class RedditConnector(_Connector):
    def __init__(
        self, settings: RedditSettings, http: HttpSettings, clock: Clock | None = None
    ) -> None:
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.clock = clock or SystemClock()
        self._credentials = (
            (settings.client_id, settings.client_secret.get_secret_value())
            if settings.client_id is not None and settings.client_secret is not None
            else None
        )
        self._oauth = self._credentials is not None
        self._client = JsonClient(
            http,
            user_agent=settings.user_agent or f"python:veille:0.1 (connector {settings.name})",
            secrets=self._credentials[1:] if self._credentials else (),
            rate_limits=lambda headers: rate_limit_of(headers, self._now()),
        )
        self._gate = RateGate()
        self._expires = 0.0
        self._requests = 0

    @property
    def platform(self) -> str:
        return PLATFORM

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def listings(self) -> list[_Listing]:
        found = [_Listing("search", q) for q in self.settings.search]
        for sub in self.settings.subreddits:
            found.append(_Listing("new", sub))
            if self.settings.comments:
                found.append(_Listing("comments", sub))
        return found

    def close(self) -> None:
        self._client.close()

    def test(self) -> list[str]:
        if not self._oauth:
            self._fetch(self.listings()[0], {"limit": 1})
            return [f"{self.settings.www_url}: the RSS feeds answer (no app: no scores)"]
        self._token(force=True)
        return [f"{self.settings.www_url}: the app's client id and secret are accepted (token)"]

    # -- requests ------------------------------------------------------------------------------

    def _token(self, *, force: bool = False) -> None:
        """Ask for an application-only token unless the one held is still good."""
        if not force and self._now() < self._expires:
            return
        if self._credentials is None:
            raise AuthFailed("the OAuth API needs client_id and client_secret")
        self._requests += 1
        try:
            reply = self._client.post_form(
                f"{self.settings.www_url}/api/v1/access_token",
                {"grant_type": "client_credentials"},
                basic=self._credentials,
            )
        except AuthFailed as exc:
            raise AuthFailed(
                f"Reddit refused the app's client_id and client_secret ({exc})",
                http_status=exc.http_status,
            ) from None
        data = reply.data if isinstance(reply.data, dict) else {}
        token, expires_in = data.get("access_token"), data.get("expires_in")
        if isinstance(data.get("error"), str):
            raise AuthFailed(f"the token was refused: {data['error']}")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise PlatformError("the token answer has no access_token or expires_in")
        self._client.set_token(token)
        self._expires = self._now() + float(expires_in) - _TOKEN_MARGIN_S

    def _fetch(self, listing: _Listing, params: dict[str, str | int]) -> list[_Item]:
        """One page of ``listing``, newest first."""
        rss = not self._oauth
        path, own = listing.where(rss)
        base = self.settings.www_url if rss else self.settings.api_url
        query = {**own, **params} if rss else {**own, **params, "raw_json": 1}
        self._gate.check(base, self._now())
        self._requests += 1
        if rss:
            reply = self._client.get_bytes(f"{base}{path}", query)
            self._gate.note(base, reply.rate_limit)
            return self._entries(reply.body, reply.content_type, f"{base}{path}")
        self._token()
        try:
            answer = self._client.get(f"{base}{path}", query, auth=True)
        except AuthFailed as exc:
            if exc.http_status != 401:
                raise
            self._token(force=True)  # expired or revoked early: one new token, one more try
            self._requests += 1
            answer = self._client.get(f"{base}{path}", query, auth=True)
        self._gate.note(base, answer.rate_limit)
        return self._children(answer.data, listing)

    def _children(self, data: Any, listing: _Listing) -> list[_Item]:
        inner = data.get("data") if isinstance(data, dict) else None
        children = inner.get("children") if isinstance(inner, dict) else None
        if not isinstance(children, list):
            raise PlatformError(f"{listing.key}: the answer is not a Listing")
        fetched = self.clock.now()
        items = []
        for child in children:
            thing = child.get("data") if isinstance(child, dict) else None
            if not isinstance(thing, dict) or not isinstance(thing.get("name"), str):
                raise PlatformError(f"{listing.key}: a listing child without a fullname")
            try:
                created = float(thing["created_utc"])
            except (KeyError, TypeError, ValueError):
                raise PlatformError(f"{listing.key}: {thing['name']} without created_utc") from None
            make = partial(thing_to_mention, str(child.get("kind")), thing, self.settings.www_url)
            items.append(_Item(thing["name"], created, self._mention(make, fetched)))
        return items

    def _entries(self, body: bytes, content_type: str | None, url: str) -> list[_Item]:
        fetched = self.clock.now()
        try:
            feed = parse_feed(body, content_type, url, now=fetched)
        except NotAFeed as exc:
            raise PlatformError(f"the feed is not one: {exc}") from None
        items = []
        for entry in feed.entries:
            # The entry's id is the fullname (which feedparser may resolve against the URL).
            fullname = _FULLNAME.search(entry.id or "")
            if fullname is None or entry.published is None:
                raise PlatformError("a feed entry without a fullname or a date")
            make = partial(
                entry_to_mention,
                fullname[0],
                entry.link or "",
                entry.title,
                entry.text,
                entry.author,
                entry.published,
                www=self.settings.www_url,
            )
            items.append(
                _Item(fullname[0], entry.published.timestamp(), self._mention(make, fetched))
            )
        return items

    def _mention(self, make: Callable[..., Mention], fetched: datetime) -> Mention | None:
        """``make(source=, fetched=)``, or None (logged) if what Reddit sent is no mention."""
        try:
            return make(source=self.name, fetched=fetched)
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            log.info("reddit %s: skipped a thing (%s)", self.name, str(exc).splitlines()[0])
            return None

    # -- polling -------------------------------------------------------------------------------

    def poll(self, cursors: Cursors) -> Batch:
        self._requests = 0
        listings = {listing.key: listing for listing in self.listings()}

        def read(
            key: str, cursor: TimeCursor | None
        ) -> tuple[list[Mention | None], TimeCursor | None, bool]:
            items, cursor, left = self._read(listings[key], cursor)
            return [i.mention for i in items], cursor, left

        batch = poll_by_time(cursors, list(listings), _OVERLAP_S, read)
        return replace(batch, rate_limit=self._gate.last, requests=self._requests)

    def _read(
        self, listing: _Listing, cursor: TimeCursor | None
    ) -> tuple[list[_Item], TimeCursor | None, bool]:
        """What is new in ``listing`` since ``cursor``; the cursor after it; whether pages
        were left unread."""
        size = self.settings.page_size
        newest = self._fetch(listing, {"limit": size})
        if cursor is None:
            return newest, TimeCursor.first(_keys(newest), _OVERLAP_S), False
        fresh = [i for i in newest if cursor.is_new(i.fullname, i.created)]
        if len(fresh) < len(newest) or len(newest) < size or cursor.anchor is None:
            return fresh, cursor.advance(_keys(fresh)), False
        # The whole newest page is new: read forward from the cursor, oldest page first.
        read: list[_Item] = []
        anchor = cursor.anchor
        for _ in range(max(1, self.settings.max_pages - 1)):
            page = self._fetch(listing, {"limit": size, "before": anchor})
            if not page and not read:
                return self._back_from(listing, newest, fresh, cursor)
            read += [i for i in reversed(page) if cursor.is_new(i.fullname, i.created)]
            if len(page) < size:
                return read, cursor.advance(_keys(read, oldest_first=True)), False
            anchor = page[0].fullname
        return read, cursor.advance(_keys(read, oldest_first=True)), True

    def _back_from(
        self, listing: _Listing, newest: list[_Item], fresh: list[_Item], cursor: TimeCursor
    ) -> tuple[list[_Item], TimeCursor | None, bool]:
        """The post the cursor names is gone from the listing: read back from the newest page
        (``after=``) until the cursor's time, as far as ``max_pages`` allows."""
        read, last = list(fresh), newest[-1].fullname
        for _ in range(self.settings.max_pages - 2):
            page = self._fetch(listing, {"limit": self.settings.page_size, "after": last})
            new = [i for i in page if cursor.is_new(i.fullname, i.created)]
            read += new
            if len(new) < len(page) or len(page) < self.settings.page_size:
                return read, cursor.advance(_keys(read)), False
            last = page[-1].fullname
        log.warning(
            "reddit %s: %s: the post the cursor named is gone, and more than %d came since: "
            "older ones are not read",
            self.name,
            listing.key,
            len(read),
        )
        return read, cursor.advance(_keys(read)), False


def _keys(items: list[_Item], *, oldest_first: bool = False) -> list[tuple[str, float]]:
    """(fullname, created) of ``items``, oldest first (listings come newest first)."""
    ordered = items if oldest_first else list(reversed(items))
    return [(i.fullname, i.created) for i in ordered]
