"""The enrich stage: from a batch of raw mentions to enriched ones.

For each mention: detect the language (the brand queries may filter on it), match the brands,
drop and count the mention if no brand matches. For the rest, each step runs once per batch:
sentiment, entities (``nlp.pipe``), near-duplicate clusters and author influence (one store
transaction each). The last two write to the store by mention id, so a replayed batch changes
nothing: the runner may retry a batch, and another worker may redeliver it.
"""

from __future__ import annotations

from collections.abc import Sequence

from enrich.brands import BrandMatcher
from enrich.duplicates import DuplicateDetector
from enrich.entities import EntityExtractor
from enrich.influence import InfluenceTracker
from enrich.language import LanguageDetectorService
from enrich.sentiment import SentimentBackend
from ingest.clock import Clock, SystemClock
from ingest.record import Enrichment, Mention
from ingest.runner import StageOutput

_SHORT = 40


def sentiment_text(mention: Mention) -> str:
    """What sentiment is read from: the text, with the title when the text is only a snippet."""
    if mention.title and len(mention.text) < _SHORT:
        return f"{mention.title}. {mention.text}".strip()
    return mention.text or mention.title or ""


def entity_text(mention: Mention) -> str:
    """What entities are read from: the title and the text."""
    return f"{mention.title}.\n{mention.text}" if mention.title else mention.text


class EnrichStage:
    name = "enrich"

    def __init__(
        self,
        brands: BrandMatcher,
        languages: LanguageDetectorService,
        sentiment: SentimentBackend,
        clock: Clock | None = None,
        *,
        entities: EntityExtractor | None = None,
        duplicates: DuplicateDetector | None = None,
        influence: InfluenceTracker | None = None,
    ) -> None:
        self.brands = brands
        self.languages = languages
        self.sentiment = sentiment
        self.clock = clock or SystemClock()
        self.entities = entities
        self.duplicates = duplicates
        self.influence = influence

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        output = StageOutput()
        kept: list[tuple[Mention, str, tuple[str, ...]]] = []
        for mention in batch:
            sample = f"{mention.title or ''}\n{mention.text}"
            lang = self.languages.detect(sample, mention.lang)
            brands = self.brands.match(mention, lang)
            if not brands:
                output.dropped["no_brand"] += 1
                continue
            kept.append((mention, lang, brands))
        if not kept:
            return output
        mentions = [m for m, _, _ in kept]
        langs = [lang for _, lang, _ in kept]
        scores = self.sentiment.score([sentiment_text(m) for m in mentions], langs)
        entities = (
            self.entities.extract([entity_text(m) for m in mentions], langs)
            if self.entities
            else [() for _ in mentions]
        )
        clusters = self.duplicates.clusters(mentions) if self.duplicates else {}
        influence = (
            self.influence.update([(m, brands) for m, _, brands in kept]) if self.influence else {}
        )
        now = self.clock.now()
        for (mention, lang, brands), sentiment, found in zip(kept, scores, entities, strict=True):
            enrichment = Enrichment(
                brands=brands,
                lang=lang,
                sentiment=sentiment,
                entities=found,
                influence=influence.get(mention.id),
                cluster=clusters.get(mention.id),
                enriched=now,
            )
            output.emit.append(mention.with_enrichment(enrichment))
        return output
