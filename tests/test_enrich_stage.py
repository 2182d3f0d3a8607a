"""The enrich stage on its own: every step after brand matching sees only the mentions that are
kept, the language is detected before matching only when a query reads it, and the answers are
the same either way."""

from __future__ import annotations

from collections.abc import Sequence
from unittest.mock import Mock

from enrich.brands import BrandMatcher, reads_lang
from enrich.duplicates import DuplicateDetector
from enrich.entities import EntityExtractor
from enrich.influence import InfluenceTracker
from enrich.language import LanguageDetectorService
from enrich.sentiment.lexicon import LexiconSentiment
from enrich.stage import EnrichStage
from ingest.query import parse
from ingest.record import Mention
from ingest.settings import Brand
from tests.support.mentions import make_mention

ABOUT = [
    make_mention("Le service client d'Acme est vraiment génial, merci à toute l'équipe"),
    make_mention("Acme support answered in five minutes, well done", lang="en"),
    make_mention("Acme"),
]
ELSE = [
    make_mention("Rien à voir avec la marque, il pleut sur Angers ce matin"),
    make_mention("Nothing about any brand here, just the weather"),
]


class CountingDetector(LanguageDetectorService):
    def __init__(self) -> None:
        super().__init__(["fr", "en"])
        self.texts: list[str] = []

    def detect(self, text: str, declared: str | None = None) -> str:
        self.texts.append(text)
        return super().detect(text, declared)


class Spy:
    """Stands for the steps after matching: records which mentions (texts) each one saw."""

    def __init__(self) -> None:
        self.seen: dict[str, list[str]] = {}

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[None]:
        self.seen.setdefault("sentiment", []).extend(texts)
        return [None for _ in texts]

    def extract(self, texts: Sequence[str], langs: Sequence[str]) -> list[tuple[()]]:
        self.seen.setdefault("entities", []).extend(texts)
        return [() for _ in texts]

    def clusters(self, mentions: Sequence[Mention]) -> dict[str, str]:
        self.seen.setdefault("clusters", []).extend(m.text for m in mentions)
        return {}

    def update(self, kept: Sequence[tuple[Mention, tuple[str, ...]]]) -> dict[str, object]:
        self.seen.setdefault("influence", []).extend(m.text for m, _ in kept)
        return {}


def stage(query: str, detector: LanguageDetectorService, spy: Spy | None = None) -> EnrichStage:
    brands = BrandMatcher([Brand(name="Acme", query=query)])
    if spy is None:
        return EnrichStage(brands, detector, LexiconSentiment())
    return EnrichStage(
        brands,
        detector,
        Mock(spec=LexiconSentiment, score=spy.score),
        entities=Mock(spec=EntityExtractor, extract=spy.extract),
        duplicates=Mock(spec=DuplicateDetector, clusters=spy.clusters),
        influence=Mock(spec=InfluenceTracker, update=spy.update),
    )


def test_no_step_runs_on_a_mention_that_is_dropped() -> None:
    detector, spy = CountingDetector(), Spy()
    output = stage("acme", detector, spy).process([*ELSE, *ABOUT])
    assert output.dropped["no_brand"] == len(ELSE)
    assert len(output.emit) == len(ABOUT)
    about = [m.text for m in ABOUT]
    assert spy.seen == {
        "sentiment": about,
        "entities": about,
        "clusters": about,
        "influence": about,
    }
    # No query reads the language: it is detected for the mentions kept, and only for them.
    assert [t.split("\n", 1)[1] for t in detector.texts] == about


def test_the_language_is_detected_first_when_a_query_reads_it() -> None:
    detector = CountingDetector()
    output = stage("acme AND lang:fr", detector).process([*ELSE, *ABOUT])
    assert len(detector.texts) == len(ELSE) + len(ABOUT)
    assert [m.id for m in output.emit] == [ABOUT[0].id]  # English and und are dropped
    assert output.emit[0].enrichment is not None
    assert output.emit[0].enrichment.lang == "fr"


def test_detecting_late_or_early_gives_the_same_enrichment() -> None:
    late = stage("acme", LanguageDetectorService(["fr", "en"]))
    early = stage("acme AND NOT lang:xx", LanguageDetectorService(["fr", "en"]))
    assert not late.brands.reads_lang
    assert early.brands.reads_lang
    by_late = late.process([*ELSE, *ABOUT]).emit
    by_early = early.process([*ELSE, *ABOUT]).emit
    assert [m.enrichment.lang for m in by_late if m.enrichment] == ["fr", "en", "und"]
    assert [m.model_dump(exclude={"enrichment": {"enriched"}}) for m in by_late] == [
        m.model_dump(exclude={"enrichment": {"enriched"}}) for m in by_early
    ]


def test_reads_lang_looks_everywhere_in_the_query() -> None:
    assert reads_lang(parse("acme AND (velo OR (NOT lang:en))"))
    assert reads_lang(parse("lang:fr"))
    assert not reads_lang(parse('acme OR "acme corp" NEAR/3 support site:acme.fr'))


def test_the_time_of_each_step_is_counted() -> None:
    enrich = stage("acme", LanguageDetectorService(["fr", "en"]))
    enrich.process([*ELSE, *ABOUT])
    assert set(enrich.seconds) == {
        "language",
        "brands",
        "sentiment",
        "entities",
        "clusters",
        "influence",
    }
    assert all(s >= 0 for s in enrich.seconds.values())
