"""Settings enrich owns: languages, the sentiment backend, entities, influence, near-duplicates."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from ingest.record import SentimentLabel
from ingest.settings import Duration, Strict

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class LanguageSettings(Strict):
    """Language detection, restricted to the languages the agency watches."""

    languages: list[str] = ["fr", "en"]
    min_confidence: Probability = 0.6
    """Below this confidence the detector does not guess (texts over 120 characters)."""
    short_min_confidence: Probability = 0.5
    """The same for texts up to 120 characters, read by the more accurate (slower) models."""

    @field_validator("languages")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        from enrich.language import SUPPORTED

        codes = [v.lower() for v in value]
        unknown = [c for c in codes if c not in SUPPORTED]
        if unknown:
            raise ValueError(
                f"unsupported language code(s) {', '.join(unknown)}; supported: "
                f"{', '.join(sorted(SUPPORTED))}"
            )
        if not codes:
            raise ValueError("at least one language is needed")
        return codes


SentimentBackendName = Literal["lexicon", "trained", "transformers"]


class SentimentSettings(Strict):
    """Which sentiment backend scores mentions, and when it should rather say neutral.

    - ``trained`` (default): a scikit-learn model; without ``model``, the one shipped with
      Veille (built from the UMSAB train sets in eight languages by ``python -m
      enrich.sentiment.build``), else a model file written by ``veille sentiment train``;
    - ``lexicon``: French and English lexicons and rules, faster, less accurate;
    - ``transformers``: a local Hugging Face text-classification model directory (``model``),
      with the ``transformers`` extra installed; ``labels`` maps the model's labels to ours when
      their names do not say negative, neutral or positive.
    """

    backend: SentimentBackendName = "trained"
    neutral_threshold: Probability | None = None
    """lexicon: a compound score closer to 0 than this is neutral. Default: each lexicon's own,
    chosen on UMSAB train (French 0.05, English 0.3)."""
    min_confidence: Probability = 0.0
    """trained, transformers: when the most likely label's probability is below this, neutral."""
    model: Path | None = None
    """trained: a model file (default: the shipped model); transformers: a model directory."""
    labels: dict[str, SentimentLabel] = {}
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    max_length: Annotated[int, Field(ge=8, le=4096)] = 256
    device: str = "cpu"
    """transformers: ``cpu``, ``cuda``, ``cuda:1``, ``mps``."""

    @model_validator(mode="after")
    def _model_given(self) -> Self:
        if self.backend == "transformers" and self.model is None:
            raise ValueError(f"the {self.backend} sentiment backend needs 'model': a path")
        return self


class EntitySettings(Strict):
    """Named entities: spaCy models by language, and the configured brands' names everywhere."""

    enabled: bool = True
    models: dict[str, str] = {"fr": "fr_core_news_md"}
    """Language code to an installed spaCy package or a model directory. Languages not listed
    get only the entity ruler built from the brands' names, products, competitors and people."""
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 64
    max_chars: Annotated[int, Field(ge=100)] = 5000
    """Only the start of long texts is read for entities."""
    labels: list[str] | None = None
    """Keep only these labels (e.g. [BRAND, PRODUCT, PERSON, ORG]); all when unset."""


class InfluenceSettings(Strict):
    """Author influence: what counts, how much, and who is called an influencer.

    score = reach_weight * log10(1 + reach) + engagement_weight * log10(1 + engagement)
          + activity_weight * log10(1 + mentions) + pagerank_weight * max(0, log10(n * pagerank))

    reach: followers, else the audience configured here for the site or the source; n: the
    number of authors in the reply/mention graph (so an average author's PageRank term is 0).
    """

    enabled: bool = True
    audiences: dict[str, Annotated[int, Field(ge=0)]] = {}
    """Audience by site (``lesnouvelles.example``) or source name, for authors with no known
    follower count: a news site's readership, a forum's members."""
    percentile: Annotated[float, Field(ge=0.0, le=100.0)] = 90.0
    """Authors at or above this percentile of scores are influencers."""
    reach_weight: Annotated[float, Field(ge=0.0)] = 1.0
    engagement_weight: Annotated[float, Field(ge=0.0)] = 1.0
    activity_weight: Annotated[float, Field(ge=0.0)] = 0.5
    pagerank_weight: Annotated[float, Field(ge=0.0)] = 1.0
    pagerank_every: Duration = timedelta(minutes=5)
    """How often the reply/mention graph's PageRank is recomputed (when it changed)."""
    damping: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.85


class DuplicateSettings(Strict):
    """Near-duplicates: syndicated copies and retweets join one cluster (SimHash)."""

    enabled: bool = True
    max_distance: Annotated[int, Field(ge=0, le=15)] = 6
    """Two texts whose 64-bit SimHash differ in at most this many bits are copies."""
    min_tokens: Annotated[int, Field(ge=1)] = 8
    """Shorter texts are clustered only when identical, or when one is a retweet of the other:
    two people who both write "panne Lumen" are two voices."""


class EnrichSettings(Strict):
    language: LanguageSettings = LanguageSettings()
    sentiment: SentimentSettings = SentimentSettings()
    entities: EntitySettings = EntitySettings()
    influence: InfluenceSettings = InfluenceSettings()
    duplicates: DuplicateSettings = DuplicateSettings()
    workers: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = "auto"
    """Enrich worker processes that ``veille run`` and ``veille enrich`` start, each one a member
    of the enrich consumer group: ``auto`` or 0 for one per core (at most ``bus.partitions``:
    a member without a partition would idle)."""
