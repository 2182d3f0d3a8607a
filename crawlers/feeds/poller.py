"""The feed poller: fetch each feed when it is due, publish its new entries to ``mentions.raw``.

For each due feed: check robots.txt, send a conditional GET, parse, turn the entries not seen
before into `Mention`s, publish them, then record them as seen and save the validators. The
order matters: what is recorded as seen has been published, so a crash replays, never loses.

Scheduling: a feed that answered is polled again after its interval. After a soft failure
(404, 429, 5xx, timeout, a host whose robots.txt could not be read) the delay doubles with each
failure in a row, up to ``max_backoff``, and never undercuts ``Retry-After``, which is itself
capped at ``max_backoff``. After a hard failure (403, 410, too large, not a feed, disallowed by
robots.txt) the feed waits ``hard_failure_delay``. A ``next_poll`` later than any of these
delays allows (state written before they were capped) reads as "due now".

One feed never stops the others: anything that goes wrong while one feed is polled (a document
that meets a bug) is caught there, counted (``unexpected_errors``), kept as the feed's last
error for ``veille status``, and the feed backs off as after a soft failure (status ``error``).

Hosts do not wait on each other. Feeds on one host are fetched one after another with
``host_delay`` between them, one request in flight per host; `run` keeps up to ``concurrency``
hosts in flight and schedules the others as their feeds fall due, so a slow host holds up only
its own feeds, each for ``total_timeout`` at most. `poll_due` polls what is due the same way and
returns when every host is done (``veille poll --once``).

Stopping: `run` returns within a second or so of ``stop``: the fetches in flight are cut
(`crawlers.fetch.Fetcher.abort`), and a feed cut short is left as it was, due at the next start.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urldefrag, urlsplit

from pydantic import ValidationError

from crawlers.extract.dates import FUTURE_SLACK
from crawlers.feeds.google import unwrap_google_link
from crawlers.feeds.parse import FeedEntry, NotAFeed, ParsedFeed, parse_feed
from crawlers.feeds.state import FeedState, FeedStateStore
from crawlers.fetch import Fetcher, FetchResult, FetchStatus
from crawlers.items import article_of, identity
from crawlers.robots import RobotsCache
from crawlers.settings import FeedPollerSettings, FeedSource, HttpSettings
from ingest.bus import Bus
from ingest.clock import Clock, SystemClock
from ingest.counters import Counters, MemoryCounters
from ingest.errors import TransientError
from ingest.record import MAX_TEXT_CHARS, Author, Mention, Source, mention_id, site_of
from ingest.topics import partition_key

log = logging.getLogger(__name__)

SCOPE = "poll"
_TICK_S = 0.2
_FORGET_EVERY_S = 3600.0


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    status: str
    new: int = 0
    error: str | None = None
    warning: str | None = None


def content_key(entry: FeedEntry) -> str:
    """What names an entry that has neither a link nor a guid: a digest of its title and
    text, read as a reader reads them. Normalised first, so that nothing a reader cannot see
    changes it: entities however written (``&amp;``, ``&#38;``, CDATA, all give the same text
    once parsed), Unicode forms (NFKC: a no-break space, a composed or decomposed accent),
    invisible characters, and every run of whitespace or line break. Any change of a word or
    of punctuation changes it. Raise ValueError if the entry has no title and no text."""
    folded = [
        " ".join(
            "".join(
                ch for ch in unicodedata.normalize("NFKC", part) if unicodedata.category(ch) != "Cf"
            ).split()
        )
        for part in (entry.title or "", entry.text)
    ]
    if not any(folded):
        raise ValueError("entry has no link, no id, no title and no text")
    return hashlib.sha256("\x00".join(folded).encode()).hexdigest()[:32]


def entry_to_mention(
    entry: FeedEntry, feed: FeedSource, parsed: ParsedFeed, fetched: datetime
) -> Mention:
    """The `Mention` for one feed entry; raise ValueError if the entry cannot be one.

    Its id: the link's (a comment's link names it with its fragment), else the feed's name
    with the entry's guid, else, for an entry with neither (RSS allows items that are only a
    title or a description), the feed's configured name with `content_key`, its title and
    text. Such an entry polled again is the same mention, wherever it moves in the feed; an
    edit of its title or text makes it a new mention (the feed gives nothing else to tell it
    is the same one), and two entries of one feed with the same title and text are one. Its
    URL is the feed's site link (the feed's own URL if it gives none) with ``#item-`` and the
    start of that key: a page a reader can open, and a URL no other entry has."""
    link = unwrap_google_link(entry.link) if entry.link else None
    parent = None
    if link and link.startswith(("http://", "https://")):
        # A comment feed links each comment as its article plus a fragment (``/post/#comment-12``):
        # the fragment names it, and the blog spider gives the same comment the same id.
        comment = bool(urlsplit(link).fragment)
        mid, url = identity(link, unique=not comment), link
        parent = mention_id(url=article_of(link)) if comment else None
    elif entry.id:
        mid, url = mention_id(source=feed.name, native_id=entry.id), feed.url
    else:
        key = content_key(entry)
        mid = mention_id(source=feed.name, native_id=f"content:{key}")
        site = parsed.link if (parsed.link or "").startswith(("http://", "https://")) else None
        url = f"{urldefrag(site or feed.url).url}#item-{key[:16]}"
    published = entry.published  # None: unknown, never "now"
    if published is not None and published > fetched + FUTURE_SLACK:  # a clock in the future
        published = None
    return Mention(
        id=mid,
        source=Source(kind=feed.kind, name=feed.name),
        url=url,
        site=site_of(url),
        title=entry.title,
        text=entry.text[:MAX_TEXT_CHARS],
        author=Author(name=entry.author) if entry.author else None,
        published=published,
        fetched=fetched,
        lang=entry.lang or parsed.lang or feed.lang,
        parent=parent,
    )


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


class FeedPoller:
    def __init__(
        self,
        feeds: Sequence[FeedSource],
        *,
        bus: Bus,
        topic: str,
        state: FeedStateStore,
        fetcher: Fetcher,
        robots: RobotsCache | None,
        settings: FeedPollerSettings,
        http: HttpSettings,
        clock: Clock | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.feeds = list(feeds)
        self.bus = bus
        self.topic = topic
        self.state = state
        self.fetcher = fetcher
        self.robots = robots
        self.settings = settings
        self.http = http
        self.clock = clock or SystemClock()
        self.counters = counters or MemoryCounters()

    # -- scheduling ----------------------------------------------------------------------------

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _longest_delay(self, feed: FeedSource) -> float:
        """The longest wait `_next_poll` can set for ``feed``, jitter and all."""
        longest = max(feed.interval, self.settings.max_backoff, self.settings.hard_failure_delay)
        return longest.total_seconds() * 1.05 + 60.0

    def _schedule(self) -> dict[str, float]:
        """When each feed is due, as a POSIX time, read in one query."""
        now = self._now()
        states = {s.name: s for s in self.state.all()}
        schedule = {}
        for feed in self.feeds:
            state = states.get(feed.name)
            when = state.next_poll if state is not None and state.url == feed.url else 0.0
            schedule[feed.name] = now if when > now + self._longest_delay(feed) else when
        return schedule

    def due(self) -> list[FeedSource]:
        now = self._now()
        schedule = self._schedule()
        return [f for f in self.feeds if schedule[f.name] <= now]

    def seconds_until_due(self) -> float:
        if not self.feeds:
            return 60.0
        return max(0.0, min(self._schedule().values()) - self._now())

    def _next_poll(
        self, feed: FeedSource, status: str, failures: int, retry_after: float | None
    ) -> float:
        interval = feed.interval.total_seconds()
        max_backoff = self.settings.max_backoff.total_seconds()
        if status in ("ok", "not_modified"):
            delay = interval
        elif status in ("soft", "error"):
            delay = min(interval * 2 ** min(failures, 20), max_backoff)
        else:
            delay = self.settings.hard_failure_delay.total_seconds()
        # Jitter spreads feeds out; Retry-After is the server's floor, never undercut, but no
        # server may push a feed further than max_backoff.
        floor = min(retry_after or 0.0, max_backoff)
        return self._now() + max(delay * random.uniform(0.95, 1.05), floor)

    # -- polling -------------------------------------------------------------------------------

    @staticmethod
    def _by_host(feeds: Sequence[FeedSource]) -> dict[str, list[FeedSource]]:
        by_host: dict[str, list[FeedSource]] = defaultdict(list)
        for feed in feeds:
            by_host[urlsplit(feed.url).netloc].append(feed)
        return by_host

    def _poll_host(
        self, feeds: Sequence[FeedSource], stop: threading.Event | None
    ) -> list[PollOutcome]:
        """Poll one host's ``feeds`` one after another, ``host_delay`` apart."""
        outcomes = []
        for i, feed in enumerate(feeds):
            if stop is not None and stop.is_set():
                break
            if i and self.clock.sleep(self.http.host_delay.total_seconds(), stop):
                break
            outcomes.append(self.poll(feed, stop))
        return outcomes

    def poll_due(
        self, stop: threading.Event | None = None, *, force: bool = False
    ) -> list[PollOutcome]:
        """Poll every due feed (every feed with ``force``); return what happened to each."""
        feeds = self.feeds if force else self.due()
        if not feeds:
            return []
        by_host = self._by_host(feeds)
        workers = min(self.http.concurrency, len(by_host))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll") as pool:
            results = list(pool.map(lambda group: self._poll_host(group, stop), by_host.values()))
        self._forget()
        return [outcome for group in results for outcome in group]

    def _forget(self) -> None:
        self.state.forget_before(self._now() - self.settings.forget_after.total_seconds())

    def poll(self, feed: FeedSource, stop: threading.Event | None = None) -> PollOutcome:
        """Poll one feed now, whatever its schedule. Nothing this feed does escapes: a failure
        is its outcome. A fetch cut short because ``stop`` was set leaves the feed as it was."""
        before = self.state.get(feed.name, feed.url)
        state = replace(before, last_attempt=self._now(), polls=before.polls + 1)
        counts: Counter[str] = Counter(polls=1)
        try:
            outcome, state = self._poll(feed, state, counts, stop)
        except TransientError as exc:
            # The bus did not take the entries: nothing is recorded, the next poll redoes it.
            counts["bus_unavailable"] += 1
            log.warning("feed %s: could not publish (%s); will retry", feed.name, exc)
            outcome = PollOutcome(feed.name, "bus_unavailable", error=str(exc))
            state = replace(state, next_poll=self._now() + 5.0)
        except Exception as exc:
            # A bug met by this feed's document, or anything else about this one feed: it
            # backs off, and the other feeds (and the worker) go on.
            counts["unexpected_errors"] += 1
            error = f"unexpected error: {type(exc).__name__}: {exc}"[:500]
            outcome, state = self._failed(feed, state, "error", error, None)
            if state.failures == 1:
                log.warning("feed %s: traceback, for a bug report", feed.name, exc_info=True)
        if outcome.status == "stopped":
            return outcome
        self.state.save(state)
        self.counters.add(SCOPE, counts)
        return outcome

    def _poll(
        self,
        feed: FeedSource,
        state: FeedState,
        counts: Counter[str],
        stop: threading.Event | None,
    ) -> tuple[PollOutcome, FeedState]:
        now = self._now()
        if feed.respect_robots and self.robots:
            robots = self.robots.decide(feed.url)
            if not robots.allowed:
                if _stopped(stop):
                    return PollOutcome(feed.name, "stopped"), state
                if robots.unavailable:  # RFC 9309: nothing is fetched, but the site said nothing
                    counts["robots_unavailable"] += 1
                    return self._failed(feed, state, "soft", robots.unavailable, None)
                counts["robots_disallowed"] += 1
                return self._failed(feed, state, "hard", "disallowed by robots.txt", None)

        result = self.fetcher.get(feed.url, etag=state.etag, last_modified=state.last_modified)
        if result.status is FetchStatus.NOT_MODIFIED:
            counts["not_modified"] += 1
            self.state.touch(feed.name, now)
            state = replace(
                state,
                failures=0,
                last_status="not_modified",
                last_error=None,
                last_http=result.http_status,
                last_success=now,
                next_poll=self._next_poll(feed, "not_modified", 0, None),
            )
            return PollOutcome(feed.name, "not_modified"), state
        if not result.ok:
            if _stopped(stop):
                return PollOutcome(feed.name, "stopped"), state
            counts[f"{result.status.value}_failures"] += 1
            return self._failed(feed, state, result.status.value, result.error, result)

        try:
            parsed = parse_feed(
                result.body,
                result.content_type,
                result.final_url or feed.url,
                now=self.clock.now(),
                tz=feed.timezone,
                lang=feed.lang,
            )
        except NotAFeed as exc:
            counts["not_a_feed"] += 1
            return self._failed(feed, state, "hard", str(exc), result)
        if parsed.warning:
            counts["malformed"] += 1
            log.warning("feed %s: %s", feed.name, parsed.warning)
        counts["invalid_entries"] += parsed.skipped

        fetched = self.clock.now()
        mentions: dict[str, Mention] = {}
        for entry in parsed.entries:
            try:
                mention = entry_to_mention(entry, feed, parsed, fetched)
            except (ValueError, ValidationError) as exc:
                counts["invalid_entries"] += 1
                log.warning(
                    "feed %s: skipped an entry (%s): %s",
                    feed.name,
                    entry.link or entry.id,
                    str(exc).splitlines()[0],
                )
                continue
            mentions[mention.id] = mention
        new_ids = self.state.unseen(feed.name, mentions)
        fresh = [m for mid, m in mentions.items() if mid in new_ids]
        if fresh:
            self.bus.publish(self.topic, [(partition_key(m), m.to_json()) for m in fresh])
        self.state.mark_seen(feed.name, mentions, now)
        counts["ok"] += 1
        counts["new_entries"] += len(fresh)
        state = replace(
            state,
            etag=result.etag,
            last_modified=result.last_modified,
            failures=0,
            last_status="ok",
            last_error=parsed.warning,
            last_http=result.http_status,
            last_success=now,
            entries=state.entries + len(fresh),
            next_poll=self._next_poll(feed, "ok", 0, None),
        )
        if fresh:
            log.info("feed %s: %d new entries", feed.name, len(fresh))
        return PollOutcome(feed.name, "ok", new=len(fresh), warning=parsed.warning), state

    def _failed(
        self,
        feed: FeedSource,
        state: FeedState,
        status: str,
        error: str | None,
        result: FetchResult | None,
    ) -> tuple[PollOutcome, FeedState]:
        failures = state.failures + 1
        retry_after = result.retry_after if result else None
        level = logging.WARNING if failures <= 3 else logging.INFO
        log.log(level, "feed %s: %s failure #%d: %s", feed.name, status, failures, error)
        state = replace(
            state,
            failures=failures,
            last_status=status,
            last_error=error,
            last_http=result.http_status if result else None,
            errors=state.errors + 1,
            next_poll=self._next_poll(feed, status, failures, retry_after),
        )
        return PollOutcome(feed.name, status, error=error), state

    def run(self, stop: threading.Event) -> None:
        """Poll feeds on their schedule until ``stop`` is set, up to ``concurrency`` hosts at a
        time, one request in flight per host. An error that is not one feed's (the state file
        cannot be written) stops the poller."""
        concurrency = self.http.concurrency
        host_delay = self.http.host_delay.total_seconds()
        busy: dict[str, Future[list[PollOutcome]]] = {}
        rested: dict[str, float] = {}  # when a host polled last may be asked again (monotonic)
        forgotten = -math.inf
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="poll")
        try:
            while not stop.is_set():
                now = self.clock.monotonic()
                for host in [h for h, future in busy.items() if future.done()]:
                    busy.pop(host).result()
                    rested[host] = now + host_delay
                for host, feeds in self._by_host(self.due()).items():
                    if len(busy) >= concurrency:
                        break
                    if host not in busy and rested.get(host, -math.inf) <= now:
                        busy[host] = pool.submit(self._poll_host, feeds, stop)
                if now - forgotten > _FORGET_EVERY_S:
                    self._forget()
                    forgotten = now
                if busy:  # wake when a host is done, to give it its next feeds on time
                    wait(list(busy.values()), timeout=_TICK_S, return_when=FIRST_COMPLETED)
                elif self.clock.sleep(min(5.0, max(_TICK_S, self.seconds_until_due())), stop):
                    break
        finally:
            self.fetcher.abort()
            pool.shutdown(wait=True, cancel_futures=True)
