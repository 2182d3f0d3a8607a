"""Sentiment backends. Each scores a batch of texts, given their languages, and names its model.

Three backends, chosen by ``enrich.sentiment.backend`` (`open_sentiment`):

- ``trained`` (`enrich.sentiment.trained`, the default): a scikit-learn model, the one shipped
  with Veille (`enrich.sentiment.build`) or one that ``veille sentiment train`` learns from
  labelled mentions;
- ``lexicon`` (`enrich.sentiment.lexicon`): French and English lexicons and rules, faster;
- ``transformers`` (`enrich.sentiment.transformer`): any local text-classification model
  directory, with the optional ``transformers`` extra.

Every verdict records its model's name and version (`Sentiment.model`), and says neutral when
the backend is not confident enough.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from ingest.record import Sentiment, SentimentLabel

if TYPE_CHECKING:
    from enrich.settings import SentimentSettings

LABELS: tuple[SentimentLabel, ...] = ("negative", "neutral", "positive")


class SentimentBackend(Protocol):
    name: str

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        """One `Sentiment` per text, in order."""


def from_probabilities(
    probabilities: Mapping[SentimentLabel, float], *, min_confidence: float, model: str
) -> Sentiment:
    """A verdict from class probabilities: the likeliest label, or neutral below
    ``min_confidence``; the score is P(positive) - P(negative)."""
    label = max(LABELS, key=lambda lab: probabilities.get(lab, 0.0))
    confidence = probabilities.get(label, 0.0)
    if confidence < min_confidence:
        label = "neutral"
    value = probabilities.get("positive", 0.0) - probabilities.get("negative", 0.0)
    return Sentiment(
        label=label,
        score=round(max(-1.0, min(1.0, value)), 4),
        confidence=round(max(0.0, min(1.0, confidence)), 4),
        model=model,
    )


def open_sentiment(settings: SentimentSettings) -> SentimentBackend:
    """The backend the settings name, loaded and ready."""
    if settings.backend == "trained":
        from enrich.sentiment.trained import TrainedSentiment

        # No model file: the shipped one.
        return TrainedSentiment(settings.model, min_confidence=settings.min_confidence)
    if settings.backend == "transformers":
        from enrich.sentiment.transformer import TransformersSentiment

        assert settings.model is not None
        return TransformersSentiment(
            settings.model,
            labels=settings.labels,
            batch_size=settings.batch_size,
            max_length=settings.max_length,
            device=settings.device,
            min_confidence=settings.min_confidence,
        )
    from enrich.sentiment.lexicon import LexiconSentiment

    return LexiconSentiment(settings.neutral_threshold)
