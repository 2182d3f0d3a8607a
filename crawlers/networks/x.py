"""X: posts through the API v2's recent search with an app's bearer token, within a monthly
budget of posts read, since X bills each one.

What it reads (https://docs.x.com/x-api/posts/search/introduction):

- ``GET /2/tweets/search/recent`` (``query``, ``max_results`` 10 to 100, ``since_id``,
  ``next_token``; ``tweet.fields=created_at,public_metrics,lang,conversation_id,
  in_reply_to_user_id,referenced_tweets,author_id``, ``expansions=author_id``,
  ``user.fields=username,public_metrics``), newest first. The first poll of a query reads its
  newest page only (the last 7 days could be a month's budget); later ones read everything
  after the newest post read (``since_id``), following ``meta.next_token`` page after page. A
  reading that outlasts ``max_pages`` keeps its ``next_token`` in the query's cursor (``search
  <query>``) and goes on at the next poll, soon after; the newest post of the reading becomes
  the ``since_id`` once it is complete, so nothing posted meanwhile is skipped;
- ``GET /2/tweets?ids=...`` (100 at most) for deletions: each post read is looked up once,
  ``recheck_after`` (1 h) later, ``recheck_per_poll`` at most per poll, after the searches;
  an id that comes back in ``errors`` as ``Not Found Error`` was deleted and is reported (one
  that is ``Authorization Error``, a protected or suspended account, is only not watched any
  more);
- ``GET /2/tweets/counts/recent`` for ``veille sources test``: how many posts match each query,
  which reads none.

The budget (https://docs.x.com/x-api/fundamentals/post-cap): X bills every post a search or a
lookup returns. The connector counts them in its cursors (`crawlers.networks.quota`) against
``monthly_posts``, per calendar month (UTC), and asks each page for no more posts than are
left (``max_results``); when fewer than 10 are left (the least a search may ask), the poll ends
with `QuotaSpent` (status ``quota_spent``) until the next month's first day. X's own monthly
cap answers 429 ``UsageCapExceeded``: the same `QuotaSpent`. X bills a post read twice in a day
once; Veille counts it twice, so its count is at least X's.

Rate limits (https://docs.x.com/x-api/fundamentals/rate-limits): each answer's
``x-rate-limit-limit``, ``-remaining`` and ``-reset`` (epoch seconds) are kept; at ``remaining:
0`` the poll stops before a 429, and a 429 waits until the reset.

Mapping: a post is a mention identified by ``x`` + its id, at ``https://x.com/{username}/status/
{id}``; the author (``includes.users``) with handle, name, profile URL and followers; likes,
reposts, replies and impressions from ``public_metrics``; the declared language (not ``und``);
the replied-to post as parent and the conversation as thread.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from crawlers.networks.base import (
    Batch,
    ConnectorError,
    Cursors,
    PlatformError,
    QuotaSpent,
    RateLimited,
)
from crawlers.networks.base import Connector as _Connector
from crawlers.networks.http import JsonClient, JsonReply, RateGate
from crawlers.networks.quota import QUOTA, Quota, current_quota, utc_month
from crawlers.networks.settings import XSettings
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

PLATFORM = "x"
WATCHED = "watched"
"""The cursor that holds the posts to look up for deletion: ``[id, when to look]`` rows."""
MIN_RESULTS = 10
TWEET_FIELDS = (
    "created_at,public_metrics,lang,conversation_id,in_reply_to_user_id,referenced_tweets,author_id"
)
_MAX_WATCHED = 20_000
_UNDECLARED = {"und", "zxx", "qam", "qct", "qht", "qme", "qst"}
"""X's codes for a post without a language: undetermined, no text, only mentions, cashtags,
hashtags, media, or a URL."""


def post_id(native: str) -> str:
    return mention_id(source=PLATFORM, native_id=native)


def _newer(a: str, b: str | None) -> bool:
    """Whether post id ``a`` is newer than ``b``: X's ids are numbers that grow with time."""
    return b is None or (len(a), a) > (len(b), b)


