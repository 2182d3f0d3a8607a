"""A local YouTube for the tests, written from the Data API v3 documentation and enforcing it.

What it serves, and the documented behaviour it holds the client to
(https://developers.google.com/youtube/v3/docs):

- every ``/youtube/v3/`` call needs ``key=``: none is ``403 forbidden`` ("The request is missing
  a valid API key."), an unknown one ``400 badRequest`` with ``API_KEY_INVALID`` in its
  details ("API key not valid. Please pass a valid API key."); errors have Google's shape
  ``{"error": {"code", "message", "errors": [{"message", "domain", "reason"}]}}``
  (https://developers.google.com/youtube/v3/docs/errors);
- the quota (https://developers.google.com/youtube/v3/determine_quota_cost): each call costs
  units (``search.list`` 100, the others 1), counted per Pacific day; a call past the day's
  ``quota`` is ``403 quotaExceeded`` (domain ``youtube.quota``) until midnight Pacific Time;
- ``GET /youtube/v3/search`` (https://developers.google.com/youtube/v3/docs/search/list):
  ``part=snippet`` required; ``type=video``, ``order=date`` (newest first), ``q`` (here: words
  of the title or description), ``publishedAfter`` / ``publishedBefore`` (RFC 3339, inclusive),
  ``maxResults`` 0 to 50 (default 5), ``pageToken`` (``nextPageToken`` of the previous page, for
  the same request only, else ``400 invalidPageToken``); items ``{"kind":
  "youtube#searchResult", "id": {"kind": "youtube#video", "videoId"}, "snippet": {...}}``;
- ``GET /youtube/v3/videos`` (https://developers.google.com/youtube/v3/docs/videos/list):
  ``part`` (``id``, ``snippet``, ``statistics``), ``id`` (50 at most, comma separated) or
  ``chart=mostPopular``; ``statistics`` counts are strings; a video that is gone is left out;
- ``GET /youtube/v3/commentThreads``
  (https://developers.google.com/youtube/v3/docs/commentThreads/list): ``part=snippet``,
  ``videoId``, ``order=time`` (newest first, the default), ``maxResults`` 1 to 100 (default
  20), ``pageToken``; ``404 videoNotFound``, ``403 commentsDisabled``, ``403 forbidden`` (a
  private video), all of domain ``youtube.commentThread``;
- ``GET /feeds/videos.xml?channel_id=...``: the channel's Atom feed, its 15 newest videos, with
  ``yt:videoId``, ``yt:channelId`` and ``media:group`` (``media:description``,
  ``media:community``: ``media:starRating count``, ``media:statistics views``); 404 for a
  channel it does not know. No key, no quota.

Faults for the tests: `fault` answers every API call with a given status and body, and
``echo_key`` makes the key errors quote the key they were sent.
"""

from __future__ import annotations

import base64
import html
import json
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from crawlers.networks.quota import pacific_day
from veille.demo.loopback import LoopbackServer, Reply, Request, json_reply

COSTS = {"search": 100, "videos": 1, "commentThreads": 1}
CHANNEL = "UC" + "acmeChannel0123456789x"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def google_error(status: int, message: str, reason: str, domain: str = "global") -> Reply:
    body: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    if reason == "badRequest" and "API key" in message:
        body["status"] = "INVALID_ARGUMENT"
        body["details"] = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
        ]
    return json_reply(status, {"error": body}, [])


