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

from crawlers.networks.base import (
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import open_websocket
from crawlers.networks.settings import BlueskySettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock, SystemClock
from ingest.query import Doc, Node, matches
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
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

    @property
    def platform(self) -> str:
        return PLATFORM

    def close(self) -> None:
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
        self.close()
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
            self.close()
        kept = (
            f"posts kept when one of the brands' queries matches ({len(self.trees)})"
            if self.trees
            else "no brand is configured: nothing is kept"
        )
        return [f"{self.settings.jetstream}: the stream sends events; {kept}"]

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
            self.close()
        new = {k: v for k, v in cursors.items() if k not in (CURSOR, WATCHED)}
        at = cursor
        if reader.cursor is not None and (
            at is None or not at.isdigit() or reader.cursor > int(at)
        ):
            # Never back: a replay that ends before it caught up must not rewind further.
            at = str(reader.cursor)
        if at is not None:
            new[CURSOR] = at
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
            more=reader.events >= self.settings.max_events,
            error=error,
            skipped=reader.skipped,
        )

    def _watched(self, reader: JetstreamReader, now_us: int) -> str:
        """The posts still watched, as the ``watched`` cursor: the newest ``max_watched`` of
        those younger than ``watch_deletions`` at the stream's time ``now_us``."""
        horizon = now_us / 1e6 - self.settings.watch_deletions.total_seconds()
        rows = sorted(
            ((t, m, d) for m, (d, t) in reader.watched.items() if t >= horizon), reverse=True
        )[: self.settings.max_watched]
        return json.dumps([[m, d, t] for t, m, d in reversed(rows)], separators=(",", ":"))
