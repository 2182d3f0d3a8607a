"""Bluesky: every new post of the network, read from a Jetstream and kept when a brand's query
matches it.

Jetstream (https://github.com/bluesky-social/jetstream) is Bluesky's official JSON rendering of
the network's firehose: a WebSocket, ``/subscribe?wantedCollections=app.bsky.feed.post``, that
sends one JSON object per event, each with the author's ``did`` and ``time_us`` (microseconds
since the epoch, the stream's own clock):

- ``kind: commit``: ``commit.operation`` is ``create``, ``update`` or ``delete`` of the record
  ``at://<did>/<commit.collection>/<commit.rkey>``; a create carries the ``record`` (a post:
  ``text``, ``langs``, ``createdAt``, ``reply.parent.uri``/``reply.root.uri``, ``embed``);
- ``kind: identity`` (``identity.handle``: the account's handle now) and ``kind: account``
  (``account.active``, ``account.status``: ``deleted``, ``takendown``...), sent to every
  subscriber whatever the collections asked for.

``cursor=<time_us>`` replays from that time (the public instances keep about a day); without
one the stream starts live. The connector keeps the newest ``time_us`` read as its cursor; the
first time, it starts from the time it connects.

The connection stays open between polls: a poll reads it for ``read_for`` (or ``max_events``)
and returns what it kept. When the cursors it is handed are not those it returned last (a
restart, or a batch the runner could not publish), or the stream closed, it connects again,
asking for a replay from ``rewind`` before the cursor: the runner's seen-table drops what is
read twice, and nothing at the seam is lost.

Filtering: the firehose carries every post of the network (about 60 a second); each is matched
in memory against the brands' queries (`ingest.query.matches`, as enrich does) and only those
that match one are kept. A post without text is passed over; an event that is not JSON, or not
what the documentation describes, is counted as skipped (`Batch.skipped`).

Deletions: the posts kept in the last ``watch_deletions`` (``max_watched`` at most) are watched
(a cursor, ``watched``); a ``delete`` of one, or an ``account`` event saying its author's
account was deleted or taken down, reports it as deleted.

Mapping: a post is one mention identified by ``bluesky`` + its ``at://`` URI; its URL is
``https://bsky.app/profile/<did>/post/<rkey>``; the author's handle when an ``identity`` event
gave it since the connector started, else the DID; the first declared language; the parent and
the thread's root of a reply; the title of a link card as the title. ``createdAt`` is the
author's word: a date before Bluesky existed or in the future is replaced by ``time_us``.
Followers and engagement are not in the stream.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from crawlers.networks.appview import MAX_ACTORS, AppView
from crawlers.networks.base import (
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import open_websocket
from crawlers.networks.settings import BlueskySearch, BlueskySettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock, SystemClock
from ingest.query import Doc, Node, matches
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
    Engagement,
    Mention,
    Source,
    SourceKind,
    Thread,
    mention_id,
)
from ingest.settings import Brand

log = logging.getLogger(__name__)

PLATFORM = "bluesky"
POSTS = "app.bsky.feed.post"
CURSOR = "time_us"
WATCHED = "watched"
"""The cursor that holds the posts watched for deletion: ``[[id, did, time], ...]`` as JSON."""
SEARCH = "search"
"""The cursors ``search <query>``: ``{"since", "until", "cursor"}`` of the query's round."""
PROFILES = "profiles"
"""The cursor that caches the authors' profiles: ``{did: [followers, handle, name, time]}``."""
_SEARCH_OVERLAP = timedelta(minutes=2)
_EARLIEST = datetime(2022, 11, 1, tzinfo=UTC)
"""Before the network's first posts: an earlier ``createdAt`` is not believed."""
_AHEAD = timedelta(minutes=10)
_MAX_HANDLES = 100_000
_GONE = frozenset({"deleted", "takendown"})
_MAX_MESSAGE = 1 << 20


def post_uri(did: str, rkey: str) -> str:
    return f"at://{did}/{POSTS}/{rkey}"


