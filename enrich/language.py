"""Language detection, offline, restricted to the languages the agency watches.

The detector (lingua, n-gram models shipped in the wheel) chooses among the configured languages
plus a few close neighbours ("guards"): without them, a Spanish post would be called French with
confidence, because French would be the nearest of the only two candidates.

Short posts are where detectors guess. Three things keep the answer honest there:

- what carries no language is removed first: URLs, ``@handles``, ``RT``, the ``#`` of hashtags
  (their words stay);
- lingua's fast mode (trigrams) answers when it is very sure (`SURE`); otherwise a text of up to
  `SHORT_CHARS` characters is read again by the accurate mode (1- to 5-grams), which is slower
  but rarely wrong on a few words;
- when the best candidate is still not confident enough, the detector does not guess: it falls
  back to the language the source declares, else it says ``und``.

On UMSAB val tweets cut to their first 2 and 4 words (``bench/language.py``), this halves to
thirds the wrong answers on French and English (fast mode alone: 8-13 %), at a third of the
accurate mode's cost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED = frozenset(lang.iso_code_639_1.name.lower() for lang in Language.all())
GUARDS = ("fr", "en", "de", "es", "it", "pt", "nl")
UNDETERMINED = "und"
SHORT_CHARS = 120
SURE = 0.95
_MAX_CHARS = 300  # lingua's fast mode is as sure on 300 characters, and cost grows with length
_THREE_LETTERS = re.compile(r"[^\W\d_](?:.*?[^\W\d_]){2}", re.DOTALL)
_NOISE_MARKS = ("http", "www.", "@", "#", "RT")
_NOISE = re.compile(r"https?://\S+|\bwww\.\S+|\bhttp\b|@\w+:?|\bRT\b|#")


def clean_for_detection(text: str) -> str:
    """``text`` without what carries no language: URLs, handles, ``RT``, hashtag signs."""
    head = text[: _MAX_CHARS * 2]
    if any(mark in head for mark in _NOISE_MARKS):
        head = _NOISE.sub(" ", head)
    return " ".join(head.split())[:_MAX_CHARS]


class LanguageDetectorService:
    """Detect the language of a text among ``languages`` (ISO 639-1 codes)."""

    def __init__(
        self,
        languages: Sequence[str],
        *,
        min_confidence: float = 0.6,
        short_min_confidence: float = 0.5,
    ) -> None:
        unknown = sorted(set(languages) - SUPPORTED)
        if unknown:
            raise ValueError(f"unsupported language codes: {', '.join(unknown)}")
        self.languages = tuple(languages)
        self.min_confidence = min_confidence
        self.short_min_confidence = short_min_confidence
        candidates = sorted(set(languages) | set(GUARDS))
        codes = [getattr(IsoCode639_1, c.upper()) for c in candidates]
        self._fast: LanguageDetector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()
        )
        self._precise: LanguageDetector = LanguageDetectorBuilder.from_iso_codes_639_1(
            *codes
        ).build()

    def detect(self, text: str, declared: str | None = None) -> str:
        """The language code of ``text``; ``declared`` (or ``und``) when unsure."""
        fallback = declared or UNDETERMINED
        sample = clean_for_detection(text)
        if not _THREE_LETTERS.search(sample):
            return fallback
        values = self._fast.compute_language_confidence_values(sample)
        threshold = self.min_confidence
        if (not values or values[0].value < SURE) and len(sample) <= SHORT_CHARS:
            values = self._precise.compute_language_confidence_values(sample)
            threshold = self.short_min_confidence
        if not values or values[0].value < threshold:
            return fallback
        code: str = values[0].language.iso_code_639_1.name.lower()
        return code
