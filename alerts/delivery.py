"""Sending the outbox: every channel on its own, retried with backoff, never blocking another.

`Dispatcher.run_once` takes the notifications that are due (`alerts.history.History.due`) and
hands each channel's queue to its own thread. Within a channel, notifications go in order and a
failure stops the queue until the retry (so a resolution never overtakes its trigger); other
channels go on. A failed notification is retried with exponential backoff (``retry_initial``
doubling up to ``retry_max``, each wait drawn at random down to ``1 - retry_jitter`` of it) until
``give_up_after``; a failure that will not pass (a 400, a refused login) gives up at once.

An attempt whose outcome is unknown (the service did not answer once it had the request, or the
sender was killed mid-send: `alerts.history.History.begin` wrote the attempt down first) may have
delivered a copy. A channel whose receiver deduplicates (the webhook's idempotency key,
PagerDuty's dedup key) sends it again, with the same key; one that cannot (Slack, Teams,
Mattermost, email) sends it again at most ``resend_unknown`` times, then marks it ``unknown``
rather than page someone twice more. Errors are stored and logged with every secret masked.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta

from alerts.channels.base import DeliveryError, Notifier
from alerts.history import Delivery, History
from alerts.settings import DeliverySettings
from ingest.clock import Clock, SystemClock

log = logging.getLogger(__name__)

_LEASE = timedelta(minutes=2)
"""How long a claim on due notifications lasts, at least (see `History.due`)."""


class Dispatcher:
    def __init__(
        self,
        history: History,
        notifiers: dict[str, Notifier],
        settings: DeliverySettings,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.history = history
        self.notifiers = notifiers
        self.settings = settings
        self.clock = clock or SystemClock()
        self.random = rng or random.Random()
        # A claim outlasts the slowest attempt (an SMTP conversation takes a few round trips),
        # so no other sender takes a notification that is still being sent.
        slowest = max((n.timeout for n in notifiers.values()), default=0.0)
        self.lease = max(_LEASE, timedelta(seconds=6 * slowest))
        self._pool = ThreadPoolExecutor(max(1, len(notifiers)), thread_name_prefix="notify")
        self._busy: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        history.scrub_errors(self._scrub)  # errors stored by a version that did not mask them

    def _scrub(self, text: str) -> str:
        for notifier in self.notifiers.values():
            text = notifier.scrub(text)
        return text

    def run_once(self, *, wait: bool = False) -> int:
        """Start sending what is due on every idle channel; with ``wait``, until done. Returns
        how many notifications were due."""
        with self._lock:
            busy = frozenset(c for c, f in self._busy.items() if not f.done())
            due = self.history.due(self.clock.now(), skip=busy, lease=self.lease)
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
        for i, queued in enumerate(queue):
            if notifier is None:
                self.history.mark_failed(
                    queued.id, f"channel '{channel}' is no longer configured", None
                )
                continue
            if not notifier.accepts(queued.event):
                self.history.mark_sent(queued.id, self.clock.now())
                continue
            delivery = self._after_interruption(notifier, queued) if queued.interrupted else queued
            if delivery is None:
                continue
            self.history.begin(delivery.id, self.clock.now())
            try:
                notifier.send(delivery.payload)
            except Exception as exc:  # a bug in one channel must not stop the others
                maybe = False
                if isinstance(exc, DeliveryError):
                    error, retryable, maybe = str(exc), exc.retryable, exc.maybe_delivered
                else:
                    log.exception("alerts: channel %s failed unexpectedly", channel)
                    error, retryable = f"{type(exc).__name__}: {exc}", True
                retry_at = self._failed(notifier, delivery, notifier.scrub(error), retryable, maybe)
                # Keep this channel's order: what follows waits for the retry.
                rest = [d.id for d in queue[i + 1 :]]
                self.history.release(rest, retry_at or self.clock.now())
                return
            self.history.mark_sent(delivery.id, self.clock.now())
            log.info("alerts: %s of alert %s sent to %s", delivery.event, delivery.alert, channel)

    def _may_resend(self, notifier: Notifier, unknown: int) -> bool:
        """Whether a notification may go again after ``unknown`` attempts of unknown outcome."""
        return notifier.resend_unknown is None or unknown <= notifier.resend_unknown

    def _after_interruption(self, notifier: Notifier, delivery: Delivery) -> Delivery | None:
        """A sender died while sending ``delivery``: count that attempt as of unknown outcome,
        and say whether to send it again (the delivery as it stands now) or not (None)."""
        error = "Veille stopped while sending it (killed?); it may have arrived"
        unknown = delivery.unknown + 1
        if not self._may_resend(notifier, unknown):
            self.history.mark_failed(delivery.id, error, None, maybe_delivered=True)
            log.error(
                "alerts: %s of alert %s to %s: %s; not sent again, %s cannot drop a copy it "
                "already has (resend_unknown: %s)",
                delivery.event,
                delivery.alert,
                delivery.channel,
                error,
                delivery.channel,
                notifier.resend_unknown,
            )
            return None
        self.history.interrupted(delivery.id, error)
        log.warning(
            "alerts: %s of alert %s to %s: %s; sending it again",
            delivery.event,
            delivery.alert,
            delivery.channel,
            error,
        )
        return replace(delivery, attempts=delivery.attempts + 1, unknown=unknown, interrupted=False)

    def _backoff(self, attempts: int) -> timedelta:
        """The wait before attempt ``attempts + 1``: exponential, capped, with jitter."""
        s = self.settings
        delay = min(
            s.retry_max.total_seconds(),
            s.retry_initial.total_seconds() * 2 ** min(attempts - 1, 64),
        )
        return timedelta(seconds=delay * (1 - s.retry_jitter * self.random.random()))

    def _failed(
        self,
        notifier: Notifier,
        delivery: Delivery,
        error: str,
        retryable: bool,
        maybe_delivered: bool,
    ) -> datetime | None:
        now = self.clock.now()
        attempts = delivery.attempts + 1
        unknown = delivery.unknown + int(maybe_delivered)
        retry_at: datetime | None = None
        held = maybe_delivered and not self._may_resend(notifier, unknown)
        if retryable and not held and now - delivery.created < self.settings.give_up_after:
            retry_at = now + self._backoff(attempts)
        self.history.mark_failed(delivery.id, error, retry_at, maybe_delivered=maybe_delivered)
        if held:
            log.error(
                "alerts: %s of alert %s to %s: outcome unknown after %d attempt(s) (%s); not sent "
                "again, %s cannot drop a copy it already has (resend_unknown: %s)",
                delivery.event,
                delivery.alert,
                delivery.channel,
                attempts,
                error,
                delivery.channel,
                notifier.resend_unknown,
            )
        elif retry_at is None:
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
