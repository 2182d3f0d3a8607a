"""YouTube: new videos and their comments through the Data API v3, within its daily quota; the
RSS feeds of watched channels, which cost none.

What it reads (https://developers.google.com/youtube/v3/docs):

- ``search.list`` (``part=snippet, type=video, q, order=date, publishedAfter, publishedBefore,
  maxResults=50, pageToken``): for each query, the videos published in a window of time. The
  window is pinned while its pages are read (``publishedBefore``: when it opened), so that new
  videos do not shift the pages, and it is kept with its ``nextPageToken`` in the query's
  cursor (``search <query>``) until its last page; the next window starts where it ended, 10
  minutes back (search finds a video a little after it is published; what is found twice is
  published once). The first one reaches ``backfill`` back;
- ``videos.list`` (``part=snippet,statistics``, 50 ids a request) for the videos a search
  found: the full description, the declared language and the counts (views, likes, comments);
- ``commentThreads.list`` (``videoId, part=snippet, order=time, maxResults=100, pageToken``):
  the top-level comments of the newest videos found (``comment_videos`` a poll, younger than
  ``comment_window``), newest first, down to the newest comment already read; a video whose
  comments are off (403 ``commentsDisabled``), that is private (403, domain
  ``youtube.commentThread``) or gone (404 ``videoNotFound``) is no longer watched. The watched
  videos and where each one's reading stands are a cursor (``videos``);
- ``https://www.youtube.com/feeds/videos.xml?channel_id=...`` (Atom, the channel's 15 newest
  videos, views and likes in ``media:community``) for each watched channel.

The quota (https://developers.google.com/youtube/v3/determine_quota_cost): a project has
10,000 units a day, renewed at midnight Pacific Time; a search page costs 100 units, every
other call 1, failed calls included. The connector counts what it spends in its cursors
(`crawlers.networks.quota`) against ``daily_budget`` and never sends a call that would go past
it: the poll ends with `QuotaSpent` (status ``quota_spent``) and the runner waits for the
renewal. Searches come first; comments get what the day's remaining searches (one page per
query and poll until midnight) will not need. A 403 ``quotaExceeded`` (the key is shared, or
the project's quota is lower) is the same `QuotaSpent`, until midnight Pacific Time.

The API key travels as ``key=`` in the query, as the API requires; the client is given it as
its token, so that every message quoting an answer masks it, and the application's logs mask
``key=`` values in any URL (`ingest.secrets`). A key Google does not accept is 400
``keyInvalid`` (or 403): `AuthFailed`.

Mapping: a video is a mention identified by ``youtube`` + its id, with its title, description,
channel (name and URL) as author, views, likes and comment count, and the declared language;
a comment is one identified by ``youtube`` + the comment's id, whose parent and thread are its
video, with its author's channel, likes and reply count.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote

from lxml import etree
from pydantic import ValidationError

from crawlers.extract.text import html_to_text
from crawlers.networks.base import (
    AuthFailed,
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
    QuotaSpent,
    RateLimited,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import JsonClient
from crawlers.networks.quota import QUOTA, Quota, current_quota, pacific_day
from crawlers.networks.settings import YoutubeSettings
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

PLATFORM = "youtube"
WATCHED = "videos"
"""The cursor that holds the videos whose comments are read (`_Video` rows, as JSON)."""
SEARCH_COST = 100
CALL_COST = 1
_OVERLAP = timedelta(minutes=10)
_MAX_WATCHED = 500
_RATE_WAIT_S = 60.0
_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "yt": "http://www.youtube.com/xml/schemas/2015",
    "media": "http://search.yahoo.com/mrss/",
}
_STALE = "invalidPageToken"
"""A page token kept across a long stop may no longer be valid: the reading starts again."""
_VIDEOS_OWN = {"youtube.commentThread", "commentsDisabled", "videoNotFound"}
"""What a 403 or 404 of ``commentThreads.list`` says when it is the video's (comments off, the
video gone or private), not the key's."""


def video_mention_id(native: str) -> str:
    return mention_id(source=PLATFORM, native_id=native)


