"""Topic names, with the configurable prefix, and the partition key of a record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ingest.record import Mention

TopicName = Literal["raw", "enriched", "dead", "deleted"]


@dataclass(frozen=True, slots=True)
class Topics:
    """``mentions.raw`` (crawlers to enrich), ``mentions.enriched`` (enrich to index and alerts),
    ``mentions.dead`` (what failed for good, with the reason), ``mentions.deleted`` (the
    tombstones of mentions the platforms say were deleted, `ingest.deletion.Deletion`)."""

    prefix: str = ""

    def named(self, name: TopicName) -> str:
        return f"{self.prefix}mentions.{name}"

    @property
    def raw(self) -> str:
        return self.named("raw")

    @property
    def enriched(self) -> str:
        return self.named("enriched")

    @property
    def dead(self) -> str:
        return self.named("dead")

    @property
    def deleted(self) -> str:
        return self.named("deleted")

    def all(self) -> tuple[str, str, str, str]:
        return (self.raw, self.enriched, self.dead, self.deleted)

    def group(self, stage: str) -> str:
        """The consumer group of a stage. It takes the prefix too: two installations sharing a
        Kafka cluster must not share groups, or one's restarts would rebalance the other."""
        return f"{self.prefix}{stage}"


def partition_key(mention: Mention) -> bytes:
    """The record key: the first brand once enriched, so one brand's mentions keep their order
    on one partition; the site before that."""
    if mention.enrichment and mention.enrichment.brands:
        return mention.enrichment.brands[0].encode()
    return mention.site.encode()
