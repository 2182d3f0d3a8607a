"""Labelled texts, and how well a backend agrees with them.

A labelled file holds one JSON object per line: ``{"text", "label", "lang"}``, label one of
negative, neutral, positive, with an optional ``id`` (the mention id, when an analyst labelled
or corrected a stored mention). Later lines win: a correction made later replaces the earlier
label of the same mention (same ``id``, else same text). A line that is not such an object is
reported with its line number and skipped; the others are kept.

`evaluate` reports what the UMSAB and TweetEval benchmarks report: macro-F1 (UMSAB's metric),
macro-recall (TweetEval's), accuracy, per-class precision, recall and F1, and the confusion
matrix (rows: gold label; columns: predicted).
"""

from __future__ import annotations

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


def evaluate(
    backend: SentimentBackend, examples: Sequence[Labeled], *, batch_size: int = 256
) -> dict[str, Any]:
    """Score ``examples`` with ``backend`` and compare with their labels."""
    predicted: list[str] = []
    models: Counter[str] = Counter()
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        for verdict in backend.score([e.text for e in chunk], [e.lang for e in chunk]):
            predicted.append(verdict.label)
            models[verdict.model] += 1
    report = metrics([e.label for e in examples], predicted)
    report["backend"] = backend.name
    report["models"] = dict(models)
    return report
