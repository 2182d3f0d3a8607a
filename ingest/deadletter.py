"""The record written to ``mentions.dead``: what failed for good, why, and the original payload."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ingest.bus import Message


class DeadLetter(BaseModel):
    """A record that a stage gave up on. ``payload`` is the original record, as text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stage: str
    reason: str
    topic: str
    partition: int | None = None
    offset: int | None = None
    mention_id: str | None = None
    payload: str
    failed: AwareDatetime

    @classmethod
    def of(
        cls,
        stage: str,
        reason: str,
        message: Message,
        failed: AwareDatetime,
        mention_id: str | None = None,
    ) -> DeadLetter:
        return cls(
            stage=stage,
            reason=reason,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            mention_id=mention_id,
            payload=message.value.decode("utf-8", errors="backslashreplace"),
            failed=failed,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
