"""Benchmark: how honest and how fast language detection is, on real tweets.

Workload: the UMSAB val texts of ``../shared/data/sentiment`` (324 tweets in each of en, fr,
de, es, it, pt, ar, hi), configured languages fr and en (the default), and the same tweets cut
to their first 2, 4 and 8 words (short posts are where detectors guess). For each language and
length it prints the share of answers that are right, ``und`` (the detector said it was unsure)
and wrong, for two detectors, in this one process run:

- ``fast``: lingua's low-accuracy mode on the raw text, confidence 0.6 (Veille before issue 4);
- ``veille``: `enrich.language.LanguageDetectorService` as configured by default.

Arabic is never a candidate (not configured, not a guard), so ``und`` is its right answer; the
"hi" set is mostly Hinglish in Latin script, often English. Then the throughput (texts/s) of each.

    .venv/bin/python bench/language.py [--data ../shared/data/sentiment]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from lingua import IsoCode639_1, LanguageDetectorBuilder

from enrich.language import GUARDS, UNDETERMINED, LanguageDetectorService, clean_for_detection

LANGS = ("fr", "en", "de", "es", "it", "pt", "ar", "hi")
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment"


def fast_detector() -> Callable[[str], str]:
    codes = [getattr(IsoCode639_1, c.upper()) for c in sorted(set(GUARDS))]
    detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()

    def detect(text: str) -> str:
        sample = text[:1000]
        if sum(c.isalpha() for c in sample) < 3:
            return UNDETERMINED
        values = detector.compute_language_confidence_values(sample)
        if not values or values[0].value < 0.6:
            return UNDETERMINED
        return str(values[0].language.iso_code_639_1.name.lower())

    return detect


def verdict(answer: str, lang: str) -> str:
    right = lang if lang != "ar" else UNDETERMINED
    if answer == right:
        return "right"
    return "und" if answer == UNDETERMINED else "wrong"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    texts = {
        lang: [
            json.loads(line)["text"]
            for line in (args.data / f"umsab_{lang}_val.jsonl").read_text("utf-8").splitlines()
        ]
        for lang in LANGS
    }
    service = LanguageDetectorService(["fr", "en"])
    detectors: dict[str, Callable[[str], str]] = {"fast": fast_detector(), "veille": service.detect}
    lengths: list[int | None] = [None, 2, 4, 8]
    print("right / und / wrong, % of texts (n)")
    for words in lengths:
        print(f"\n{'whole tweets' if words is None else f'first {words} words'}")
        for name, detect in detectors.items():
            cells = []
            for lang in LANGS:
                samples = texts[lang]
                if words is not None:
                    cut = [" ".join(clean_for_detection(t).split()[:words]) for t in samples]
                    samples = [c for c in cut if len(c.split()) == words]
                counts = Counter(verdict(detect(t), lang) for t in samples)
                n = len(samples)
                cells.append(
                    f"{lang} {100 * counts['right'] / n:3.0f}/{100 * counts['und'] / n:3.0f}"
                    f"/{100 * counts['wrong'] / n:3.0f} ({n})"
                )
            print(f"  {name:7s} " + "  ".join(cells))
    everything = [t for lang in LANGS for t in texts[lang]]
    print(f"\nthroughput on the {len(everything)} whole tweets (after a warm-up pass)")
    for name, detect in detectors.items():
        for t in everything:
            detect(t)
        start = time.perf_counter()
        for t in everything:
            detect(t)
        elapsed = time.perf_counter() - start
        print(f"  {name:7s} {len(everything) / elapsed:8.0f} texts/s")


if __name__ == "__main__":
    main()
