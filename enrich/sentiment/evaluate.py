"""Labelled texts, and how well a backend agrees with them.

A labelled file holds one JSON object per line: ``{"text", "label", "lang"}``, label one of
negative, neutral, positive, with an optional ``id`` (the mention id, when an analyst labelled
or corrected a stored mention). Later lines win: a correction made later replaces the earlier
label of the same mention (same ``id``, else same text). A line that is not such an object is
reported with its line number and skipped; the others are kept.

`evaluate` reports what the UMSAB and TweetEval benchmarks report: macro-F1 (UMSAB's metric),
macro-recall (TweetEval's), accuracy, per-class precision, recall and F1, and the confusion
matrix (rows: gold label; columns: predicted), and a 95 % confidence interval for macro-F1 by
bootstrap over the examples (`bootstrap_interval`): a figure on 324 tweets is uncertain by about
five points either way, and two backends closer than that may not differ at all.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enrich.sentiment import LABELS, SentimentBackend
from ingest.errors import ConfigError
from ingest.record import SentimentLabel


@dataclass(frozen=True)
class Labeled:
    text: str
    label: SentimentLabel
    lang: str = "und"
    id: str | None = None


@dataclass(frozen=True)
class LabeledFile:
    examples: list[Labeled]
    problems: list[str]
    """``path:line: what is wrong`` for every line skipped."""
    overridden: int
    """How many earlier labels a later line replaced."""


def text_hash(text: str) -> int:
    """A 63-bit hash of a text's words: a trained model keeps those of its training texts, so
    that an evaluation can tell when it scores texts the model learnt from."""
    digest = hashlib.sha256(" ".join(text.split()).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _parse(line: str) -> Labeled:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    text, label, lang, ident = data.get("text"), data.get("label"), data.get("lang"), data.get("id")
    if not isinstance(text, str) or not text.strip():
        raise ValueError("'text' must be a non-empty string")
    if label not in LABELS:
        raise ValueError(f"'label' must be one of {', '.join(LABELS)}, not {label!r}")
    if lang is not None and not isinstance(lang, str):
        raise ValueError("'lang' must be a language code")
    if ident is not None and not isinstance(ident, str):
        raise ValueError("'id' must be a string")
    return Labeled(text=text, label=label, lang=(lang or "und").lower(), id=ident)


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read labelled data {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc.reason})") from None


def load_labeled(*paths: str | Path) -> LabeledFile:
    """Read labelled files, in order; later labels of the same mention or text replace earlier
    ones."""
    by_key: dict[str, Labeled] = {}
    problems: list[str] = []
    overridden = 0
    numbered = [(Path(p), n, line) for p in paths for n, line in enumerate(_lines(Path(p)), 1)]
    for path, number, line in numbered:
        if not line.strip():
            continue
        try:
            example = _parse(line)
        except ValueError as exc:
            problems.append(f"{path}:{number}: {exc}")
            continue
        key = f"id:{example.id}" if example.id else f"text:{' '.join(example.text.split())}"
        if key in by_key:
            overridden += 1
            del by_key[key]  # the correction takes the place of the latest line
        by_key[key] = example
    return LabeledFile(list(by_key.values()), problems, overridden)


def metrics(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """n, macro_f1, macro_recall, accuracy, per_class and confusion, in percent (1 decimal)."""
    confusion = Counter(zip(gold, predicted, strict=True))
    per_class: dict[str, dict[str, float | int]] = {}
    for label in LABELS:
        tp = confusion[(label, label)]
        support = sum(n for (g, _), n in confusion.items() if g == label)
        predicted_n = sum(n for (_, p), n in confusion.items() if p == label)
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {
            "precision": round(100 * precision, 1),
            "recall": round(100 * recall, 1),
            "f1": round(100 * f1, 1),
            "support": support,
        }
    n = len(gold)
    present = [lab for lab in LABELS if per_class[lab]["support"]] or list(LABELS)
    return {
        "n": n,
        "macro_f1": round(sum(float(per_class[lab]["f1"]) for lab in present) / len(present), 1),
        "macro_recall": round(
            sum(float(per_class[lab]["recall"]) for lab in present) / len(present), 1
        ),
        "accuracy": round(100 * sum(confusion[(lab, lab)] for lab in LABELS) / n, 1) if n else 0.0,
        "per_class": per_class,
        "confusion": {g: {p: confusion[(g, p)] for p in LABELS} for g in LABELS},
    }


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro-F1 in percent, unrounded, over the labels present in ``gold``."""
    scores = []
    for label in LABELS:
        tp = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        support = sum(1 for g in gold if g == label)
        if not support:
            continue
        predicted_n = sum(1 for p in predicted if p == label)
        scores.append(200 * tp / (support + predicted_n))
    return sum(scores) / len(scores) if scores else 0.0


