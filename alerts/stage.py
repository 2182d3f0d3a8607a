"""The alerts stage: a sink on ``mentions.enriched``, plus the worker's loop that evaluates rules
and sends notifications when no mention comes.

- `AlertsStage` fits the stage runner (`ingest.runner.Stage`, name ``alerts``, its own consumer
  group): each batch is counted (`alerts.engine.AlertEngine.record`) before the runner commits,
  so a crash replays the batch and the ids already counted are skipped;
- `AlertsWorker.run` alternates: one batch from the runner, then, every ``evaluate_every`` (and
  right after a batch), an evaluation of every rule and a round of deliveries. Buckets close and
  incidents resolve on time even when the topic is quiet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from alerts.delivery import Dispatcher
from alerts.engine import AlertEngine
from ingest.clock import Clock, SystemClock
from ingest.record import Mention
from ingest.runner import StageOutput, StageRunner, Stopped

log = logging.getLogger(__name__)


class AlertsStage:
    """Sink stage: counts enriched mentions into the alerts buckets."""

    name = "alerts"

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        output = StageOutput()
        unenriched = sum(1 for m in batch if m.enrichment is None)
        if unenriched:
            output.dropped["not_enriched"] += unenriched
        self.engine.record(batch)
        return output


class AlertsWorker:
    """The runner, the engine and the dispatcher, in one loop."""

    def __init__(
        self,
        runner: StageRunner,
        engine: AlertEngine,
        dispatcher: Dispatcher,
        *,
        evaluate_every: float = 5.0,
        clock: Clock | None = None,
    ) -> None:
        self.runner = runner
        self.engine = engine
        self.dispatcher = dispatcher
        self.evaluate_every = evaluate_every
        self.clock = clock or SystemClock()
        self._last: float | None = None
        self._bucket: int | None = None

    def tick(self, *, force: bool = False, wait: bool = False) -> None:
        """Evaluate the rules if it is time (or ``force``), then send what is due. A bucket that
        has just ended is evaluated at once: confirmation by the next bucket then costs no more
        than the bucket itself."""
        now = self.clock.monotonic()
        bucket = self.engine.buckets.bucket_of(self.clock.now())
        due = self._last is None or now - self._last >= self.evaluate_every
        if force or due or bucket != self._bucket:
            self.engine.evaluate()
            self._last, self._bucket = now, bucket
        self.dispatcher.run_once(wait=wait)

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        try:
            while not stop.is_set():
                handled = self.runner.run_once(stop)
                self.tick(force=handled > 0, wait=until_idle)
                if until_idle and handled == 0:
                    return
        except Stopped:
            log.info("alerts: stopped while retrying; the batch will be replayed")
        finally:
            self.runner.close()
            self.dispatcher.close()