def post_id(uri: str) -> str:
    """The mention id of the post at ``uri`` (``at://<did>/app.bsky.feed.post/<rkey>``)."""
    return mention_id(source=PLATFORM, native_id=uri)


def post_url(uri: str) -> str | None:
    """The post's page on bsky.app, when ``uri`` is a post's."""
    did, _, rest = uri.removeprefix("at://").partition("/")
    collection, _, rkey = rest.partition("/")
    if not uri.startswith("at://") or collection != POSTS or not did or not rkey:
        return None
    return f"https://bsky.app/profile/{did}/post/{rkey}"


def _published(value: Any, received: datetime) -> datetime:
    """``createdAt``, when it is a date the post can have been written at; else ``received``."""
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return received
        if when.tzinfo is not None and _EARLIEST <= when <= received + _AHEAD:
            return min(when, received)
    return received


def _uri(reply: Any, key: str) -> str | None:
    """``reply.<key>.uri``, when it is an ``at://`` URI."""
    ref = reply.get(key) if isinstance(reply, dict) else None
    uri = ref.get("uri") if isinstance(ref, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else None


def post_to_mention(
    did: str,
    rkey: str,
    record: dict[str, Any],
    *,
    received: datetime,
    fetched: datetime,
    source: str,
    handle: str | None = None,
) -> Mention:
    """The mention for the post ``record`` of ``did`` at ``rkey``; ValueError (or pydantic's
    ValidationError) if it cannot be one."""
    uri = post_uri(did, rkey)
    url = post_url(uri)
    if url is None:
        raise ValueError(f"not a post's URI: {uri}")
    text = record.get("text")
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    reply = record.get("reply")
    parent, root = _uri(reply, "parent"), _uri(reply, "root")
    embed = record.get("embed")
    card = embed.get("external") if isinstance(embed, dict) else None
    title = card.get("title") if isinstance(card, dict) else None
    return Mention(
        id=post_id(uri),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site="bsky.app",
        title=title if isinstance(title, str) and title.strip() else None,
        text=text[:MAX_TEXT_CHARS] if isinstance(text, str) else "",
        author=Author(handle=handle or did, url=f"https://bsky.app/profile/{did}"),
        published=_published(record.get("createdAt"), received),
        fetched=fetched,
        parent=post_id(parent) if parent else None,
        thread=Thread(id=post_id(root), url=post_url(root)) if root else None,
        lang=lang,
    )


class JetstreamReader:
    """What one poll made of the events it read: the posts kept, the deletions, the newest
    ``time_us``. The connector feeds it from the stream, the benchmark from memory."""

    def __init__(
        self,
        trees: Sequence[Node],
        source: str,
        fetched: datetime,
        *,
        watched: dict[str, tuple[str, float]] | None = None,
        handles: dict[str, str] | None = None,
    ) -> None:
        self.trees = list(trees)
        self.source = source
        self.fetched = fetched
        self.watched = watched if watched is not None else {}
        """Mention id -> (author's DID, time_us in seconds) of the posts kept and watched."""
        self.handles = handles if handles is not None else {}
        self.mentions: dict[str, Mention] = {}
        self.deletions: list[str] = []
        self.cursor: int | None = None
        self.events = 0
        self.posts = 0
        self.skipped = 0

    def feed(self, message: str | bytes) -> None:
        """Read one message of the stream."""
        self.events += 1
        try:
            event = json.loads(message)
        except ValueError:
            self.skipped += 1
            return
        time_us = event.get("time_us") if isinstance(event, dict) else None
        did = event.get("did") if isinstance(event, dict) else None
        if not isinstance(time_us, int) or isinstance(time_us, bool) or not isinstance(did, str):
            self.skipped += 1
            return
        if self.cursor is None or time_us > self.cursor:
            self.cursor = time_us
        kind = event.get("kind")
        body = event.get(kind) if isinstance(kind, str) else None
        if not isinstance(body, dict):
            self.skipped += 1
        elif kind == "commit":
            self._commit(did, time_us, body)
        elif kind == "identity":
            handle = body.get("handle")
            if isinstance(handle, str) and handle:
                if len(self.handles) >= _MAX_HANDLES and did not in self.handles:
                    del self.handles[next(iter(self.handles))]
                self.handles[did] = handle
        elif kind == "account" and body.get("active") is False and body.get("status") in _GONE:
            gone = [mid for mid, (author, _) in self.watched.items() if author == did]
            for mid in gone:
                del self.watched[mid]
                self.mentions.pop(mid, None)
            self.deletions += gone

    def _commit(self, did: str, time_us: int, commit: dict[str, Any]) -> None:
        if commit.get("collection") != POSTS:
            return
        rkey, operation = commit.get("rkey"), commit.get("operation")
        if not isinstance(rkey, str) or not rkey:
            self.skipped += 1
            return
        if operation == "delete":
            mid = post_id(post_uri(did, rkey))
            if mid in self.watched:
                del self.watched[mid]
                self.mentions.pop(mid, None)
                self.deletions.append(mid)
            return
        if operation != "create":
            return  # an edit (the app has none yet): the post was matched when created
        self.posts += 1
        record = commit.get("record")
        if not isinstance(record, dict):
            self.skipped += 1
            return
        text = record.get("text")
        if not isinstance(text, str) or not text.strip():
            return  # images alone: nothing a query can match
        received = datetime.fromtimestamp(time_us / 1e6, UTC)
        try:
            mention = post_to_mention(
                did,
                rkey,
                record,
                received=received,
                fetched=self.fetched,
                source=self.source,
                handle=self.handles.get(did),
            )
        except (ValueError, TypeError, ValidationError):
            self.skipped += 1
            return
        doc = Doc.of(mention)
        if any(matches(tree, doc) for tree in self.trees):
            self.mentions[mention.id] = mention
            self.watched[mention.id] = (did, time_us / 1e6)


def _load_watched(value: str | None) -> dict[str, tuple[str, float]]:
    try:
        rows = json.loads(value) if value else []
        return {str(m): (str(d), float(t)) for m, d, t in rows}
    except (ValueError, TypeError):
        return {}


class BlueskyConnector(_Connector):
    def __init__(
        self,
        settings: BlueskySettings,
        http: HttpSettings,
        clock: Clock | None = None,
        brands: Sequence[Brand] = (),
    ) -> None:
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.http = http
        self.clock = clock or SystemClock()
        self.trees = [b.tree for b in brands]
        self._handles: dict[str, str] = {}
        self._ws: ClientConnection | None = None
        self._stack = ExitStack()
        self._at: str | None = None
        """The cursor the open connection stands at (the one the last poll returned)."""
        self.appview = (
            AppView(
                settings.service,
                settings.handle,
                settings.app_password.get_secret_value(),
                http,
                self.clock,
            )
            if settings.handle is not None and settings.app_password is not None
            else None
        )
        self._search_due = 0.0

    @property
    def platform(self) -> str:
        return PLATFORM

    def close(self) -> None:
        self._disconnect()
        if self.appview is not None:
            self.appview.close()

    def _disconnect(self) -> None:
        self._ws = None
        self._stack.close()

    def url(self, cursor: str | None) -> str:
        """The stream's URL, replaying from ``rewind`` before ``cursor`` when there is one."""
        query: dict[str, str | int] = {"wantedCollections": POSTS}
        if cursor is not None and cursor.isdigit():
            rewind = int(self.settings.rewind.total_seconds() * 1_000_000)
            query["cursor"] = max(int(cursor) - rewind, 0)
        base = self.settings.jetstream
        return f"{base}{'&' if '?' in base else '?'}{urlencode(query)}"

    def _connect(self, cursor: str | None) -> ClientConnection:
        self._disconnect()
        # Entered as a context (websockets asks for it), left by `close`: the connection
        # outlives one poll.
        self._ws = self._stack.enter_context(
            open_websocket(self.url(cursor), self.http, max_size=_MAX_MESSAGE)
        )
        return self._ws

    def test(self) -> list[str]:
        """The stream answers and sends events."""
        ws = self._connect(None)
        try:
            ws.recv(timeout=max(self.settings.read_for.total_seconds(), 10.0))
        except TimeoutError:
            raise PlatformError("the stream sent nothing") from None
        except ConnectionClosed as exc:
            raise PlatformError(f"the stream closed: {exc}") from None
        finally:
            self._disconnect()
        kept = (
            f"posts kept when one of the brands' queries matches ({len(self.trees)})"
            if self.trees
            else "no brand is configured: nothing is kept"
        )
        checked = [f"{self.settings.jetstream}: the stream sends events; {kept}"]
        if self.appview is not None:
            self.appview.sign_in()
            checked.append(
                f"{self.settings.service}: signed in as {self.settings.handle} ({self.appview.did})"
            )
            search = self.settings.search
            if search is not None:
                since = _iso(self.clock.now() - search.backfill)
                until = _iso(self.clock.now())
                posts, _ = self.appview.search(
                    search.queries[0], since=since, until=until, cursor=None
                )
                checked.append(
                    f"search '{search.queries[0]}': {len(posts)} posts on the first page "
                    "(before the brands' queries)"
                )
        return checked

    def poll(self, cursors: Cursors) -> Batch:
        cursor = cursors.get(CURSOR)
        reader = JetstreamReader(
            self.trees,
            self.name,
            self.clock.now(),
            watched=_load_watched(cursors.get(WATCHED)),
            handles=self._handles,
        )
        requests = 0
        if self._ws is None or cursor != self._at:
            if cursor is None:
                # The first connection starts now, as a cursor: should its batch not be kept,
                # the next connection replays it rather than starting live again.
                cursor = str(int(self.clock.now().timestamp() * 1_000_000))
            self._at = None
            ws = self._connect(cursor)
            requests = 1
        else:
            ws = self._ws
        error: ConnectorError | None = None
        deadline = time.monotonic() + self.settings.read_for.total_seconds()
        try:
            while reader.events < self.settings.max_events:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    message = ws.recv(timeout=left)
                except TimeoutError:
                    break
                reader.feed(message)
        except (ConnectionClosed, OSError) as exc:
            error = PlatformError(f"the stream closed: {exc}")
            self._disconnect()
        new = {k: v for k, v in cursors.items() if k not in (CURSOR, WATCHED)}
        at = cursor
        if reader.cursor is not None and (
            at is None or not at.isdigit() or reader.cursor > int(at)
        ):
            # Never back: a replay that ends before it caught up must not rewind further.
            at = str(reader.cursor)
        if at is not None:
            new[CURSOR] = at
        more = reader.events >= self.settings.max_events
        if self.appview is not None:
            # Before the watched posts are kept: those found by search are watched too.
            requests_before = self.appview.requests
            more_pages, appview_error = self._from_appview(self.appview, cursors, new, reader)
            more = more or more_pages
            error = error or appview_error
            requests += self.appview.requests - requests_before
        new[WATCHED] = self._watched(reader, int(at) if at and at.isdigit() else 0)
        self._at = at if self._ws is not None else None
        if reader.skipped:
            log.info(
                "bluesky %s: %d events skipped (not JSON, or not as documented)",
                self.name,
                reader.skipped,
            )
        return Batch(
            mentions=list(reader.mentions.values()),
            deletions=reader.deletions,
            cursors=new,
            requests=requests,
            more=more,
            error=error,
            skipped=reader.skipped,
            rate_limit=self.appview.rate_limit if self.appview is not None else None,
        )

    # -- the AppView ---------------------------------------------------------------------------

    def _from_appview(
        self, appview: AppView, cursors: Cursors, new: dict[str, str], reader: JetstreamReader
    ) -> tuple[bool, ConnectorError | None]:
        """The searches when they are due, into ``reader``'s mentions; then the followers of
        every mention's author. Whether pages were left, and what stopped it."""
        more = False
        error: ConnectorError | None = None
        search = self.settings.search
        now = self.clock.now().timestamp()
        try:
            appview.signed_in()  # at once: a refused app password shows at the first poll
        except ConnectorError as exc:
            return False, exc
        if search is not None and now >= self._search_due:
            try:
                more = self._search(appview, search, cursors, new, reader)
            except ConnectorError as exc:
                error = exc
            else:
                if not more:
                    self._search_due = now + search.every.total_seconds()
        if self.settings.followers and reader.mentions:
            try:
                self._followers(appview, cursors, new, reader.mentions)
            except ConnectorError as exc:
                error = error or exc
        return more, error

    def _search(
        self,
        appview: AppView,
        search: BlueskySearch,
        cursors: Cursors,
        new: dict[str, str],
        reader: JetstreamReader,
    ) -> bool:
        """Each query's round: from its ``since`` to the ``until`` fixed when the round began,
        page by page; the round goes on at the next poll when ``max_pages`` were read. Whether
        pages were left."""
        more = False
        for q in search.queries:
            key = f"{SEARCH} {q}"
            window = _load_window(cursors.get(key))
            now = self.clock.now()
            if window is None:
                window = {"since": _iso(now - search.backfill), "until": None, "cursor": None}
            if window["until"] is None:
                window["until"] = _iso(now)
            for _ in range(search.max_pages):
                posts, cursor = appview.search(
                    q,
                    since=str(window["since"]),
                    until=str(window["until"]),
                    cursor=window["cursor"],
                )
                for post in posts:
                    self._keep_post(post, reader)
                if cursor is None or not posts:
                    # The next round starts a little before this one ended: posts indexed late
                    # are found then; those read twice are published once.
                    until = datetime.fromisoformat(str(window["until"]).replace("Z", "+00:00"))
                    window = {"since": _iso(until - _SEARCH_OVERLAP), "until": None, "cursor": None}
                    new[key] = json.dumps(window, sort_keys=True)
                    break
                window["cursor"] = cursor
                new[key] = json.dumps(window, sort_keys=True)
            else:
                more = True
        return more

    def _keep_post(self, post: dict[str, Any], reader: JetstreamReader) -> None:
        """A post found by search, kept in ``reader`` when a brand's query matches it."""
        try:
            mention, did = post_view_to_mention(post, fetched=reader.fetched, source=self.name)
        except (ValueError, TypeError, KeyError, ValidationError):
            reader.skipped += 1
            return
        if any(matches(tree, Doc.of(mention)) for tree in self.trees):
            reader.mentions[mention.id] = mention
            reader.watched.setdefault(mention.id, (did, mention.when.timestamp()))

    def _followers(
        self,
        appview: AppView,
        cursors: Cursors,
        new: dict[str, str],
        mentions: dict[str, Mention],
    ) -> None:
        """Each mention's author with their followers (and handle, name), from the cache in
        the cursors or ``getProfiles``; the cache kept in ``new``."""
        cache = _load_profiles(cursors.get(PROFILES))
        now = self.clock.now().timestamp()
        horizon = now - self.settings.followers_ttl.total_seconds()
        cache = {d: p for d, p in cache.items() if p[3] >= horizon}
        authors = {mid: _did_of(m.url) for mid, m in mentions.items()}
        missing = sorted({d for d in authors.values() if d and d not in cache})
        try:
            for at in range(0, len(missing), MAX_ACTORS):
                chunk = missing[at : at + MAX_ACTORS]
                found = {p.get("did"): p for p in appview.profiles(chunk)}
                for asked in chunk:
                    cache[asked] = _profile_row(found.get(asked), now)
        finally:
            for mid, author in authors.items():
                row = cache.get(author) if author else None
                if row is not None:
                    mentions[mid] = _with_profile(mentions[mid], row)
            kept = sorted(cache.items(), key=lambda item: item[1][3])[-self.settings.max_profiles :]
            new[PROFILES] = json.dumps(
                dict(kept) if self.settings.max_profiles else {}, separators=(",", ":")
            )

    def _watched(self, reader: JetstreamReader, now_us: int) -> str:
        """The posts still watched, as the ``watched`` cursor: the newest ``max_watched`` of
        those younger than ``watch_deletions`` at the stream's time ``now_us``."""
        horizon = now_us / 1e6 - self.settings.watch_deletions.total_seconds()
        rows = sorted(
            ((t, m, d) for m, (d, t) in reader.watched.items() if t >= horizon), reverse=True
        )[: self.settings.max_watched]
        return json.dumps([[m, d, t] for t, m, d in reversed(rows)], separators=(",", ":"))


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _load_window(value: str | None) -> dict[str, str | None] | None:
    try:
        data = json.loads(value) if value else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("since"), str):
        return None
    return {
        k: data[k] if isinstance(data.get(k), str) else None for k in ("since", "until", "cursor")
    }