def bootstrap_interval(
    gold: Sequence[str],
    predicted: Sequence[str],
    *,
    resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval for macro-F1 (percent, 1 decimal): the
    examples are drawn with replacement ``resamples`` times."""
    import random  # pure Python: the lexicon's evaluation loads no numpy (tests/test_startup.py)

    n = len(gold)
    if n == 0:
        return (0.0, 0.0)
    pairs = list(zip(gold, predicted, strict=True))
    rng = random.Random(seed)
    scores = []
    for _ in range(resamples):
        tp: Counter[str] = Counter()
        support: Counter[str] = Counter()
        chosen: Counter[str] = Counter()
        for g, p in rng.choices(pairs, k=n):
            support[g] += 1
            chosen[p] += 1
            if g == p:
                tp[g] += 1
        f1s = [200 * tp[lab] / (support[lab] + chosen[lab]) for lab in LABELS if support[lab]]
        scores.append(sum(f1s) / len(f1s))
    scores.sort()
    low = scores[int((1 - level) / 2 * resamples)]
    high = scores[min(resamples - 1, int((1 + level) / 2 * resamples))]
    return (round(low, 1), round(high, 1))


def evaluate(
    backend: SentimentBackend, examples: Sequence[Labeled], *, batch_size: int = 256
) -> dict[str, Any]:
    """Score ``examples`` with ``backend`` and compare with their labels; ``macro_f1_ci`` is
    the bootstrap interval, ``seen_in_training`` how many examples the backend's model was
    trained on (trained backend only: such a figure is not a quality claim)."""
    predicted: list[str] = []
    models: Counter[str] = Counter()
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        for verdict in backend.score([e.text for e in chunk], [e.lang for e in chunk]):
            predicted.append(verdict.label)
            models[verdict.model] += 1
    gold = [e.label for e in examples]
    report = metrics(gold, predicted)
    report["macro_f1_ci"] = list(bootstrap_interval(gold, predicted))
    report["backend"] = backend.name
    report["models"] = dict(models)
    model = getattr(backend, "model", None)
    seen = getattr(model, "seen", None)
    if isinstance(seen, frozenset):
        report["seen_in_training"] = sum(1 for e in examples if text_hash(e.text) in seen)
    report["how"] = _how(backend, report)
    return report


def _how(backend: SentimentBackend, report: dict[str, Any]) -> str:
    """How the figure was obtained, in words."""
    n = report["n"]
    parts = [f"{backend.name} backend ({', '.join(report['models']) or 'no verdict'})"]
    model = getattr(backend, "model", None)
    if getattr(backend, "shipped", False) and model is not None:
        languages = ", ".join(getattr(model, "languages", {}))
        parts.append(
            f"the model shipped with Veille, learnt from the UMSAB train sets ({languages}) by "
            "'python -m enrich.sentiment.build', its parameters chosen by nested "
            "cross-validation on those train sets ('python -m bench.sentiment_cv')"
        )
    elif model is not None and hasattr(model, "languages"):
        parts.append(f"model file {getattr(backend, 'path', '?')}, learnt from {model.languages}")
    elif backend.name == "lexicon":
        parts.append(
            "nothing learnt; its French entries and thresholds were chosen by reading UMSAB "
            "French and English train"
        )
    parts.append(
        f"scored once on these {n} labelled texts; 95% confidence interval by bootstrap over "
        "the texts (1000 resamples)"
    )
    seen = report.get("seen_in_training")
    if seen:
        parts.append(
            f"{seen} of the {n} texts were in the model's training data: on them this is a "
            "training score, not a quality figure"
        )
    return "; ".join(parts)
