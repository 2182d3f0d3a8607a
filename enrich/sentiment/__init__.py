"""Sentiment backends. Each scores a batch of texts, given their languages, and names its model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingest.record import Sentiment


class SentimentBackend(Protocol):
    name: str

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        """One `Sentiment` per text, in order."""
