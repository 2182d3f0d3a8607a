"""The enrich stage: from a batch of raw mentions to enriched ones.

For each mention: match the brands, drop and count the mention if no brand matches. The
language is detected before matching when a brand's query reads it (``lang:``), else after, only
for the mentions kept. For those, each step runs once per batch: sentiment, entities
(``nlp.pipe``), near-duplicate clusters and author influence (one store transaction each): no
step is spent on a mention that is dropped. The last two write to the store by mention id, so a
replayed batch changes nothing: the runner may retry a batch, and another worker may redeliver
it. `EnrichStage.seconds` adds up the time each step takes, for benchmarks and profiles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from time import perf_counter

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
        self.seconds: defaultdict[str, float] = defaultdict(float)
        """Seconds spent in each step, summed over every batch: language, brands, sentiment,
        entities, clusters, influence."""

    def language(self, mention: Mention) -> str:
        """The language of ``mention``: detected, else declared, else ``und``."""
        return self.languages.detect(f"{mention.title or ''}\n{mention.text}", mention.lang)

    def process(self, batch: Sequence[Mention]) -> StageOutput:
        output = StageOutput()
        kept: list[tuple[Mention, str, tuple[str, ...]]] = []
        seconds = self.seconds
        early = self.brands.reads_lang
        for mention in batch:
            start = perf_counter()
            lang = self.language(mention) if early else None
            detected = perf_counter()
            brands = self.brands.match(mention, lang)
            done = perf_counter()
            seconds["language"] += detected - start
            seconds["brands"] += done - detected
            if not brands:
                output.dropped["no_brand"] += 1
                continue
            if lang is None:
                lang = self.language(mention)
                seconds["language"] += perf_counter() - done
            kept.append((mention, lang, brands))
        if not kept:
            return output
        mentions = [m for m, _, _ in kept]
        langs = [lang for _, lang, _ in kept]
        with self._timed("sentiment"):
            scores = self.sentiment.score([sentiment_text(m) for m in mentions], langs)
        with self._timed("entities"):
            entities = (
                self.entities.extract([entity_text(m) for m in mentions], langs)
                if self.entities
                else [() for _ in mentions]
            )
        with self._timed("clusters"):
            clusters = self.duplicates.clusters(mentions) if self.duplicates else {}
        with self._timed("influence"):
            influence = (
                self.influence.update([(m, brands) for m, _, brands in kept])
                if self.influence
                else {}
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

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        start = perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += perf_counter() - start
