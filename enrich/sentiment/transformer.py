"""The transformers sentiment backend: any local Hugging Face text-classification model.

Point ``enrich.sentiment.model`` at a directory that ``save_pretrained`` wrote (for example a
downloaded ``cardiffnlp/twitter-xlm-roberta-base-sentiment``): its config, weights and
tokenizer. Nothing is downloaded: loading is ``local_files_only``. It needs the optional extra:
``pip install 'veille[transformers]'``.

Labels: the model's own labels (``config.id2label``) are mapped to negative, neutral and
positive by ``enrich.sentiment.labels`` when given (``{"LABEL_0": negative, ...}``, or
``{"1 star": negative, "5 stars": positive, ...}``: several model labels may map to one of
ours, their probabilities add up), else by their names (``negative``, ``NEG``, ``Positive``...).

Texts are scored in batches of ``batch_size``, sorted by length so that padding stays short,
truncated to ``max_length`` tokens, on ``device``. The model's name and version go into every
verdict: the directory's name and a fingerprint of its config and weights.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from enrich.sentiment import LABELS, from_probabilities
from ingest.errors import ConfigError
from ingest.record import Sentiment, SentimentLabel

log = logging.getLogger(__name__)

_BY_NAME: dict[str, SentimentLabel] = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
_FINGERPRINT_BYTES = 1 << 20


def fingerprint(directory: Path) -> str:
    """A short, cheap version of a model directory: its config, and the size, head and tail of
    each weights file."""
    digest = hashlib.sha256()
    for path in sorted(directory.iterdir()):
        if path.name == "config.json":
            digest.update(path.read_bytes())
        elif path.suffix in (".safetensors", ".bin") and path.is_file():
            size = path.stat().st_size
            digest.update(f"{path.name}:{size}".encode())
            with path.open("rb") as f:
                digest.update(f.read(_FINGERPRINT_BYTES))
                f.seek(max(0, size - _FINGERPRINT_BYTES))
                digest.update(f.read())
    return digest.hexdigest()[:12]


def label_mapping(
    id2label: Mapping[int, str], labels: Mapping[str, SentimentLabel]
) -> dict[int, SentimentLabel]:
    """Each output index of the model to one of our labels."""
    out: dict[int, SentimentLabel] = {}
    unmapped = []
    for index, name in id2label.items():
        ours = labels.get(name) or _BY_NAME.get(name.strip().lower())
        if ours is None:
            unmapped.append(name)
        else:
            out[int(index)] = ours
    if unmapped:
        raise ConfigError(
            f"enrich.sentiment.labels: the model's labels {', '.join(map(repr, unmapped))} do not "
            f"say negative, neutral or positive; map each of them, for example "
            f"labels: {json.dumps(dict.fromkeys(unmapped, 'neutral'))}"
        )
    if not set(out.values()) & {"negative", "positive"}:
        raise ConfigError("enrich.sentiment.labels: no model label maps to negative or positive")
    return out


class TransformersSentiment:
    """The transformers backend (see the module docstring)."""

    name = "transformers"

    def __init__(
        self,
        path: Path | str,
        *,
        labels: Mapping[str, SentimentLabel] | None = None,
        batch_size: int = 32,
        max_length: int = 256,
        device: str = "cpu",
        min_confidence: float = 0.0,
    ) -> None:
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError:
            raise ConfigError(
                "the transformers sentiment backend needs the optional extra: "
                "pip install 'veille[transformers]'"
            ) from None
        self.path = Path(path)
        if not (self.path / "config.json").is_file():
            raise ConfigError(
                f"enrich.sentiment.model: {self.path} is not a model directory (no config.json); "
                f"point it at what save_pretrained() wrote"
            )
        self._torch = torch
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
            self.model = AutoModelForSequenceClassification.from_pretrained(
                self.path, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load the model in {self.path}: {exc}") from None
        self.model.to(device).eval()
        self.device = device
        self.batch_size = batch_size
        self.max_length = max_length
        self.min_confidence = min_confidence
        self.mapping = label_mapping(self.model.config.id2label, labels or {})
        self.model_name = f"transformers:{self.path.name}@{fingerprint(self.path)}"
        log.info("sentiment: loaded %s on %s", self.model_name, device)

    def _probabilities(self, texts: list[str]) -> list[dict[SentimentLabel, float]]:
        torch: Any = self._torch
        encoded = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            logits = self.model(**encoded).logits
        rows = torch.softmax(logits.float(), dim=-1).cpu().tolist()
        out: list[dict[SentimentLabel, float]] = []
        for row in rows:
            probabilities = dict.fromkeys(LABELS, 0.0)
            for index, p in enumerate(row):
                if index in self.mapping:
                    probabilities[self.mapping[index]] += p
            out.append(probabilities)
        return out

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: list[Sentiment | None] = [None] * len(texts)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            for i, probabilities in zip(
                chunk, self._probabilities([texts[i] or " " for i in chunk]), strict=True
            ):
                results[i] = from_probabilities(
                    probabilities, min_confidence=self.min_confidence, model=self.model_name
                )
        return [r for r in results if r is not None]