class FakeYoutube(LoopbackServer):
    thread_name = "fake-youtube"

    def __init__(
        self, *, now: Callable[[], datetime], keys: frozenset[str], quota: int = 10_000
    ) -> None:
        super().__init__()
        self.now = now
        self.keys = keys
        self.quota = quota
        self.videos: list[dict[str, Any]] = []
        self.comments: dict[str, list[dict[str, Any]]] = {}
        self.disabled: set[str] = set()
        self.private: set[str] = set()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.spent: Counter[str] = Counter()
        """Units spent, by Pacific day."""
        self.fault: tuple[int, bytes] | None = None
        self.echo_key = False
        self._serial = 0
        self._lock = threading.Lock()

    # -- what the test publishes ---------------------------------------------------------------

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def upload(
        self,
        title: str,
        *,
        description: str = "",
        channel: str = CHANNEL,
        channel_title: str = "Acme Fans",
        counts: tuple[int, int, int] = (0, 0, 0),
        lang: str | None = "fr",
        comments: bool = True,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Publish a video; ``counts``: views, likes, comments."""
        with self._lock:
            native = f"v{self._next():010d}"
            video = {
                "kind": "youtube#video",
                "id": native,
                "snippet": {
                    "publishedAt": _stamp(at or self.now()),
                    "channelId": channel,
                    "title": title,
                    "description": description,
                    "channelTitle": channel_title,
                    "defaultAudioLanguage": lang,
                    "liveBroadcastContent": "none",
                },
                "statistics": {
                    "viewCount": str(counts[0]),
                    "likeCount": str(counts[1]),
                    "favoriteCount": "0",
                    "commentCount": str(counts[2]),
                },
            }
            self.videos.append(video)
            self.comments[native] = []
            if not comments:
                self.disabled.add(native)
            return video

    def comment(
        self, video: str, text: str, *, author: str = "@bob", likes: int = 0, replies: int = 0
    ) -> dict[str, Any]:
        with self._lock:
            native = f"Ugz{self._next():020d}"
            stamp = _stamp(self.now())
            thread = {
                "kind": "youtube#commentThread",
                "id": native,
                "snippet": {
                    "channelId": CHANNEL,
                    "videoId": video,
                    "topLevelComment": {
                        "kind": "youtube#comment",
                        "id": native,
                        "snippet": {
                            "videoId": video,
                            "textDisplay": html.escape(text),
                            "textOriginal": text,
                            "authorDisplayName": author,
                            "authorChannelUrl": f"http://www.youtube.com/{author}",
                            "likeCount": likes,
                            "publishedAt": stamp,
                            "updatedAt": stamp,
                        },
                    },
                    "canReply": True,
                    "totalReplyCount": replies,
                    "isPublic": True,
                },
            }
            self.comments[video].append(thread)
            return thread

    def delete(self, video: str) -> None:
        with self._lock:
            self.videos = [v for v in self.videos if v["id"] != video]
            self.comments.pop(video, None)

    def called(self, method: str) -> list[dict[str, str]]:
        return [q for p, q in self.requests if p == f"/youtube/v3/{method}"]

    def spent_today(self) -> int:
        return self.spent[pacific_day(self.now())[0]]

    # -- the API -------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        parts = urlsplit(request.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests.append((parts.path, query))
        if parts.path == "/feeds/videos.xml":
            return self._feed(query.get("channel_id", ""))
        if not parts.path.startswith("/youtube/v3/"):
            return Reply(404, [("Content-Type", "text/html")], b"<h1>Not Found</h1>")
        method = parts.path.removeprefix("/youtube/v3/")
        key = query.get("key")
        if not key:
            return google_error(403, "The request is missing a valid API key.", "forbidden")
        if key not in self.keys:
            message = "API key not valid. Please pass a valid API key."
            if self.echo_key:
                message += f" (got key={key})"
            return google_error(400, message, "badRequest")
        day = pacific_day(self.now())[0]
        cost = COSTS.get(method, 1)
        with self._lock:
            if self.spent[day] + cost > self.quota:
                return google_error(
                    403,
                    "The request cannot be completed because you have exceeded your "
                    '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                    "quotaExceeded",
                    "youtube.quota",
                )
            self.spent[day] += cost
        if self.fault is not None:
            status, body = self.fault
            return Reply(status, [("Content-Type", "application/json")], body)
        if method == "search":
            return self._search(query)
        if method == "videos":
            return self._videos(query)
        if method == "commentThreads":
            return self._threads(query)
        return google_error(404, "Not Found", "notFound")

    def _search(self, query: dict[str, str]) -> Reply:
        if query.get("part") != "snippet":
            return google_error(400, "part must be snippet", "invalidPart")
        if query.get("type") != "video" or query.get("order") != "date":
            return google_error(400, "this fake answers type=video, order=date", "badRequest")
        try:
            after = _time(query["publishedAfter"]) if "publishedAfter" in query else None
            before = _time(query["publishedBefore"]) if "publishedBefore" in query else None
        except ValueError:
            return google_error(400, "publishedAfter/Before: RFC 3339 times", "badRequest")
        words = query.get("q", "").lower().split()
        with self._lock:
            found = [
                v
                for v in self.videos
                if all(
                    w in f"{v['snippet']['title']} {v['snippet']['description']}".lower()
                    for w in words
                )
                and (after is None or _time(v["snippet"]["publishedAt"]) >= after)
                and (before is None or _time(v["snippet"]["publishedAt"]) <= before)
            ]
        found.sort(key=lambda v: (v["snippet"]["publishedAt"], v["id"]), reverse=True)
        items = [
            {
                "kind": "youtube#searchResult",
                "id": {"kind": "youtube#video", "videoId": v["id"]},
                "snippet": {
                    k: v["snippet"][k]
                    for k in ("publishedAt", "channelId", "title", "description", "channelTitle")
                }
                | {"liveBroadcastContent": "none"},
            }
            for v in found
        ]
        return self._page(query, items, default=5, most=50, least=0)

    def _videos(self, query: dict[str, str]) -> Reply:
        parts = set(query.get("part", "").split(","))
        if not parts or not parts <= {"id", "snippet", "statistics"}:
            return google_error(400, "part: id, snippet, statistics", "invalidPart")
        with self._lock:
            if query.get("chart") == "mostPopular":
                chosen = self.videos[-int(query.get("maxResults", 5)) :]
            elif "id" in query:
                ids = query["id"].split(",")
                if len(ids) > 50:
                    return google_error(400, "at most 50 ids", "badRequest")
                chosen = [v for v in self.videos if v["id"] in ids]
            else:
                return google_error(400, "No filter selected.", "missingRequiredParameter")
        items = [{k: v[k] for k in ("kind", "id", *(parts - {"id"}))} for v in chosen]
        return json_reply(200, {"kind": "youtube#videoListResponse", "items": items}, [])

    def _threads(self, query: dict[str, str]) -> Reply:
        video = query.get("videoId", "")
        if query.get("part") != "snippet" or query.get("order", "time") != "time":
            return google_error(400, "this fake answers part=snippet, order=time", "badRequest")
        with self._lock:
            if video not in self.comments:
                return google_error(
                    404,
                    "The video identified by the <code>videoId</code> parameter could not be"
                    " found.",
                    "videoNotFound",
                    "youtube.commentThread",
                )
            if video in self.private:
                return google_error(
                    403,
                    "The comment thread could not be retrieved due to insufficient permissions.",
                    "forbidden",
                    "youtube.commentThread",
                )
            if video in self.disabled:
                return google_error(
                    403,
                    "The video identified by the <code>videoId</code> parameter has disabled"
                    " comments.",
                    "commentsDisabled",
                    "youtube.commentThread",
                )
            items = list(reversed(self.comments[video]))
        return self._page(query, items, default=20, most=100, least=1)

    def _page(
        self,
        query: dict[str, str],
        items: list[dict[str, Any]],
        *,
        default: int,
        most: int,
        least: int,
    ) -> Reply:
        """``items`` paged by ``maxResults`` and ``pageToken`` (an offset, bound to the rest of
        the request so that it cannot be replayed on another)."""
        try:
            size = int(query.get("maxResults", default))
        except ValueError:
            size = -1
        if not least <= size <= most:
            return google_error(400, f"maxResults: {least} to {most}", "invalidValue")
        request = json.dumps(
            {k: v for k, v in sorted(query.items()) if k not in ("pageToken", "key")}
        )
        offset = 0
        if "pageToken" in query:
            try:
                bound, offset = json.loads(base64.urlsafe_b64decode(query["pageToken"]))
            except ValueError:
                bound = None
            if bound != request:
                return google_error(400, "The page token is not valid.", "invalidPageToken")
        page = items[offset : offset + size]
        body: dict[str, Any] = {
            "items": page,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
        }
        if offset + size < len(items):
            token = json.dumps([request, offset + size]).encode()
            body["nextPageToken"] = base64.urlsafe_b64encode(token).decode()
        return json_reply(200, body, [])

    def _feed(self, channel: str) -> Reply:
        with self._lock:
            mine = [v for v in self.videos if v["snippet"]["channelId"] == channel]
        if not mine:
            return Reply(404, [("Content-Type", "text/html")], b"<h1>Not Found</h1>")
        entries = []
        for v in sorted(mine, key=lambda v: v["snippet"]["publishedAt"], reverse=True)[:15]:
            s, stats = v["snippet"], v["statistics"]
            entries.append(
                f"<entry><id>yt:video:{v['id']}</id><yt:videoId>{v['id']}</yt:videoId>"
                f"<yt:channelId>{channel}</yt:channelId><title>{html.escape(s['title'])}</title>"
                f'<link rel="alternate" href="https://www.youtube.com/watch?v={v["id"]}"/>'
                f"<author><name>{html.escape(s['channelTitle'])}</name>"
                f"<uri>https://www.youtube.com/channel/{channel}</uri></author>"
                f"<published>{s['publishedAt'].replace('Z', '+00:00')}</published>"
                f"<updated>{s['publishedAt'].replace('Z', '+00:00')}</updated>"
                f"<media:group><media:title>{html.escape(s['title'])}</media:title>"
                f"<media:description>{html.escape(s['description'])}</media:description>"
                f'<media:community><media:starRating count="{stats["likeCount"]}"'
                ' average="5.00" min="1" max="5"/>'
                f'<media:statistics views="{stats["viewCount"]}"/></media:community>'
                "</media:group></entry>"
            )
        feed = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"'
            ' xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">'
            f"<id>yt:channel:{channel}</id><yt:channelId>{channel}</yt:channelId>"
            f"<title>{html.escape(mine[0]['snippet']['channelTitle'])}</title>"
            + "".join(entries)
            + "</feed>"
        )
        return Reply(200, [("Content-Type", "text/xml; charset=UTF-8")], feed.encode())
