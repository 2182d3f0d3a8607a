"""The ``deletions`` stage: read the tombstones of ``mentions.deleted`` (`ingest.deletion`) and
remove those mentions from the store (`MentionStore.delete`).

It runs on the shared runner's loop (`ingest.runner.StageRunner`: retries while the store is
down, stops on a broken one, commits only once the batch is applied), with one difference: its
records are `Deletion`s, not mentions. A record that is not one is dead-lettered with the
reason. Deleting is idempotent, so a replay after a crash deletes nothing twice, and a tombstone
that overtakes its mention (it has its own topic) is kept by the store, which refuses the
mention when it comes.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence

from ingest.deadletter import DeadLetter
from ingest.deletion import Deletion
from ingest.errors import InvalidRecord
from ingest.record import Mention
from ingest.runner import StageOutput, StageRunner
from ingest.store import MentionStore

log = logging.getLogger(__name__)


class DeletionStage:
    """Removes deleted mentions from ``store``."""

    name = "deletions"

    def __init__(self, store: MentionStore) -> None:
        self.store = store

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        """Never called: it is a `Stage` so that the shared runner builds it (waiting while
        the store is down); `DeletionRunner` hands it tombstones through `apply`."""
        raise TypeError("the deletions stage reads tombstones, not mentions")

    def apply(self, deletions: Sequence[Deletion]) -> int:
        """Delete these mentions (their deletion dated by the batch's latest tombstone); how
        many of them were stored."""
        at = max(d.at for d in deletions)
        return self.store.delete([d.mention_id for d in deletions], at)


class DeletionRunner(StageRunner):
    """The shared runner, reading `Deletion`s: decode, apply (retried while the store is
    unavailable), dead-letter what cannot be read, then commit."""

    def run_once(self, stop: threading.Event | None = None) -> int:
        stop = stop or threading.Event()
        messages = self._poll(stop)
        if not messages:
            return 0
        deletions: list[Deletion] = []
        letters: list[DeadLetter] = []
        for message in messages:
            try:
                deletions.append(Deletion.from_json(message.value))
            except InvalidRecord as exc:
                letters.append(self._letter(str(exc), message))
        stage = self.stage(stop)
        assert isinstance(stage, DeletionStage)
        applied = self._retry(stop, "delete", lambda: stage.apply(deletions)) if deletions else 0
        self._dead_letter(stop, letters)
        self._retry(stop, "commit", self.consumer.commit)
        if applied:
            log.info("%s: %d deleted mentions removed from the store", self.name, applied)
        counts = Counter(consumed=len(messages), applied=applied, dead=len(letters))
        self.counters.add(self.name, counts)
        return len(messages)
