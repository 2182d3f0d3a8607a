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
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import quote, urlsplit

from pydantic import ValidationError

from crawlers.extract.text import html_to_text
from crawlers.networks.base import (
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
    RateLimit,
    RateLimited,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import JsonClient, JsonReply
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
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.clock = clock or SystemClock()
        self._requests = 0
        self._last_limit: RateLimit | None = None
        self._limits: dict[str, RateLimit] = {}
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

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

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
        self._requests, self._last_limit = 0, None
        mentions: dict[str, Mention] = {}
        read: list[_Watched] = []
        more = False
        error: ConnectorError | None = None
        failed: set[str] = set()  # instances that failed: their other timelines wait too
        for timeline in self.timelines():
            if timeline.instance.url in failed:
                continue
            try:
                for statuses in self._pages(timeline, new.get(timeline.key)):
                    ids = self._read(statuses, timeline, mentions, read)
                    newest = _newest(ids, new.get(timeline.key))
                    if newest is not None:
                        new[timeline.key] = newest
            except _MorePages:
                more = True
            except ConnectorError as exc:
                failed.add(timeline.instance.url)
                error = error or exc
                log.debug("mastodon %s: %s: %s", self.name, timeline.key, exc)
        watched = _load_watched(new.get(WATCHED)) + read
        deletions, watched, recheck_error = self._recheck(watched, failed)
        new[WATCHED] = json.dumps([list(w) for w in watched], separators=(",", ":"))
        return Batch(
            mentions=list(mentions.values()),
            deletions=deletions,
            cursors=new,
            rate_limit=self._last_limit,
            requests=self._requests,
            more=more,
            error=error or recheck_error,
        )

    def _recheck(
        self, watched: list[_Watched], failed: set[str]
    ) -> tuple[list[str], list[_Watched], ConnectorError | None]:
        """Look up the statuses watched the longest ago (``recheck_per_poll`` of them): the ids
        of those the instance no longer has (404, 410), what is still watched, and what
        stopped the lookups."""
        now = self.clock.now().timestamp()
        horizon = now - self.settings.recheck_window.total_seconds()
        by_key = {(w.instance, w.native): w for w in watched if w.published >= horizon}
        watched = sorted(by_key.values(), key=lambda w: w.published)[-_MAX_WATCHED:]
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
                mention.published.timestamp(),
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
        limit = self._limits.get(instance)
        now = self.clock.now().timestamp()
        if limit is not None and limit.remaining == 0 and (limit.reset or 0) > now:
            raise RateLimited("rate limit spent (X-RateLimit-Remaining: 0)", reset=limit.reset)
        self._requests += 1
        reply = self._clients[instance].get(url, query, auth=auth)
        if reply.rate_limit is not None:
            self._limits[instance] = self._last_limit = reply.rate_limit
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
