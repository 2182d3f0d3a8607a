"""Mastodon: hashtag timelines and status search on any list of instances, statuses as mentions.

What it reads (https://docs.joinmastodon.org/methods/timelines/, /methods/search/):

- ``GET /api/v1/timelines/tag/:hashtag``, public on most instances: the first poll reads the
  newest page (and ``backfill_pages`` older ones through the ``next`` link); later polls ask for
  the page just after the newest status seen (``min_id``) and follow the ``prev`` link of each
  page until one comes back empty, so nothing posted between two polls is skipped, however many;
- ``GET /api/v2/search?type=statuses&q=...`` with the instance's bearer token, paged the same
  way by ``min_id`` (its answer has no ``Link`` header).

The cursor of each timeline (``<instance> tag <hashtag>``, ``<instance> search <query>``) is
the newest status id published. Ids are compared as numbers of any length: Mastodon's are
digit strings that grow with time, longer ones being newer.

Deletions: the statuses published in the last ``recheck_window`` (24 h) are watched (a cursor,
``watched``) and looked up again, ``recheck_per_poll`` at each poll, the longest unchecked first
(``GET /api/v1/statuses/:id``, with the instance's token if it has one); a 404 or 410 makes the
status's id a deletion of the batch. A spent rate limit leaves the lookups for the next poll.

Rate limits: each answer's ``X-RateLimit-*`` headers are kept; when ``Remaining`` reaches 0 the
poll stops and the runner waits for ``Reset``; a 429 does the same. One instance failing (429,
401, 5xx, malformed JSON) ends the poll with what the others and the pages before brought.

Streaming (``stream: true``, https://docs.joinmastodon.org/methods/streaming/): each hashtag
on each instance that has a token is also followed through a WebSocket, ``/api/v1/streaming
?stream=hashtag&tag=...`` on the instance's streaming server (``configuration.urls.streaming``
of ``/api/v2/instance``; many instances refuse it without a token). The connections stay open
between polls; a poll reads them for ``read_for``: ``update`` is a status (published like one
read from the timeline), ``delete`` the id of a deleted status (a deletion when it is one the
connector published in the last ``recheck_window``), ``status.update`` an edit (not followed).
The stream has no replay, so whenever a stream is (re)opened (the first poll, a restart, a
closed stream, a batch the runner could not publish) it is opened first and the REST timeline
is then read forward from the cursor (``min_id``): what the stream missed comes from REST, and
what both bring is published once (same id). The other reads (searches, instances without a
token, deletion lookups) keep to ``interval``; the runner polls a streaming connector every
second.

Mapping: a status is one mention, identified by ``mastodon`` + instance + its id there (the same
post read on two instances is two ids; the near-duplicate detector groups them). The author is
the account's ``acct`` (with the instance's domain for local accounts), its profile URL and
``followers_count``; engagement is ``favourites_count``, ``reblogs_count``, ``replies_count``;
the language is the one declared; ``in_reply_to_id`` gives the parent's id; the content warning
(``spoiler_text``) is the title; the HTML content becomes text. Boosts carry the boosted status,
which is the mention.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode, urlsplit

from pydantic import ValidationError
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from crawlers.extract.text import html_to_text
from crawlers.networks.base import (
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
    RateLimited,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import JsonClient, JsonReply, RateGate, open_websocket
from crawlers.networks.settings import MastodonInstance, MastodonSettings
from crawlers.settings import HttpSettings
from ingest.clock import Clock, SystemClock
from ingest.record import (
    MAX_TEXT_CHARS,
    Author,
    Engagement,
    Mention,
    Source,
    SourceKind,
    mention_id,
    site_of,
)

log = logging.getLogger(__name__)

PLATFORM = "mastodon"
WATCHED = "watched"
"""The cursor that holds the statuses watched for deletion (`_Watched`, as JSON)."""
_MAX_WATCHED = 2000
_STREAM_PAUSE = timedelta(seconds=1)
_STREAM_SLICE_S = 0.05
"""With several streams open, each is read this long in turn."""


def status_id(host: str, native: str) -> str:
    """The mention id of status ``native`` as instance ``host`` numbers it."""
    return mention_id(source=PLATFORM, native_id=f"{host}/{native}")


def _newer(a: str, b: str | None) -> bool:
    return b is None or (len(a), a) > (len(b), b)


def _newest(ids: list[str], cursor: str | None) -> str | None:
    for native in ids:
        if _newer(native, cursor):
            cursor = native
    return cursor


def status_to_mention(status: dict[str, Any], host: str, source: str, fetched: datetime) -> Mention:
    """The mention for one status read on instance ``host``; ValueError (or pydantic's
    ValidationError) if it cannot be one."""
    if isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    account = status.get("account") or {}
    acct = str(account.get("acct") or account.get("username") or "")
    handle = acct if "@" in acct or not acct else f"{acct}@{host}"
    text = html_to_text(status.get("content"))[:MAX_TEXT_CHARS]
    url = status.get("url") or status.get("uri")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError("status without a URL")
    parent = status.get("in_reply_to_id")
    published = datetime.fromisoformat(str(status["created_at"]).replace("Z", "+00:00"))
    return Mention(
        id=status_id(host, str(status["id"])),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site=site_of(url),
        title=status.get("spoiler_text") or None,
        text=text,
        author=Author(
            name=account.get("display_name") or None,
            handle=handle or None,
            url=account.get("url"),
            followers=account.get("followers_count"),
        ),
        published=min(published, fetched),
        fetched=fetched,
        parent=status_id(host, str(parent)) if parent else None,
        engagement=Engagement(
            likes=status.get("favourites_count"),
            shares=status.get("reblogs_count"),
            replies=status.get("replies_count"),
        ),
        lang=status.get("language"),
    )


@dataclass(frozen=True)
class _Timeline:
    """One thing read on one instance: a hashtag timeline or a search."""

    instance: MastodonInstance
    kind: str  # "tag" or "search"
    term: str

    @property
    def host(self) -> str:
        return urlsplit(self.instance.url).netloc

    @property
    def key(self) -> str:
        return f"{self.instance.url} {self.kind} {self.term}"


class MastodonConnector(_Connector):
    def __init__(
        self, settings: MastodonSettings, http: HttpSettings, clock: Clock | None = None
    ) -> None:
        super().__init__(settings.name, _STREAM_PAUSE if settings.stream else settings.interval)
        self.settings = settings
        self.http = http
        self.clock = clock or SystemClock()
        self._streams: dict[str, ClientConnection] = {}
        """Timeline key -> its open stream."""
        self._exits: dict[str, ExitStack] = {}
        """Timeline key -> what closes its stream (websockets wants a context)."""
        self._at: dict[str, str | None] = {}
        """Timeline key -> the cursor its stream stands at (the one the last poll returned)."""
        self._streaming: dict[str, str] = {}
        """Instance URL -> its streaming server's URL."""
        self._rest_due = 0.0
        """With streams: when the timelines that are not streamed are read next."""
        self._requests = 0
        self._gate = RateGate()
        """Each instance's rate limit, as its last answer said."""
        self._clients = {
            i.url: JsonClient(http, i.token.get_secret_value() if i.token else None)
            for i in settings.instances
        }

    @property
    def platform(self) -> str:
        return PLATFORM

    def timelines(self) -> list[_Timeline]:
        found = []
        for instance in self.settings.instances:
            found += [_Timeline(instance, "tag", t) for t in self.settings.hashtags]
            if instance.token:
                found += [_Timeline(instance, "search", q) for q in self.settings.search]
        return found

    def streamed(self, timeline: _Timeline) -> bool:
        """Whether ``timeline`` is followed through a stream (a hashtag, with a token)."""
        token = timeline.instance.token
        return self.settings.stream and timeline.kind == "tag" and token is not None

    def close(self) -> None:
        for key in list(self._streams):
            self._close_stream(key)
        for client in self._clients.values():
            client.close()

    def _close_stream(self, key: str) -> None:
        self._streams.pop(key, None)
        self._at.pop(key, None)
        exits = self._exits.pop(key, None)
        if exits is not None:
            exits.close()

    def test(self) -> list[str]:
        """Each instance answers; each token is accepted (``verify_credentials``)."""
        checked = []
        for instance in self.settings.instances:
            client = self._clients[instance.url]
            if instance.token:
                reply = client.get(f"{instance.url}/api/v1/accounts/verify_credentials", auth=True)
                acct = reply.data.get("acct") if isinstance(reply.data, dict) else None
                checked.append(f"{instance.url}: the token is accepted (account @{acct})")
            else:
                reply = client.get(f"{instance.url}/api/v2/instance")
                version = reply.data.get("version") if isinstance(reply.data, dict) else None
                checked.append(
                    f"{instance.url}: answers (Mastodon {version}), no token: hashtags only"
                )
        return checked

    # -- polling -------------------------------------------------------------------------------

    def poll(self, cursors: Cursors) -> Batch:
        new = dict(cursors)
        self._requests, self._gate.last = 0, None
        mentions: dict[str, Mention] = {}
        read: list[_Watched] = []
        more = False
        error: ConnectorError | None = None
        failed: set[str] = set()  # instances that failed: their other timelines wait too
        # Forgotten until this poll returns: should it not, its streams are reopened and
        # refilled from REST, since what they had brought is lost with it.
        at, self._at = self._at, {}
        now = self.clock.now().timestamp()
        rest_due = now >= self._rest_due
        if rest_due and self.settings.stream:
            self._rest_due = now + self.settings.interval.total_seconds()
        for timeline in self.timelines():
            key = timeline.key
            if timeline.instance.url in failed:
                continue
            if self.streamed(timeline):
                if key in self._streams and at.get(key) == cursors.get(key):
                    continue  # the stream is open and nothing it brought was lost
                self._close_stream(key)
            elif not rest_due:
                continue
            try:
                if self.streamed(timeline):
                    # Open first, then read REST from the cursor: nothing falls in between.
                    self._open_stream(timeline)
                for statuses in self._pages(timeline, new.get(key)):
                    ids = self._read(statuses, timeline, mentions, read)
                    newest = _newest(ids, new.get(key))
                    if newest is not None:
                        new[key] = newest
            except _MorePages:
                more = True
                self._close_stream(key)  # the REST timeline is read on at the next poll
            except ConnectorError as exc:
                failed.add(timeline.instance.url)
                error = error or exc
                self._close_stream(key)
                log.debug("mastodon %s: %s: %s", self.name, key, exc)
        deleted: set[tuple[str, str]] = set()
        skipped = 0
        if self._streams:
            skipped, stream_error = self._read_streams(new, mentions, read, deleted)
            error = error or stream_error
        watched = _load_watched(new.get(WATCHED)) + read
        deletions: list[str] = []
        if deleted:
            deletions = self._deleted(watched, deleted, mentions)
            watched = [w for w in watched if (w.instance, w.native) not in deleted]
        recheck_error = None
        if rest_due:
            rechecked, watched, recheck_error = self._recheck(watched, failed)
            deletions += rechecked
        else:
            watched = self._prune(watched)
        new[WATCHED] = json.dumps([list(w) for w in watched], separators=(",", ":"))
        for key in self._streams:
            self._at[key] = new.get(key)
        return Batch(
            mentions=list(mentions.values()),
            deletions=deletions,
            cursors=new,
            rate_limit=self._gate.last,
            requests=self._requests,
            more=more,
            error=error or recheck_error,
            skipped=skipped,
        )

    # -- streaming -----------------------------------------------------------------------------

    def _open_stream(self, timeline: _Timeline) -> None:
        instance = timeline.instance
        base = self._streaming.get(instance.url)
        if base is None:
            reply = self._get(instance.url, f"{instance.url}/api/v2/instance", None, auth=False)
            base = _streaming_url(reply.data) or "ws" + instance.url.removeprefix("http")
            self._streaming[instance.url] = base
        query = urlencode({"stream": "hashtag", "tag": timeline.term})
        token = instance.token.get_secret_value() if instance.token else None
        self._requests += 1
        exits = ExitStack()
        self._streams[timeline.key] = exits.enter_context(
            open_websocket(f"{base.rstrip('/')}/api/v1/streaming?{query}", self.http, token=token)
        )
        self._exits[timeline.key] = exits

    def _read_streams(
        self,
        cursors: dict[str, str],
        mentions: dict[str, Mention],
        read: list[_Watched],
        deleted: set[tuple[str, str]],
    ) -> tuple[int, ConnectorError | None]:
        """Read the open streams for ``read_for``, in turn: statuses into ``mentions`` (and the
        cursors), deleted ``(instance, id)`` into ``deleted``; the events skipped, and a
        stream's closing."""
        timelines = {t.key: t for t in self.timelines()}
        deadline = time.monotonic() + self.settings.read_for.total_seconds()
        skipped = 0
        error: ConnectorError | None = None
        while self._streams:
            for key, ws in list(self._streams.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return skipped, error
                try:
                    message = ws.recv(
                        timeout=left if len(self._streams) == 1 else min(left, _STREAM_SLICE_S)
                    )
                except TimeoutError:
                    continue
                except (ConnectionClosed, OSError) as exc:
                    # Reopened at the next poll, which reads REST from the cursor first.
                    error = error or PlatformError(f"{key}: the stream closed: {exc}")
                    self._close_stream(key)
                    continue
                timeline = timelines[key]
                event = _event(message)
                if event is None:
                    skipped += 1
                elif event[0] == "update":
                    try:
                        ids = self._read([event[1]], timeline, mentions, read)
                    except PlatformError:
                        skipped += 1
                        continue
                    newest = _newest(ids, cursors.get(key))
                    if newest is not None:
                        cursors[key] = newest
                elif event[0] == "delete":
                    deleted.add((timeline.instance.url, str(event[1])))
        return skipped, error

    def _deleted(
        self,
        watched: list[_Watched],
        deleted: set[tuple[str, str]],
        mentions: dict[str, Mention],
    ) -> list[str]:
        """The mention ids of the watched statuses that the streams said were deleted; a
        status deleted in the poll that read it is not published."""
        found = []
        for w in watched:
            if (w.instance, w.native) in deleted:
                mid = status_id(urlsplit(w.instance).netloc, w.native)
                mentions.pop(mid, None)
                if mid not in found:
                    found.append(mid)
        return found

    def _prune(self, watched: list[_Watched]) -> list[_Watched]:
        """``watched`` without duplicates and what is older than ``recheck_window``."""
        horizon = self.clock.now().timestamp() - self.settings.recheck_window.total_seconds()
        by_key = {(w.instance, w.native): w for w in watched if w.published >= horizon}
        return sorted(by_key.values(), key=lambda w: w.published)[-_MAX_WATCHED:]

    def _recheck(
        self, watched: list[_Watched], failed: set[str]
    ) -> tuple[list[str], list[_Watched], ConnectorError | None]:
        """Look up the statuses watched the longest ago (``recheck_per_poll`` of them): the ids
        of those the instance no longer has (404, 410), what is still watched, and what
        stopped the lookups."""
        now = self.clock.now().timestamp()
        watched = self._prune(watched)
        tokens = {i.url: i.token is not None for i in self.settings.instances}
        deletions: list[str] = []
        gone: set[_Watched] = set()
        checked: dict[_Watched, _Watched] = {}
        error: ConnectorError | None = None
        due = sorted(watched, key=lambda w: w.checked)[: self.settings.recheck_per_poll]
        for w in due:
            if w.instance in failed or w.instance not in tokens or w.checked >= now:
                continue
            url = f"{w.instance}/api/v1/statuses/{quote(w.native, safe='')}"
            try:
                self._get(w.instance, url, None, auth=tokens[w.instance])
            except RateLimited:
                failed.add(w.instance)  # the lookups wait for the next poll; not a failure
                continue
            except ConnectorError as exc:
                if exc.http_status in (404, 410):
                    deletions.append(status_id(urlsplit(w.instance).netloc, w.native))
                    gone.add(w)
                    continue
                failed.add(w.instance)
                error = error or exc
                continue
            checked[w] = w._replace(checked=now)
        kept = [checked.get(w, w) for w in watched if w not in gone]
        return deletions, kept, error

    def _read(
        self,
        statuses: list[Any],
        timeline: _Timeline,
        into: dict[str, Mention],
        read: list[_Watched],
    ) -> list[str]:
        """Map ``statuses`` into ``into``, and note them in ``read``; their native ids."""
        fetched = self.clock.now()
        ids = []
        for status in statuses:
            if not isinstance(status, dict) or not isinstance(status.get("id"), str | int):
                raise PlatformError(f"{timeline.key}: a status without an id")
            ids.append(str(status["id"]))
            try:
                mention = status_to_mention(status, timeline.host, self.name, fetched)
            except (ValueError, KeyError, TypeError, ValidationError) as exc:
                log.info(
                    "mastodon %s: skipped status %s (%s)",
                    self.name,
                    status["id"],
                    str(exc).splitlines()[0],
                )
                continue
            into[mention.id] = mention
            # A boost shows another status: that one is the mention, and the one to watch.
            shown = status["reblog"] if isinstance(status.get("reblog"), dict) else status
            watch = _Watched(
                timeline.instance.url,
                str(shown["id"]),
                mention.when.timestamp(),
                fetched.timestamp(),
            )
            read.append(watch)
        return ids

    def _pages(self, timeline: _Timeline, cursor: str | None) -> Iterator[list[Any]]:
        """Each page of ``timeline`` newer than ``cursor``, oldest page first once a cursor
        is known; raises `_MorePages` when ``max_pages`` were read and more are left."""
        settings = self.settings
        if timeline.kind == "tag":
            base = f"{timeline.instance.url}/api/v1/timelines/tag/{quote(timeline.term, safe='')}"
            params: dict[str, str | int] = {"limit": settings.page_size}
        else:
            base = f"{timeline.instance.url}/api/v2/search"
            params = {"q": timeline.term, "type": "statuses", "limit": settings.page_size}
        auth = timeline.kind == "search"
        # Without a cursor, read back from the newest (``next``: older, by ``max_id``); with
        # one, read forward from it (``prev``: newer, by ``min_id``).
        rel, key, edge = ("next", "max_id", min) if cursor is None else ("prev", "min_id", max)
        pages = settings.backfill_pages if cursor is None else settings.max_pages
        url: str = base
        query: dict[str, str | int] | None = (
            params if cursor is None else {**params, "min_id": cursor}
        )
        for _ in range(pages):
            reply = self._get(timeline.instance.url, url, query, auth=auth)
            statuses = _statuses(reply, timeline)
            yield statuses
            if not statuses:
                return
            link = reply.links.get(rel)
            if link is not None:  # (httpx would replace the link's query by an empty one)
                url, query = link, None
            else:  # search answers carry no Link header
                ids = [str(s["id"]) for s in statuses]
                url, query = base, {**params, key: edge(ids, key=lambda i: (len(i), i))}
        if cursor is not None:
            raise _MorePages

    def _get(
        self, instance: str, url: str, query: dict[str, str | int] | None, *, auth: bool
    ) -> JsonReply:
        """GET from ``instance``, unless its rate limit is spent until a reset still to come."""
        self._gate.check(instance, self.clock.now().timestamp())
        self._requests += 1
        reply = self._clients[instance].get(url, query, auth=auth)
        self._gate.note(instance, reply.rate_limit)
        return reply


class _Watched(NamedTuple):
    """A status published, watched for its deletion until it is ``recheck_window`` old."""

    instance: str
    native: str
    published: float
    checked: float
    """When it was last seen or looked up."""


def _load_watched(value: str | None) -> list[_Watched]:
    try:
        rows = json.loads(value) if value else []
        return [_Watched(str(i), str(n), float(p), float(c)) for i, n, p, c in rows]
    except (ValueError, TypeError):
        return []


class _MorePages(Exception):
    """``max_pages`` were read and the last one was not empty."""


def _statuses(reply: JsonReply, timeline: _Timeline) -> list[Any]:
    data = reply.data
    if timeline.kind == "search":
        data = data.get("statuses") if isinstance(data, dict) else None
    if not isinstance(data, list):
        raise PlatformError(f"{timeline.key}: expected a list of statuses")
    return data


def _streaming_url(instance: Any) -> str | None:
    """``configuration.urls.streaming`` of ``/api/v2/instance`` (Mastodon 4.0+)."""
    config = instance.get("configuration") if isinstance(instance, dict) else None
    urls = config.get("urls") if isinstance(config, dict) else None
    url = urls.get("streaming") if isinstance(urls, dict) else None
    return url if isinstance(url, str) and url.startswith(("ws://", "wss://")) else None


def _event(message: str | bytes) -> tuple[str, Any] | None:
    """A stream's message as ``("update", status)``, ``("delete", id)`` or ``(event, None)``
    for the others; None when it is not as documented."""
    try:
        data = json.loads(message)
    except ValueError:
        return None
    event = data.get("event") if isinstance(data, dict) else None
    payload = data.get("payload") if isinstance(data, dict) else None
    if not isinstance(event, str):
        return None
    if event == "update":
        try:
            status = json.loads(payload) if isinstance(payload, str) else None
        except ValueError:
            return None
        return ("update", status) if isinstance(status, dict) else None
    if event == "delete":
        return ("delete", payload) if isinstance(payload, str | int) and payload else None
    return (event, None)
