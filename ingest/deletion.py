"""The tombstone that flows on ``mentions.deleted``: `Deletion`, a mention a platform says was
deleted, for the ``deletions`` stage (`index.deletions`) to remove from the store.

A source publishes a `Deletion` when a platform tells it a post is gone (Mastodon answers 404 to
a recheck, Bluesky's stream sends a delete event). Tombstones are keyed by mention id and
idempotent: a replay, or the same deletion reported twice, removes nothing twice.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from ingest.record import invalid_record


class Deletion(BaseModel):
    """A mention to remove from the store, and to refuse should it come again."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    mention_id: str = Field(min_length=1, max_length=512)
    platform: str = Field(min_length=1, max_length=64)
    at: AwareDatetime
    """When the source learnt of the deletion."""
    reason: str = Field(default="deleted", max_length=200)
    """What the platform said: ``404 on recheck``, ``delete event``..."""

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, payload: bytes | str) -> Deletion:
        """The deletion in ``payload``; `InvalidRecord` if the payload is not one."""
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            raise invalid_record(exc) from exc

    def key(self) -> bytes:
        """The record key: the mention id, so that a deletion keeps its order per mention."""
        return self.mention_id.encode()
