"""Sending the outbox: every channel on its own, retried with backoff, never blocking another.

`Dispatcher.run_once` takes the notifications that are due (`alerts.history.History.due`) and
hands each channel's queue to its own thread. Within a channel, notifications go in order and a
failure stops the queue until the retry (so a resolution never overtakes its trigger); other
channels go on. A failed notification is retried with exponential backoff (``retry_initial`` up
to ``retry_max``) until ``give_up_after``; a failure that will not pass (a 400, a refused login)
gives up at once. Errors are logged with the channel's secrets masked.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta

from alerts.channels.base import DeliveryError, Notifier
from alerts.history import Delivery, History
from alerts.settings import DeliverySettings
from ingest.clock import Clock, SystemClock

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        history: History,
        notifiers: dict[str, Notifier],
        settings: DeliverySettings,
        clock: Clock | None = None,
    ) -> None:
        self.history = history
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock or SystemClock()
        self._pool = ThreadPoolExecutor(max(1, len(notifiers)), thread_name_prefix="notify")
        self._busy: dict[str, Future[None]] = {}
        self._lock = threading.Lock()

    def run_once(self, *, wait: bool = False) -> int:
        """Start sending what is due on every idle channel; with ``wait``, until done. Returns
        how many notifications were due."""
        with self._lock:
            busy = frozenset(c for c, f in self._busy.items() if not f.done())
            due = self.history.due(self.clock.now(), skip=busy)
            queues: dict[str, list[Delivery]] = defaultdict(list)
            for delivery in due:
                queues[delivery.channel].append(delivery)
            started = []
            for channel, queue in queues.items():
                future = self._pool.submit(self._drain, channel, queue)
                self._busy[channel] = future
                started.append(future)
        if wait:
            for future in started:
                future.result()
        return len(due)

    def _drain(self, channel: str, queue: list[Delivery]) -> None:
        notifier = self.notifiers.get(channel)
        for i, delivery in enumerate(queue):
            if notifier is None:
                self.history.mark_failed(
                    delivery.id, f"channel '{channel}' is no longer configured", None
                )
                continue
            if not notifier.accepts(delivery.event):
                self.history.mark_sent(delivery.id, self.clock.now())
                continue
            try:
                notifier.send(delivery.payload)
            except Exception as exc:  # a bug in one channel must not stop the others
                if isinstance(exc, DeliveryError):
                    error, retryable = notifier.scrub(str(exc)), exc.retryable
                else:
                    log.exception("alerts: channel %s failed unexpectedly", channel)
                    error, retryable = notifier.scrub(f"{type(exc).__name__}: {exc}"), True
                retry_at = self._failed(delivery, error, retryable)
                # Keep this channel's order: what follows waits for the retry.
                rest = [d.id for d in queue[i + 1 :]]
                self.history.release(rest, retry_at or self.clock.now())
                return
            self.history.mark_sent(delivery.id, self.clock.now())
            log.info("alerts: %s of alert %s sent to %s", delivery.event, delivery.alert, channel)

    def _failed(self, delivery: Delivery, error: str, retryable: bool) -> datetime | None:
        now = self.clock.now()
        attempts = delivery.attempts + 1
        retry_at: datetime | None = None
        if retryable and now - delivery.created < self.settings.give_up_after:
            delay = min(
                self.settings.retry_max.total_seconds(),
                self.settings.retry_initial.total_seconds() * 2 ** (attempts - 1),
            )
            retry_at = now + timedelta(seconds=delay)
        self.history.mark_failed(delivery.id, error, retry_at)
        if retry_at is None:
            log.error(
                "alerts: gave up sending %s of alert %s to %s after %d attempt(s): %s",
                delivery.event,
                delivery.alert,
                delivery.channel,
                attempts,
                error,
            )
        else:
            log.warning(
                "alerts: %s of alert %s to %s failed (attempt %d: %s); retry at %s",
                delivery.event,
                delivery.alert,
                delivery.channel,
                attempts,
                error,
                retry_at.strftime("%H:%M:%S"),
            )
        return retry_at

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)
