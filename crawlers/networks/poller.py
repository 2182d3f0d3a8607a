"""The ``networks`` worker: poll each connector on its interval, publish what it found to
``mentions.raw`` and the deletions it was told of to ``mentions.deleted`` (tombstones,
`ingest.deletion.Deletion`, which the ``deletions`` stage applies to the store), keep its
cursors, health and rate-limit state, and back off when it fails.

For one poll: hand the connector its cursors, publish the mentions of its `Batch` that it had
not published before and the tombstones of the deletions it had not published before, record
both as done, then save its new cursors. The order matters as in the feed poller: what is
recorded or saved has been published, so a crash replays, never loses (a tombstone published
twice deletes nothing twice).

Scheduling: a connector that answered is polled again after its ``interval`` (at once when it
left pages unread). A connector that failed waits according to what failed:

- `RateLimited` (429, or ``X-RateLimit-Remaining: 0``): until the platform's reset, and at most
  ``sources.poller.max_backoff``; `QuotaSpent` (a daily or monthly budget) the same, until its
  renewal;
- `AuthFailed` (401, 403, a missing token): ``sources.poller.hard_failure_delay``;
- anything else (5xx, timeouts, malformed JSON, a bug met by one answer): the interval doubled
  with each failure in a row, up to ``max_backoff``.

One connector never stops the others: `run` gives each its own thread, and whatever goes wrong
in one poll is that poll's outcome, counted, and shown by ``veille status``. Only an error that
is not one connector's (the state file cannot be written) stops the worker. `run` returns once
``stop`` is set and the polls in flight have ended (each request is bounded by the HTTP
timeouts).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from crawlers.networks.base import (
    AuthFailed,
    Batch,
    Connector,
    ConnectorError,
    PlatformError,
    QuotaSpent,
    RateLimited,
)
from crawlers.networks.state import ConnectorState, NetworkStateStore
from crawlers.settings import FeedPollerSettings
from ingest.bus import Bus
from ingest.clock import Clock, SystemClock
from ingest.counters import Counters, MemoryCounters
from ingest.deletion import Deletion
from ingest.errors import TransientError
from ingest.topics import Topics, partition_key

log = logging.getLogger(__name__)

SCOPE = "networks"
_MORE_DELAY_S = 1.0
_BUS_RETRY_S = 5.0
_FORGET_EVERY_S = 3600.0
_REASON = defaultdict(
    lambda: "deleted on the platform",
    mastodon="404 when looked up again",
    bluesky="delete event, or its account deleted or taken down",
)
"""What a tombstone says of how each platform told of the deletion."""


@dataclass(frozen=True)
class NetworkOutcome:
    connector: str
    status: str
    new: int = 0
    deletions: int = 0
    error: str | None = None


class NetworkPoller:
    def __init__(
        self,
        connectors: Sequence[Connector],
        *,
        bus: Bus,
        topic: str,
        deletions_topic: str = Topics().deleted,
        state: NetworkStateStore,
        settings: FeedPollerSettings,
        clock: Clock | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.connectors = list(connectors)
        self.bus = bus
        self.topic = topic
        self.deletions_topic = deletions_topic
        self.state = state
        self.settings = settings
        self.clock = clock or SystemClock()
        self.counters = counters or MemoryCounters()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    # -- scheduling ----------------------------------------------------------------------------

    def _state(self, connector: Connector) -> ConnectorState:
        return self.state.get(connector.name, connector.platform)

    def seconds_until_due(self, connector: Connector) -> float:
        state = self._state(connector)
        longest = max(
            connector.interval, self.settings.max_backoff, self.settings.hard_failure_delay
        )
        wait = state.next_poll - self._now()
        # A next_poll further than any delay allows (a clock set back, a hand edit) is "now".
        return 0.0 if wait > longest.total_seconds() * 1.05 + 60.0 else max(0.0, wait)

    def due(self) -> list[Connector]:
        return [c for c in self.connectors if self.seconds_until_due(c) <= 0]

    def _next_poll(self, connector: Connector, failures: int, batch: Batch) -> float:
        """When to poll again after ``batch``, the ``failures``-th failure in a row."""
        now = self._now()
        interval = connector.interval.total_seconds()
        max_backoff = self.settings.max_backoff.total_seconds()
        error = batch.error
        if error is None:
            return now + (_MORE_DELAY_S if batch.more else interval * random.uniform(0.95, 1.05))
        if isinstance(error, RateLimited) and error.reset is not None:
            return now + min(max(error.reset - now, 1.0), max_backoff)
        if isinstance(error, AuthFailed):
            return now + self.settings.hard_failure_delay.total_seconds()
        delay = min(interval * 2.0 ** min(failures, 20), max_backoff)
        return now + delay * random.uniform(0.95, 1.05)

    # -- polling -------------------------------------------------------------------------------

    def poll_due(self, *, force: bool = False) -> list[NetworkOutcome]:
        """Poll every due connector (every one with ``force``), one after another."""
        outcomes = [self.poll(c) for c in (self.connectors if force else self.due())]
        self._forget()
        return outcomes

    def poll(self, connector: Connector) -> NetworkOutcome:
        """Poll ``connector`` now, whatever its schedule; what goes wrong is its outcome."""
        before = self._state(connector)
        counts: Counter[str] = Counter(polls=1)
        state = replace(before, last_attempt=self._now(), polls=before.polls + 1)
        try:
            batch = connector.poll(before.cursor_map())
        except ConnectorError as exc:
            batch = Batch(cursors=before.cursor_map(), error=exc)
        except Exception as exc:
            # A bug met by this platform's answer: this connector backs off, the others go on.
            counts["unexpected_errors"] += 1
            error = PlatformError(f"unexpected error: {type(exc).__name__}: {exc}"[:500])
            batch = Batch(cursors=before.cursor_map(), error=error)
            if before.failures == 0:
                log.warning("%s: traceback, for a bug report", connector.name, exc_info=True)
        try:
            fresh, deleted = self._publish(connector, batch)
        except TransientError as exc:
            counts["bus_unavailable"] += 1
            log.warning("%s: could not publish (%s); will retry", connector.name, exc)
            state = replace(state, next_poll=self._now() + _BUS_RETRY_S)
            self.state.save(state)
            self.counters.add(SCOPE, counts)
            return NetworkOutcome(connector.name, "bus_unavailable", error=str(exc))
        counts["new_mentions"] += fresh
        counts["deletions"] += deleted
        counts["requests"] += batch.requests
        counts["skipped"] += batch.skipped
        state = self._after(connector, state, batch, fresh, deleted)
        self.state.save(state)
        counts["ok" if batch.error is None else f"{batch.error.status}_failures"] += 1
        self.counters.add(SCOPE, counts)
        return NetworkOutcome(
            connector.name,
            state.last_status or "ok",
            new=fresh,
            deletions=deleted,
            error=state.last_error if batch.error else None,
        )

    def _publish(self, connector: Connector, batch: Batch) -> tuple[int, int]:
        """Publish what ``batch`` brought that was never published: how many new mentions,
        how many new deletions."""
        mentions = {m.id: m for m in batch.mentions}
        new_ids = self.state.unseen(connector.name, mentions)
        fresh = [m for mid, m in mentions.items() if mid in new_ids]
        if fresh:
            self.bus.publish(self.topic, [(partition_key(m), m.to_json()) for m in fresh])
        now = self._now()
        self.state.mark_seen(connector.name, mentions, now)
        gone = self.state.not_deleted(connector.name, batch.deletions)
        if gone:
            at = self.clock.now()
            tombstones = [
                Deletion(
                    mention_id=m,
                    platform=connector.platform,
                    at=at,
                    reason=_REASON[connector.platform],
                )
                for m in gone
            ]
            self.bus.publish(self.deletions_topic, [(d.key(), d.to_json()) for d in tombstones])
            self.state.record_deleted(connector.name, gone, now)
            log.info("%s: %d posts deleted on the platform", connector.name, len(gone))
        if fresh:
            log.info("%s: %d new mentions", connector.name, len(fresh))
        return len(fresh), len(gone)

    def _after(
        self, connector: Connector, state: ConnectorState, batch: Batch, fresh: int, deleted: int
    ) -> ConnectorState:
        """``state`` once ``batch`` is published."""
        now = self._now()
        limit = batch.rate_limit
        state = replace(
            state,
            cursors=json.dumps(batch.cursors, sort_keys=True),
            mentions=state.mentions + fresh,
            deletions=state.deletions + deleted,
            requests=state.requests + batch.requests,
            rate_limit=limit.limit if limit else state.rate_limit,
            rate_remaining=limit.remaining if limit else state.rate_remaining,
            rate_reset=limit.reset if limit else state.rate_reset,
        )
        error = batch.error
        if error is None:
            return replace(
                state,
                failures=0,
                last_status="ok",
                last_error=None,
                last_success=now,
                next_poll=self._next_poll(connector, 0, batch),
            )
        failures = state.failures + 1
        level = logging.WARNING if failures <= 3 else logging.INFO
        log.log(level, "%s: %s #%d: %s", connector.name, error.status, failures, error)
        # A spent budget is no rate limit: the connector's `quota` cursor says it.
        spent = isinstance(error, QuotaSpent)
        reset = error.reset if isinstance(error, RateLimited) and not spent else None
        if reset is not None:
            state = replace(state, rate_remaining=0, rate_reset=reset)
        return replace(
            state,
            failures=failures,
            errors=state.errors + 1,
            last_status=error.status,
            last_error=str(error)[:500],
            next_poll=self._next_poll(connector, failures, batch),
        )

    def _forget(self) -> None:
        self.state.forget_before(self._now() - self.settings.forget_after.total_seconds())

    # -- running -------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll each connector on its schedule, each in its own thread, until ``stop`` is set.
        An error that is not one connector's stops every thread and is raised here."""
        done = threading.Event()
        failures: list[BaseException] = []

        def loop(connector: Connector) -> None:
            try:
                while not done.is_set():
                    wait = self.seconds_until_due(connector)
                    if wait > 0:
                        self.clock.sleep(min(wait, 1.0), done)
                        continue
                    self.poll(connector)
            except BaseException as exc:
                failures.append(exc)
                done.set()

        threads = [
            threading.Thread(target=loop, args=(c,), name=f"networks-{c.name}", daemon=True)
            for c in self.connectors
        ]
        for thread in threads:
            thread.start()
        forgotten = self.clock.monotonic()
        try:
            while not done.is_set() and not stop.wait(0.2):
                if self.clock.monotonic() - forgotten > _FORGET_EVERY_S:
                    self._forget()
                    forgotten = self.clock.monotonic()
        finally:
            done.set()
            for thread in threads:
                thread.join()
            self.close()
        if failures:
            raise failures[0]

    def close(self) -> None:
        """Close the connectors' connections."""
        for connector in self.connectors:
            connector.close()