def post_to_mention(
    post: dict[str, Any], users: dict[str, dict[str, Any]], source: str, fetched: datetime
) -> Mention:
    """The mention for one post, its author taken from ``users`` (``includes.users`` by id);
    ValueError (or pydantic's ValidationError) if it cannot be one."""
    native = str(post["id"])
    user = users.get(str(post.get("author_id"))) or {}
    username = user.get("username")
    url = (
        f"https://x.com/{username}/status/{native}"
        if username
        else f"https://x.com/i/web/status/{native}"
    )
    metrics = post.get("public_metrics") or {}
    parent = next(
        (r.get("id") for r in post.get("referenced_tweets") or [] if r.get("type") == "replied_to"),
        None,
    )
    conversation = post.get("conversation_id")
    lang = post.get("lang")
    published = datetime.fromisoformat(str(post["created_at"]).replace("Z", "+00:00"))
    return Mention(
        id=post_id(native),
        source=Source(kind=SourceKind.SOCIAL, name=source),
        url=url,
        site=site_of(url),
        text=str(post.get("text") or "")[:MAX_TEXT_CHARS],
        author=Author(
            name=user.get("name") or None,
            handle=username,
            url=f"https://x.com/{username}" if username else None,
            followers=(user.get("public_metrics") or {}).get("followers_count"),
        ),
        published=min(published, fetched),
        fetched=fetched,
        parent=post_id(str(parent)) if parent else None,
        thread=(
            Thread(id=post_id(str(conversation)), url=f"https://x.com/i/web/status/{conversation}")
            if conversation and str(conversation) != native
            else None
        ),
        engagement=Engagement(
            likes=metrics.get("like_count"),
            shares=metrics.get("retweet_count"),
            replies=metrics.get("reply_count"),
            views=metrics.get("impression_count"),
        ),
        lang=lang if isinstance(lang, str) and lang not in _UNDECLARED else None,
    )


class _Reading(NamedTuple):
    """Where a query's reading stands: the newest post of the last complete one (the next
    ``since_id``), the ``next_token`` of one in progress, and its newest post so far."""

    since: str | None
    page: str | None
    top: str | None


def _load_reading(value: str | None) -> _Reading:
    try:
        since, page, top = json.loads(value) if value else (None, None, None)
    except (ValueError, TypeError):
        return _Reading(None, None, None)
    return _Reading(*(str(v) if v else None for v in (since, page, top)))


