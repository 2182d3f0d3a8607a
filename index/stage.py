"""The index stage: write enriched mentions to the store, in bulk, by id."""

from __future__ import annotations

from collections.abc import Sequence

from ingest.record import Mention
from ingest.runner import StageOutput
from ingest.store import MentionStore


class IndexStage:
    """Sink stage. A store that is down raises `StoreUnavailable` and the runner retries; a
    mention the store refuses for good is dead-lettered with the store's reason."""

    name = "index"

    def __init__(self, store: MentionStore) -> None:
        self.store = store

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        rejected = {r.mention_id: r.reason for r in self.store.upsert(batch)}
        output = StageOutput()
        output.dead = [(m, rejected[m.id]) for m in batch if m.id in rejected]
        return output