ProfileRow = tuple[int | None, str | None, str | None, float]
"""An author's followers, handle and display name, and when they were looked up."""


def _load_profiles(value: str | None) -> dict[str, ProfileRow]:
    try:
        data = json.loads(value) if value else {}
        return {
            str(did): (
                int(f) if isinstance(f, int) else None,
                h if isinstance(h, str) else None,
                n if isinstance(n, str) else None,
                float(at),
            )
            for did, (f, h, n, at) in data.items()
        }
    except (ValueError, TypeError, AttributeError):
        return {}


def _profile_row(profile: dict[str, Any] | None, now: float) -> ProfileRow:
    """What a ``getProfiles`` profile says (an unknown account: nothing, until the TTL)."""
    if profile is None:
        return (None, None, None, now)
    followers = profile.get("followersCount")
    handle, name = profile.get("handle"), profile.get("displayName")
    return (
        followers if isinstance(followers, int) and followers >= 0 else None,
        handle if isinstance(handle, str) and handle and handle != "handle.invalid" else None,
        name if isinstance(name, str) and name.strip() else None,
        now,
    )


def _did_of(url: str) -> str | None:
    """The author's DID in a post's URL (``https://bsky.app/profile/<did>/post/<rkey>``)."""
    did = url.removeprefix("https://bsky.app/profile/").partition("/")[0]
    return did if did.startswith("did:") else None