class XConnector(_Connector):
    def __init__(self, settings: XSettings, http: HttpSettings, clock: Clock | None = None) -> None:
        super().__init__(settings.name, settings.interval)
        self.settings = settings
        self.clock = clock or SystemClock()
        self._client = JsonClient(http, settings.token.get_secret_value())
        self._quota = Quota(0, settings.monthly_posts, "posts", "", 0.0)
        self._requests = 0
        self._skipped = 0
        self._gate = RateGate("x-rate-limit-remaining")
        """Each endpoint's rate limit (X counts them apart), as its last answer said."""

    @property
    def platform(self) -> str:
        return PLATFORM

    def close(self) -> None:
        self._client.close()

    def test(self) -> list[str]:
        """The token is accepted and each query is valid (``counts/recent``, which reads no
        post): how many posts each query matched in the last 7 days."""
        checked = []
        for query in self.settings.search:
            reply = self._get("/2/tweets/counts/recent", {"query": query, "granularity": "day"})
            meta = reply.data.get("meta") if isinstance(reply.data, dict) else None
            total = meta.get("total_tweet_count") if isinstance(meta, dict) else None
            checked.append(f"query {query!r}: posts in the last 7 days: {total}")
        return checked

    # -- polling -------------------------------------------------------------------------------

    def poll(self, cursors: Cursors) -> Batch:
        now = self.clock.now()
        new = dict(cursors)
        self._quota = current_quota(
            cursors, budget=self.settings.monthly_posts, unit="posts", period=utc_month(now)
        )
        self._requests, self._skipped = 0, 0
        watched = _load_watched(cursors.get(WATCHED))
        mentions: dict[str, Mention] = {}
        deletions: list[str] = []
        more = False
        error: ConnectorError | None = None
        try:
            for query in self.settings.search:
                more = self._search(query, new, mentions, watched, now) or more
            deletions = self._recheck(watched, now)
        except ConnectorError as exc:
            error = exc
        new[WATCHED] = json.dumps(
            sorted(watched.items(), key=lambda w: w[1])[-_MAX_WATCHED:], separators=(",", ":")
        )
        new[QUOTA] = self._quota.to_cursor()
        last = self._gate.of("/2/tweets/search/recent")
        return Batch(
            mentions=list(mentions.values()),
            deletions=deletions,
            cursors=new,
            rate_limit=last,
            requests=self._requests,
            more=more,
            error=error,
            skipped=self._skipped,
        )

    def _get(self, path: str, params: dict[str, str | int]) -> JsonReply:
        """GET ``path``, unless its rate limit is spent until a reset still to come; a spent
        monthly cap is `QuotaSpent`."""
        self._gate.check(path, self.clock.now().timestamp())
        self._requests += 1
        try:
            reply = self._client.get(f"{self.settings.api}{path}", params, auth=True)
        except RateLimited as exc:
            if "UsageCapExceeded" in exc.reasons:
                reset = utc_month(self.clock.now())[1]
                raise QuotaSpent(str(exc), reset=reset, http_status=exc.http_status) from None
            raise
        self._gate.note(path, reply.rate_limit)
        if not isinstance(reply.data, dict):
            raise PlatformError(f"{path}: expected a JSON object")
        return reply

    def _room(self) -> int:
        """How many posts the next request may bring: `QuotaSpent` if fewer than a search's
        least are left of the month's budget."""
        quota = self._quota
        if quota.left < MIN_RESULTS:
            raise QuotaSpent(
                f"monthly budget spent ({quota.used}/{quota.budget} posts read, and a search"
                f" asks for {MIN_RESULTS} at least); renewed on the month's first day (UTC)",
                reset=quota.reset,
            )
        return quota.left

    def _search(
        self,
        query: str,
        cursors: dict[str, str],
        into: dict[str, Mention],
        watched: dict[str, float],
        now: datetime,
    ) -> bool:
        """Read ``query`` from where its reading stands; whether pages are left."""
        key = f"search {query}"
        reading = _load_reading(cursors.get(key))
        pages = 0
        while pages < self.settings.max_pages:
            params: dict[str, str | int] = {
                "query": query,
                "max_results": min(self.settings.max_results, self._room()),
                "tweet.fields": TWEET_FIELDS,
                "expansions": "author_id",
                "user.fields": "username,name,public_metrics",
            }
            if reading.since:
                params["since_id"] = reading.since
            if reading.page:
                params["next_token"] = reading.page
            try:
                data = self._get("/2/tweets/search/recent", params).data
            except PlatformError as exc:
                if exc.http_status != 400 or "since_id" not in str(exc) or not reading.since:
                    raise
                # Stopped for more than the 7 days recent search covers: what was posted
                # meanwhile is out of reach; start again from the newest page.
                log.warning("x %s: %s: %s; reading from the newest post", self.name, key, exc)
                reading = _Reading(None, None, None)
                cursors[key] = json.dumps(list(reading))
                continue
            pages += 1
            posts = data.get("data") or []
            if not isinstance(posts, list):
                raise PlatformError(f"{key}: expected a list of posts")
            self._quota.spend(len(posts))
            top = reading.top
            for native in self._read(posts, data, into, watched, now):
                if _newer(native, top):
                    top = native
            meta = data.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if token and reading.since is not None:
                reading = _Reading(reading.since, str(token), top)
                cursors[key] = json.dumps(list(reading))
                continue
            # The reading is complete (or it was the first poll's one page): next time, after
            # its newest post.
            reading = _Reading(top or reading.since, None, None)
            cursors[key] = json.dumps(list(reading))
            return False
        return True

    def _read(
        self,
        posts: list[Any],
        data: dict[str, Any],
        into: dict[str, Mention],
        watched: dict[str, float],
        now: datetime,
    ) -> list[str]:
        """Map ``posts`` into ``into`` and watch them; their ids."""
        includes = data.get("includes")
        listed = includes.get("users") if isinstance(includes, dict) else None
        users = {str(u.get("id")): u for u in listed or [] if isinstance(u, dict)}
        ids = []
        later = now.timestamp() + self.settings.recheck_after.total_seconds()
        for post in posts:
            if not isinstance(post, dict) or not str(post.get("id", "")).isdigit():
                self._skipped += 1
                log.info("x %s: skipped a post without an id", self.name)
                continue
            ids.append(post["id"])
            try:
                mention = post_to_mention(post, users, self.name, now)
            except (ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
                self._skipped += 1
                log.info("x %s: skipped post %s (%s)", self.name, post["id"], str(exc)[:200])
                continue
            into[mention.id] = mention
            if self.settings.recheck_per_poll:
                watched.setdefault(post["id"], later)
        return ids

    def _recheck(self, watched: dict[str, float], now: datetime) -> list[str]:
        """Look up the watched posts that are due (``recheck_per_poll`` at most, with what is
        left of the budget): the mention ids of those X no longer has. Each post is looked up
        once."""
        settings = self.settings
        due = sorted((at, n) for n, at in watched.items() if at <= now.timestamp())
        room = self._quota.left
        ids = [n for _, n in due[: min(settings.recheck_per_poll, room)]]
        if not ids:
            return []
        data = self._get("/2/tweets", {"ids": ",".join(ids), "tweet.fields": "id"}).data
        found = data.get("data") or []
        self._quota.spend(len(found) if isinstance(found, list) else 0)
        deleted = [
            str(e.get("resource_id") or e.get("value"))
            for e in data.get("errors") or []
            if isinstance(e, dict) and e.get("title") == "Not Found Error"
        ]
        for native in ids:
            watched.pop(native, None)
        return [post_id(n) for n in deleted if n in ids]


def _load_watched(value: str | None) -> dict[str, float]:
    try:
        rows = json.loads(value) if value else []
        return {str(n): float(at) for n, at in rows}
    except (ValueError, TypeError):
        return {}