def watch_url(native: str) -> str:
    return f"https://www.youtube.com/watch?v={quote(native, safe='')}"


def _time(value: Any) -> datetime:
    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"a time without a zone: {value}")
    return when


def _rfc3339(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _count(value: Any) -> int | None:
    """A count of ``statistics`` (the API sends them as strings); None when hidden."""
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def video_to_mention(video: dict[str, Any], source: str, fetched: datetime) -> Mention:
    """The mention for a ``videos.list`` item (or a feed entry read into one); ValueError (or
    pydantic's ValidationError) if it cannot be one."""
    native = video["id"]
    if not isinstance(native, str) or not native:
        raise ValueError("a video without an id")
    snippet = video["snippet"]
    stats = video.get("statistics") or {}
    channel = snippet.get("channelId")
    published = _time(snippet["publishedAt"])
    url = watch_url(native)
    return Mention(
        id=video_mention_id(native),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site=site_of(url),
        title=snippet.get("title") or None,
        text=str(snippet.get("description") or "")[:MAX_TEXT_CHARS],
        author=Author(
            name=snippet.get("channelTitle") or None,
            handle=channel,
            url=f"https://www.youtube.com/channel/{channel}" if channel else None,
        ),
        published=min(published, fetched),
        fetched=fetched,
        engagement=Engagement(
            views=_count(stats.get("viewCount")),
            likes=_count(stats.get("likeCount")),
            replies=_count(stats.get("commentCount")),
        ),
        lang=snippet.get("defaultLanguage") or snippet.get("defaultAudioLanguage"),
    )


def comment_to_mention(thread: dict[str, Any], source: str, fetched: datetime) -> Mention:
    """The mention for a ``commentThread``'s top-level comment."""
    comment = thread["snippet"]["topLevelComment"]
    snippet = comment["snippet"]
    video = str(snippet.get("videoId") or thread["snippet"]["videoId"])
    native = str(comment["id"])
    text = snippet.get("textOriginal") or html_to_text(snippet.get("textDisplay"))
    url = f"{watch_url(video)}&lc={quote(native, safe='')}"
    name = snippet.get("authorDisplayName") or None
    return Mention(
        id=mention_id(source=PLATFORM, native_id=native),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site=site_of(url),
        text=str(text)[:MAX_TEXT_CHARS],
        author=Author(
            name=name,
            handle=name.removeprefix("@") if name and name.startswith("@") else None,
            url=snippet.get("authorChannelUrl"),
        ),
        published=min(_time(snippet["publishedAt"]), fetched),
        fetched=fetched,
        parent=video_mention_id(video),
        thread=Thread(id=video_mention_id(video), url=watch_url(video)),
        engagement=Engagement(
            likes=_count(snippet.get("likeCount")),
            replies=_count(thread["snippet"].get("totalReplyCount")),
        ),
    )


def feed_videos(body: bytes) -> list[dict[str, Any]]:
    """A channel's Atom feed, each entry as a ``videos.list`` item would say it."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise PlatformError(f"the channel feed is not XML: {exc}") from None
    if root is None or root.tag != f"{{{_NS['atom']}}}feed":
        raise PlatformError("the channel feed is not an Atom feed")
    videos = []
    for entry in root.iterfind("atom:entry", _NS):
        stats = entry.find("media:group/media:community/media:statistics", _NS)
        rating = entry.find("media:group/media:community/media:starRating", _NS)
        videos.append(
            {
                "id": entry.findtext("yt:videoId", None, _NS),
                "snippet": {
                    "title": entry.findtext("atom:title", None, _NS),
                    "description": entry.findtext("media:group/media:description", "", _NS),
                    "channelId": entry.findtext("yt:channelId", None, _NS),
                    "channelTitle": entry.findtext("atom:author/atom:name", None, _NS),
                    "publishedAt": entry.findtext("atom:published", None, _NS),
                },
                "statistics": {
                    "viewCount": stats.get("views") if stats is not None else None,
                    "likeCount": rating.get("count") if rating is not None else None,
                },
            }
        )
    return videos


class _Window(NamedTuple):
    """The window of time a query's search reads, and the page of it to read next."""

    after: str
    before: str
    page: str | None
    """The ``pageToken`` of the next page; ``""``: its first page (again); None: read to its
    end."""

    def dump(self) -> str:
        return json.dumps(list(self), separators=(",", ":"))


def _load_window(value: str | None) -> _Window | None:
    if not value:
        return None
    try:
        after, before, page = json.loads(value)
        _time(after), _time(before)
    except (ValueError, TypeError):
        return None
    return _Window(str(after), str(before), page if isinstance(page, str) else None)


class _Video(NamedTuple):
    """A video whose comments are read, and where that reading stands."""

    id: str
    published: float
    since: float | None
    """The newest comment of the last complete reading: the next stops at it."""
    page: str | None
    """The next page of a reading not complete yet."""
    top: float | None
    """The newest comment of the reading in progress."""
    off: bool = False
    """Its comments are off, or it is gone: still known (a search finding it again does not
    count it as new), no longer read."""


def _load_watched(value: str | None) -> dict[str, _Video]:
    try:
        rows = json.loads(value) if value else []
        videos = [_Video(str(v), float(p), s, g, t, bool(o)) for v, p, s, g, t, o in rows]
    except (ValueError, TypeError):
        return {}
    return {v.id: v for v in videos}


class YoutubeConnector(_Connector):
    def __init__(
        self, settings: YoutubeSettings, http: HttpSettings, clock: Clock | None = None
    ) -> None:
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.clock = clock or SystemClock()
        self._key = settings.key.get_secret_value() if settings.key else None
        self._client = JsonClient(http, self._key)
        self._quota = Quota(0, settings.daily_budget, "units", "", 0.0)
        self._requests = 0
        self._skipped = 0

    @property
    def platform(self) -> str:
        return PLATFORM

    def close(self) -> None:
        self._client.close()

    def test(self) -> list[str]:
        """The key is accepted (one ``videos.list`` call, 1 unit); each channel's feed answers."""
        checked = []
        if self._key is not None:
            # Not counted: `veille sources test` keeps no cursor (the README says so).
            self._quota = Quota(0, CALL_COST, "units", "", pacific_day(self.clock.now())[1])
            self._api("videos", {"part": "id", "chart": "mostPopular", "maxResults": 1}, 1)
            checked.append("the API key is accepted (videos.list, 1 unit of the daily quota)")
        for channel in self.settings.channels:
            videos = feed_videos(self._client.get_bytes(self._feed_url(channel)).body)
            checked.append(f"channel {channel}: its feed answers (videos listed: {len(videos)})")
        return checked

    def _feed_url(self, channel: str) -> str:
        return f"{self.settings.feeds}?channel_id={quote(channel, safe='')}"

    # -- polling -------------------------------------------------------------------------------

    def poll(self, cursors: Cursors) -> Batch:
        now = self.clock.now()
        settings = self.settings
        new = dict(cursors)
        self._quota = current_quota(
            cursors, budget=settings.daily_budget, unit="units", period=pacific_day(now)
        )
        self._requests, self._skipped = 0, 0
        watched = _load_watched(cursors.get(WATCHED))
        mentions: dict[str, Mention] = {}
        more = False
        api_error: ConnectorError | None = None
        try:
            for query in settings.search:
                more = self._search(query, new, mentions, watched, now) or more
        except ConnectorError as exc:
            api_error = exc
        feed_error: ConnectorError | None = None
        for channel in settings.channels:
            try:
                self._feed(channel, mentions, watched, now)
            except ConnectorError as exc:
                log.debug("youtube %s: channel %s: %s", self.name, channel, exc)
                feed_error = feed_error or exc
        if api_error is None:
            try:
                self._comments(watched, mentions, now)
            except ConnectorError as exc:
                api_error = exc
        horizon = now.timestamp() - settings.comment_window.total_seconds()
        kept = sorted(
            (v for v in watched.values() if v.published >= horizon), key=lambda v: -v.published
        )
        new[WATCHED] = json.dumps([list(v) for v in kept[:_MAX_WATCHED]], separators=(",", ":"))
        new[QUOTA] = self._quota.to_cursor()
        return Batch(
            mentions=list(mentions.values()),
            cursors=new,
            requests=self._requests,
            more=more,
            error=api_error or feed_error,
            skipped=self._skipped,
        )

    def _need(self, cost: int) -> None:
        """`QuotaSpent` unless ``cost`` units are left of the day's budget."""
        quota = self._quota
        if quota.left < cost:
            raise QuotaSpent(
                f"daily budget spent ({quota.used}/{quota.budget} units); renewed at midnight"
                " Pacific Time",
                reset=quota.reset,
            )

    def _api(self, method: str, params: dict[str, str | int], cost: int) -> dict[str, Any]:
        """Call ``method`` if the budget has ``cost`` units left; the units are spent whatever
        the answer, as Google counts them."""
        quota = self._quota
        self._need(cost)
        quota.spend(cost)
        self._requests += 1
        try:
            reply = self._client.get(
                f"{self.settings.api}/{method}", {**params, "key": self._key or ""}
            )
        except ConnectorError as exc:
            reasons = set(exc.reasons)
            if reasons & {"quotaExceeded", "dailyLimitExceeded"}:
                quota.used = max(quota.used, quota.budget)  # nothing more today, says Google
                raise QuotaSpent(
                    f"YouTube says the quota is spent ({exc}); renewed at midnight Pacific Time",
                    reset=quota.reset,
                    http_status=exc.http_status,
                    reasons=exc.reasons,
                ) from None
            if reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
                reset = self.clock.now().timestamp() + _RATE_WAIT_S
                raise RateLimited(str(exc), reset=reset, http_status=exc.http_status) from None
            if exc.http_status == 400 and reasons & {"keyInvalid", "API_KEY_INVALID"}:
                raise AuthFailed(str(exc), http_status=400, reasons=exc.reasons) from None
            raise
        if not isinstance(reply.data, dict) or not isinstance(reply.data.get("items"), list):
            raise PlatformError(f"{method}: expected an object with items")
        return reply.data

    def _page(
        self, method: str, params: dict[str, str | int], cost: int, page: str | None
    ) -> dict[str, Any] | None:
        """`_api` for the page ``page`` (a token) of a list; None when that token, kept from
        an earlier poll, is no longer valid (400 ``invalidPageToken``)."""
        try:
            return self._api(method, {**params, "pageToken": page} if page else params, cost)
        except PlatformError as exc:
            if not page or _STALE not in exc.reasons:
                raise
            log.warning("youtube %s: %s: %s; reading from the first page", self.name, method, exc)
            return None

    def _search(
        self,
        query: str,
        cursors: dict[str, str],
        into: dict[str, Mention],
        watched: dict[str, _Video],
        now: datetime,
    ) -> bool:
        """Read ``query``'s window, ``max_pages`` at most; whether pages are left."""
        key = f"search {query}"
        window = _load_window(cursors.get(key))
        if window is None:
            window = _Window(_rfc3339(now - self.settings.backfill), _rfc3339(now), "")
        elif window.page is None:  # the last window was read to its end: open the next one
            window = _Window(_rfc3339(_time(window.before) - _OVERLAP), _rfc3339(now), "")
        pages = 0
        while pages < self.settings.max_pages:
            self._need(SEARCH_COST + CALL_COST)  # the page, and its videos' counts
            params: dict[str, str | int] = {
                "part": "snippet",
                "type": "video",
                "q": query,
                "order": "date",
                "maxResults": 50,
                "publishedAfter": window.after,
                "publishedBefore": window.before,
            }
            data = self._page("search", params, SEARCH_COST, window.page)
            if data is None:  # the window again: what is read twice is published once
                window = window._replace(page="")
                cursors[key] = window.dump()
                continue
            pages += 1
            found = []
            for item in data["items"]:
                ids = item.get("id") if isinstance(item, dict) else None
                native = ids.get("videoId") if isinstance(ids, dict) else None
                if isinstance(native, str) and native not in watched:
                    found.append(native)
                elif not isinstance(native, str):
                    self._skipped += 1
            if found:
                self._videos(found, into, watched, now)
            token = data.get("nextPageToken")
            window = window._replace(page=str(token) if token else None)
            cursors[key] = window.dump()
            if not token:
                return False
        return True

    def _videos(
        self, ids: list[str], into: dict[str, Mention], watched: dict[str, _Video], now: datetime
    ) -> None:
        """Map the videos ``ids`` (50 at most) with their counts, and watch them."""
        params: dict[str, str | int] = {
            "part": "snippet,statistics",
            "id": ",".join(ids),
            "maxResults": 50,
        }
        for video in self._api("videos", params, CALL_COST)["items"]:
            self._keep(video, into, watched, now)

    def _keep(
        self, video: Any, into: dict[str, Mention], watched: dict[str, _Video], now: datetime
    ) -> None:
        try:
            mention = video_to_mention(video, self.name, now)
        except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
            self._skipped += 1
            log.info("youtube %s: skipped a video (%s)", self.name, str(exc).splitlines()[0])
            return
        into[mention.id] = mention
        native = str(video["id"])
        if native not in watched:
            watched[native] = _Video(native, mention.when.timestamp(), None, None, None)

    def _feed(
        self, channel: str, into: dict[str, Mention], watched: dict[str, _Video], now: datetime
    ) -> None:
        body = self._client.get_bytes(self._feed_url(channel)).body
        for video in feed_videos(body):
            if video["id"] not in watched:
                self._keep(video, into, watched, now)

    def _comments(
        self, watched: dict[str, _Video], into: dict[str, Mention], now: datetime
    ) -> None:
        """Read the new comments of the newest videos, with the units the day's searches will
        not need."""
        settings = self.settings
        if self._key is None or settings.comment_videos == 0:
            return
        quota = self._quota
        polls_left = math.ceil((quota.reset - now.timestamp()) / settings.interval.total_seconds())
        reserve = polls_left * len(settings.search) * (SEARCH_COST + CALL_COST)
        newest = sorted((v for v in watched.values() if not v.off), key=lambda v: -v.published)
        for video in newest[: settings.comment_videos]:
            for _ in range(settings.comment_pages):
                if quota.used + CALL_COST > quota.budget - reserve and quota.left >= CALL_COST:
                    return  # what is left is for the day's searches
                try:
                    read = self._comment_page(watched[video.id], into, now)
                except ConnectorError as exc:
                    if exc.http_status in (403, 404) and _VIDEOS_OWN & set(exc.reasons):
                        watched[video.id] = video._replace(off=True)
                        break
                    raise
                watched[video.id] = read
                if read.page is None:
                    break

    def _comment_page(self, video: _Video, into: dict[str, Mention], now: datetime) -> _Video:
        """Read the next page of ``video``'s comments; where its reading stands after it."""
        params: dict[str, str | int] = {
            "part": "snippet",
            "videoId": video.id,
            "order": "time",
            "maxResults": 100,
            "textFormat": "plainText",
        }
        data = self._page("commentThreads", params, CALL_COST, video.page)
        if data is None:
            return video._replace(page=None, top=None)  # a new reading, from the newest
        top, reached = video.top, False
        for published, mention in self._threads(data["items"], now):
            if video.since is not None and published < video.since:
                reached = True
                break
            into[mention.id] = mention
            top = max(top or published, published)
        token = data.get("nextPageToken")
        if reached or not token:
            since = max(video.since or 0.0, top or 0.0) or None
            return video._replace(since=since, page=None, top=None)
        return video._replace(page=str(token), top=top)

    def _threads(self, items: list[Any], now: datetime) -> Iterator[tuple[float, Mention]]:
        for thread in items:
            try:
                mention = comment_to_mention(thread, self.name, now)
                published = _time(thread["snippet"]["topLevelComment"]["snippet"]["publishedAt"])
            except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
                self._skipped += 1
                log.info("youtube %s: skipped a comment (%s)", self.name, str(exc).splitlines()[0])
                continue
            yield published.timestamp(), mention
