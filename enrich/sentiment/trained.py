"""The trained sentiment backend: a classifier learnt from labelled mentions (scikit-learn).

``veille sentiment train --data labeled.jsonl`` learns from an analyst's labels (see
`enrich.sentiment.evaluate.load_labeled`: later corrections replace earlier labels) and writes a
model file; ``enrich.sentiment: {backend: trained, model: PATH}`` uses it.

Two levels (stacking), all offline:

1. the text model: a logistic regression on word 1-2-grams and character 2-5-grams within words
   (TF-IDF, sublinear), on the text with its URLs and @handles replaced by placeholders. It
   learns the vocabulary of the labelled domain, misspellings and hashtags included, in every
   language of the training data;
2. the final model: a logistic regression on the text model's class probabilities and on the
   lexicon backend's scores (`enrich.sentiment.lexicon`: the compound score in the text's
   language, its positive and negative parts, the French and English scores) and the language.
   The lexicons and their rules (negation, intensifiers, emoji) know words that the labelled
   data is too small to teach; the final model learns how far to trust each side.

The final model is fitted on out-of-fold probabilities of the text model (five folds), so it
learns how good the text model is on texts it has not seen, then the text model is refitted on
everything. On UMSAB this beats either level alone (see the README for the figures).

Class probabilities give the label; below ``min_confidence`` the label is neutral.

The model file is a joblib pickle holding the fitted models and what they were made from
(format version, model version, creation time, examples per label and language, scikit-learn
and lexicon versions). Like any pickle, load only model files you made or trust.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack

from enrich.sentiment import LABELS, from_probabilities
from enrich.sentiment.evaluate import Labeled
from enrich.sentiment.lexicon import VERSION as LEXICON_VERSION
from enrich.sentiment.lexicon import LexiconSentiment
from ingest.errors import ConfigError
from ingest.record import Sentiment, SentimentLabel

log = logging.getLogger(__name__)

FORMAT = 2
FOLDS = 5
_URL = re.compile(r"https?://\S+|\bwww\.\S+|\bhttp\b")
_HANDLE = re.compile(r"@\w+")


def _prepare(text: str) -> str:
    return _HANDLE.sub("@user", _URL.sub(" http ", text))


class TextFeatures:
    """Word and character n-grams (TF-IDF) of a text."""

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.words = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
            max_features=300_000,
        )  # fmt: skip

    def fit_transform(self, texts: Sequence[str]) -> csr_matrix:
        prepared = [_prepare(t) for t in texts]
        words, chars = self.words.fit_transform(prepared), self.chars.fit_transform(prepared)
        return hstack([words, chars]).tocsr()

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        prepared = [_prepare(t) for t in texts]
        return hstack([self.words.transform(prepared), self.chars.transform(prepared)]).tocsr()


def lexicon_features(
    lexicon: LexiconSentiment, texts: Sequence[str], langs: Sequence[str]
) -> np.ndarray[Any, np.dtype[np.float64]]:
    rows = [
        [*lexicon.features(t, lang), float(lang == "fr")]
        for t, lang in zip(texts, langs, strict=True)
    ]
    return np.array(rows, dtype=np.float64).reshape(len(texts), -1)


@dataclass
class TrainedModel:
    text: TextFeatures
    text_model: Any
    final_model: Any
    version: str
    created: datetime
    examples: dict[str, int]
    languages: dict[str, int]
    info: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lexicon = LexiconSentiment()

    def __getstate__(self) -> dict[str, Any]:
        # The lexicons are code and data of this version of Veille, not of the model file.
        return {k: v for k, v in self.__dict__.items() if k != "lexicon"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lexicon = LexiconSentiment()

    @property
    def name(self) -> str:
        return f"trained@{self.version}"

    def probabilities(
        self, texts: Sequence[str], langs: Sequence[str]
    ) -> list[dict[SentimentLabel, float]]:
        if not texts:
            return []
        text_probabilities = self.text_model.predict_proba(self.text.transform(texts))
        final = np.hstack([text_probabilities, lexicon_features(self.lexicon, texts, langs)])
        matrix = self.final_model.predict_proba(final)
        classes = list(self.final_model.classes_)
        return [{lab: float(row[classes.index(lab)]) for lab in classes} for row in matrix]


def train(examples: Sequence[Labeled], *, c: float = 2.0) -> TrainedModel:
    """Fit a model on ``examples``: at least 10, with at least 2 labels of 2 examples each."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    labels = Counter(e.label for e in examples)
    if len(examples) < 10 or len(labels) < 2 or min(labels.values()) < 2:
        raise ConfigError(
            f"training needs at least 10 examples, and at least 2 of each of at least 2 labels; "
            f"got {len(examples)} "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(labels.items())) or 'none'})"
        )
    texts = [e.text for e in examples]
    langs = [e.lang for e in examples]
    gold = np.array([e.label for e in examples])
    text = TextFeatures()
    matrix = text.fit_transform(texts)
    text_model = LogisticRegression(C=c, max_iter=3000)
    folds = StratifiedKFold(min(FOLDS, *labels.values()), shuffle=True, random_state=0)
    unseen = cross_val_predict(text_model, matrix, gold, cv=folds, method="predict_proba")
    text_model.fit(matrix, gold)
    lexicon = LexiconSentiment()
    final_model = LogisticRegression(C=1.0, max_iter=3000)
    final_model.fit(np.hstack([unseen, lexicon_features(lexicon, texts, langs)]), gold)
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.lang}\x00{e.label}\x00{e.text}\x01".encode())
    digest.update(f"C={c};format={FORMAT};lexicon={LEXICON_VERSION}".encode())
    import sklearn

    return TrainedModel(
        text=text,
        text_model=text_model,
        final_model=final_model,
        version=digest.hexdigest()[:12],
        created=datetime.now(UTC),
        examples={lab: labels.get(lab, 0) for lab in LABELS},
        languages=dict(Counter(langs).most_common()),
        info={"sklearn": sklearn.__version__, "lexicon": LEXICON_VERSION, "C": str(c)},
    )


def save(model: TrainedModel, path: Path) -> Path:
    """Write ``model`` to ``path``; a directory (or a path without a file extension) gets
    ``sentiment-<version>.joblib``."""
    import joblib

    if path.is_dir() or not path.suffix:
        path = path / f"sentiment-{model.version}.joblib"
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    joblib.dump({"format": FORMAT, "model": model}, buffer, compress=3)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)  # atomic: a worker never reads half a file
    return path


def load(path: Path) -> TrainedModel:
    import joblib

    try:
        data = joblib.load(path)
    except FileNotFoundError:
        raise ConfigError(
            f"sentiment model {path} not found; train one with 'veille sentiment train'"
        ) from None
    except Exception as exc:
        raise ConfigError(f"{path} is not a Veille sentiment model: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(
            f"{path} is not a Veille sentiment model of format {FORMAT}; train it again"
        )
    model: TrainedModel = data["model"]
    if model.info.get("lexicon") != LEXICON_VERSION:
        log.warning(
            "sentiment model %s was trained with lexicon version %s, this is %s: train it again",
            path,
            model.info.get("lexicon"),
            LEXICON_VERSION,
        )
    return model


class TrainedSentiment:
    """The trained backend: a model file from ``veille sentiment train``."""

    name = "trained"

    def __init__(self, path: Path | str, *, min_confidence: float = 0.0) -> None:
        self.model = load(Path(path))
        self.min_confidence = min_confidence

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        return [
            from_probabilities(p, min_confidence=self.min_confidence, model=self.model.name)
            for p in self.model.probabilities(texts, langs)
        ]