def _with_profile(mention: Mention, row: ProfileRow) -> Mention:
    followers, handle, name, _ = row
    old = mention.author or Author()
    author = Author(
        name=name or old.name,
        handle=handle or old.handle,
        url=old.url,
        followers=followers if followers is not None else old.followers,
    )
    return mention.model_copy(update={"author": author})


def post_view_to_mention(
    post: dict[str, Any], *, fetched: datetime, source: str
) -> tuple[Mention, str]:
    """The mention for a ``postView`` of the AppView (``uri``, ``author``, ``record``,
    ``indexedAt``, the counts), and its author's DID; the same id as the post read from the
    stream. ValueError (or pydantic's ValidationError) if it cannot be one."""
    uri = post["uri"]
    did, _, rest = str(uri).removeprefix("at://").partition("/")
    collection, _, rkey = rest.partition("/")
    record = post.get("record")
    if collection != POSTS or not isinstance(record, dict):
        raise ValueError(f"not a post: {uri}")
    given = post.get("author")
    author: dict[str, Any] = given if isinstance(given, dict) else {}
    indexed = _published(post.get("indexedAt"), fetched)
    handle = author.get("handle")
    mention = post_to_mention(
        did,
        rkey,
        record,
        received=indexed,
        fetched=fetched,
        source=source,
        handle=handle if isinstance(handle, str) and handle != "handle.invalid" else None,
    )
    name = author.get("displayName")
    return mention.model_copy(
        update={
            "author": Author(
                name=name if isinstance(name, str) and name.strip() else None,
                handle=mention.author.handle if mention.author else None,
                url=mention.author.url if mention.author else None,
            ),
            "engagement": Engagement(
                likes=post.get("likeCount"),
                shares=post.get("repostCount"),
                replies=post.get("replyCount"),
            ),
        }
    ), did
