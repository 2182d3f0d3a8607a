"""Language detection, offline, restricted to the languages the agency watches.

The detector (lingua, n-gram models shipped in the wheel) chooses among the configured languages
plus a few close neighbours ("guards"): without them, a Spanish post would be called French with
confidence, because French would be the nearest of the only two candidates. When the best
candidate is not confident enough (short posts, mixed languages), the detector does not guess:
it falls back to the language the source declares, else it says ``und``.
"""

from __future__ import annotations

from collections.abc import Sequence

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())
GUARDS = ("fr", "en", "de", "es", "it", "pt", "nl")
UNDETERMINED = "und"
_MAX_CHARS = 1000


class LanguageDetectorService:
    """Detect the language of a text among ``languages`` (ISO 639-1 codes)."""

    def __init__(self, languages: Sequence[str], *, min_confidence: float = 0.6) -> None:
        unknown = sorted(set(languages) - SUPPORTED)
        if unknown:
            raise ValueError(f"unsupported language codes: {', '.join(unknown)}")
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        candidates = sorted(set(languages) | set(GUARDS))
        self._detector: LanguageDetector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(
                *(getattr(IsoCode639_1, c.upper()) for c in candidates)
            )
            .with_low_accuracy_mode()
            .build()
        )

    def detect(self, text: str, declared: str | None = None) -> str:
        """The language code of ``text``; ``declared`` (or ``und``) when unsure."""
        fallback = declared or UNDETERMINED
        sample = text[:_MAX_CHARS]
        if sum(c.isalpha() for c in sample) < 3:
            return fallback
        values = self._detector.compute_language_confidence_values(sample)
        if not values or values[0].value < self.min_confidence:
            return fallback
        code: str = values[0].language.iso_code_639_1.name.lower()
        return code
