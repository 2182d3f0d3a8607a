"""Settings enrich owns: the languages to detect and the sentiment backend."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from ingest.settings import Strict


class LanguageSettings(Strict):
    """Language detection, restricted to the languages the agency watches."""

    languages: list[str] = ["fr", "en"]
    min_confidence: Annotated[float, Field(ge=0.0, le=1.0)] = 0.6

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


class SentimentSettings(Strict):
    """Which sentiment backend scores mentions, and when it should rather say neutral."""

    backend: Literal["lexicon"] = "lexicon"
    neutral_threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05


class EnrichSettings(Strict):
    language: LanguageSettings = LanguageSettings()
    sentiment: SentimentSettings = SentimentSettings()
