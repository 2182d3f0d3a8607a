"""The enrich stage: a pure function from a batch of raw mentions to enriched ones.

For each mention: detect the language (the brand queries may filter on it), match the brands,
drop and count the mention if no brand matches, score the sentiment of the rest in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence

from enrich.brands import BrandMatcher
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


class EnrichStage:
    name = "enrich"

    def __init__(
        self,
        brands: BrandMatcher,
        languages: LanguageDetectorService,
        sentiment: SentimentBackend,
        clock: Clock | None = None,
    ) -> None:
        self.brands = brands
        self.languages = languages
        self.sentiment = sentiment
        self.clock = clock or SystemClock()

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
        scores = self.sentiment.score(
            [sentiment_text(m) for m, _, _ in kept], [lang for _, lang, _ in kept]
        )
        now = self.clock.now()
        for (mention, lang, brands), sentiment in zip(kept, scores, strict=True):
            enrichment = Enrichment(brands=brands, lang=lang, sentiment=sentiment, enriched=now)
            output.emit.append(mention.with_enrichment(enrichment))
        return output
