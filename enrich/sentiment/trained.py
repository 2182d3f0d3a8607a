"""The trained sentiment backend: a classifier learnt from labelled texts (scikit-learn).

Veille ships one, built from the UMSAB train sets in eight languages by ``python -m
enrich.sentiment.build`` (`enrich.sentiment.build`): it is the default backend
(``enrich.sentiment: {backend: trained}`` with no ``model``). ``veille sentiment train --data
labeled.jsonl`` learns another from an analyst's labels (`enrich.sentiment.evaluate.load_labeled`:
later corrections replace earlier labels); ``model: PATH`` uses it.

Two levels (stacking), all offline, per language:

1. the text model: a logistic regression on word 1-2-grams (emoji are words; with
   `Params.negation`, the words after a negator marked by
   `enrich.sentiment.features.mark_negation`) and character 2-5-grams within
   words (TF-IDF, sublinear, the most frequent `Params.words` and `Params.chars` kept), on the
   text with its URLs and @handles replaced by placeholders. It learns the vocabulary of the
   labelled domain, misspellings and hashtags included;
2. the final model: a logistic regression on the text model's class probabilities, the lexicon
   backend's scores (`enrich.sentiment.lexicon`: the compound score in the text's language, its
   positive and negative parts, the French and English scores), VADER's shares of negative,
   neutral and positive words, and the complaint cues
   (`enrich.sentiment.features.complaint_cues`). The lexicons and their rules know words the
   labelled data is too small to teach; the final model learns how far to trust each side.

The final model is fitted on out-of-fold probabilities of the text model (`Params.folds`
folds), so it learns how good the text model is on texts it has not seen; then the text model
is refitted on everything.

Each language with at least `Params.min_examples` examples, and not in `Params.shared`, gets its
own pair of models; one more pair, learnt from every example, serves the other languages and
``und``. Then one rule: a text
with a complaint cue ("still waiting for a reply", "toujours pas de réponse") that the model does
not find clearly positive (probability of positive below 0.5) is negative; tweets rarely
complain to a brand, so the labelled benchmarks cannot teach it (see the README for what it
costs on them).

Class probabilities give the label; below ``min_confidence`` the label is neutral.

The model file (``.npz``, numpy arrays without pickles, so loading one runs no code) holds the
vocabularies, IDF weights and coefficients, and what the model was made from (format version,
model version, creation time, parameters, examples per label and language, scikit-learn and
lexicon versions, and a hash of each training text, so that `enrich.sentiment.evaluate` can say
when an evaluation set overlaps the training data).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack

from enrich.sentiment import LABELS, from_probabilities
from enrich.sentiment.evaluate import Labeled, text_hash
from enrich.sentiment.features import VERSION as FEATURES_VERSION
from enrich.sentiment.features import complaint_cues, mark_negation, prepare
from enrich.sentiment.lexicon import VERSION as LEXICON_VERSION
from enrich.sentiment.lexicon import LexiconSentiment
from ingest.errors import ConfigError
from ingest.record import Sentiment, SentimentLabel

log = logging.getLogger(__name__)

FORMAT = 3
ANY = "*"
"""The key of the models that serve languages without models of their own."""
_WORD_TOKENS = r"(?u)\b\w\w+\b|[\U0001F000-\U0001FAFF\u2600-\u27BF]"
_CLEARLY_POSITIVE = 0.5
"""The probability of positive from which a complaint cue does not make a text negative."""

Array = np.ndarray[Any, np.dtype[np.float64]]


def default_model_path() -> Path:
    """The model shipped with Veille (`enrich.sentiment.build` makes it)."""
    return Path(str(resources.files("enrich.sentiment") / "models" / "default.npz"))


@dataclass(frozen=True)
class Params:
    """How a model is learnt. The defaults are what the inner folds of nested cross-validation
    chose on the whole UMSAB French and English train sets (``python -m bench.sentiment_cv``),
    and the choice most outer folds made too (C=0.5 in 8 of 10)."""

    c: float = 0.5
    """The text model's inverse regularisation strength."""
    negation: bool = False
    """Mark the words after a negator (``NEG_good``). Cross-validation chose it in 5 of 10 outer
    folds and not on the whole train sets: the lexicon features already read negation."""
    words: int = 20_000
    chars: int = 30_000
    folds: int = 5
    """Folds for the text model's out-of-fold probabilities."""
    min_examples: int = 200
    """Examples a language needs to get models of its own."""
    shared: tuple[str, ...] = ("hi",)
    """Languages served by the models learnt from every language rather than by their own: on
    UMSAB Hindi train (mostly Hinglish in Latin script), 3-fold cross-validation gives 38.9
    macro-F1 with the shared models against 37.8 with its own (both near chance)."""
    seed: int = 0


def _words_view(text: str, negation: bool) -> str:
    prepared = prepare(text)
    return mark_negation(prepared) if negation else prepared.lower()


def _vectorizers(params: Params, vocabularies: tuple[Any, Any] = (None, None)) -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    words = TfidfVectorizer(
        ngram_range=(1, 2), min_df=2, sublinear_tf=True, token_pattern=_WORD_TOKENS,
        max_features=params.words, vocabulary=vocabularies[0], dtype=np.float32,
    )  # fmt: skip
    chars = TfidfVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
        max_features=params.chars, vocabulary=vocabularies[1], dtype=np.float32,
    )  # fmt: skip
    return words, chars


class TextModel:
    """Word and character n-grams (TF-IDF) and a logistic regression on them."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.words, self.chars = _vectorizers(params)
        self.model: Any = None

    def _matrix(self, texts: Sequence[str], fit: bool) -> csr_matrix:
        words = [_words_view(t, self.params.negation) for t in texts]
        chars = [prepare(t) for t in texts]
        if fit:
            return hstack(
                [self.words.fit_transform(words), self.chars.fit_transform(chars)]
            ).tocsr()
        return hstack([self.words.transform(words), self.chars.transform(chars)]).tocsr()

    def fit_oof(self, texts: Sequence[str], gold: np.ndarray[Any, Any]) -> Array:
        """Fit on everything; return the out-of-fold class probabilities (in `LABELS` order)."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        matrix = self._matrix(texts, fit=True)
        self.model = LogisticRegression(C=self.params.c, max_iter=3000)
        smallest = min(Counter(gold.tolist()).values())
        folds = StratifiedKFold(
            max(2, min(self.params.folds, smallest)), shuffle=True, random_state=self.params.seed
        )
        unseen = cross_val_predict(self.model, matrix, gold, cv=folds, method="predict_proba")
        self.model.fit(matrix, gold)
        return _in_label_order(unseen, list(self.model.classes_))

    def probabilities(self, texts: Sequence[str]) -> Array:
        matrix = self._matrix(texts, fit=False)
        return _in_label_order(self.model.predict_proba(matrix), list(self.model.classes_))


def _in_label_order(matrix: Any, classes: list[str]) -> Array:
    out = np.zeros((matrix.shape[0], len(LABELS)))
    for j, label in enumerate(classes):
        out[:, LABELS.index(label)] = matrix[:, j]
    return out


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def _vader_scores(text: str) -> list[float]:
    scores = _vader().polarity_scores(text)
    return [scores["neg"], scores["neu"], scores["pos"], scores["compound"]]


def side_features(lexicon: LexiconSentiment, texts: Sequence[str], langs: Sequence[str]) -> Array:
    """The lexicon's scores, whether the text is French, VADER's own scores (its shares of
    negative, neutral and positive words tell the final model more than Veille's compound
    alone: +2 macro-F1 in English by cross-validation, nothing elsewhere), and the complaint
    cues."""
    rows = [
        [*lexicon.features(t, lang), float(lang == "fr"), *_vader_scores(t), *complaint_cues(t)]
        for t, lang in zip(texts, langs, strict=True)
    ]
    return np.array(rows, dtype=np.float64).reshape(len(texts), -1)


@dataclass
class Pair:
    """One language's text model and final model."""

    text: TextModel
    final: Any


@dataclass
class TrainedModel:
    pairs: dict[str, Pair]
    params: Params
    version: str
    created: datetime
    examples: dict[str, int]
    languages: dict[str, int]
    info: dict[str, str] = field(default_factory=dict)
    seen: frozenset[int] = frozenset()
    """Hashes of the training texts (`text_hash`)."""
    complaint_rule: bool = True

    def __post_init__(self) -> None:
        self.lexicon = LexiconSentiment()

    @property
    def name(self) -> str:
        return f"trained@{self.version}"

    def probabilities(
        self, texts: Sequence[str], langs: Sequence[str]
    ) -> list[dict[SentimentLabel, float]]:
        out: list[dict[SentimentLabel, float]] = [{} for _ in texts]
        groups: dict[str, list[int]] = {}
        for i, lang in enumerate(langs):
            groups.setdefault(lang if lang in self.pairs else ANY, []).append(i)
        for key, indices in groups.items():
            pair = self.pairs[key]
            chunk = [texts[i] for i in indices]
            chunk_langs = [langs[i] for i in indices]
            side = side_features(self.lexicon, chunk, chunk_langs)
            final = np.hstack([pair.text.probabilities(chunk), side])
            matrix = _in_label_order(pair.final.predict_proba(final), list(pair.final.classes_))
            for row, i in zip(matrix, indices, strict=True):
                probabilities = {lab: float(row[j]) for j, lab in enumerate(LABELS)}
                if (
                    self.complaint_rule
                    and probabilities["positive"] < _CLEARLY_POSITIVE
                    and any(complaint_cues(texts[i]))
                ):
                    probabilities = _as_negative(probabilities)
                out[i] = probabilities
        return out


def _as_negative(probabilities: dict[SentimentLabel, float]) -> dict[SentimentLabel, float]:
    """The same probabilities with the likeliest label's and negative's swapped."""
    top = max(LABELS, key=lambda lab: probabilities[lab])
    swapped = dict(probabilities)
    swapped["negative"], swapped[top] = probabilities[top], probabilities["negative"]
    return swapped


def _fit_pair(
    params: Params, texts: Sequence[str], langs: Sequence[str], gold: np.ndarray[Any, Any]
) -> Pair:
    from sklearn.linear_model import LogisticRegression

    text = TextModel(params)
    unseen = text.fit_oof(texts, gold)
    final = LogisticRegression(C=1.0, max_iter=3000)
    final.fit(np.hstack([unseen, side_features(LexiconSentiment(), texts, langs)]), gold)
    return Pair(text, final)


def train(
    examples: Sequence[Labeled], params: Params | None = None, *, complaint_rule: bool = True
) -> TrainedModel:
    """Fit a model on ``examples``: at least 10, with at least 2 labels of 2 examples each."""
    params = params or Params()
    labels = Counter(e.label for e in examples)
    if len(examples) < 10 or len(labels) < 2 or min(labels.values()) < 2:
        raise ConfigError(
            f"training needs at least 10 examples, and at least 2 of each of at least 2 labels; "
            f"got {len(examples)} "
            f"({', '.join(f'{k}: {v}' for k, v in sorted(labels.items())) or 'none'})"
        )
    languages = Counter(e.lang for e in examples)
    pairs: dict[str, Pair] = {}
    for lang, n in sorted(languages.items()):
        own = [e for e in examples if e.lang == lang]
        counts = Counter(e.label for e in own)
        if (
            lang == "und"
            or lang in params.shared
            or n < params.min_examples
            or len(counts) < 2
            or min(counts.values()) < 2
        ):
            continue
        pairs[lang] = _fit_pair(
            params, [e.text for e in own], [e.lang for e in own], np.array([e.label for e in own])
        )
    if len(pairs) != 1 or len(languages) > 1:
        # A model for every other language, unless one language is all there is.
        pairs[ANY] = _fit_pair(
            params,
            [e.text for e in examples],
            [e.lang for e in examples],
            np.array([e.label for e in examples]),
        )
    else:
        pairs[ANY] = next(iter(pairs.values()))
    digest = hashlib.sha256()
    for e in examples:
        digest.update(f"{e.lang}\x00{e.label}\x00{e.text}\x01".encode())
    digest.update(
        f"{json.dumps(asdict(params), sort_keys=True)};rule={complaint_rule};format={FORMAT};"
        f"lexicon={LEXICON_VERSION};features={FEATURES_VERSION}".encode()
    )
    import sklearn

    return TrainedModel(
        pairs=pairs,
        params=params,
        version=digest.hexdigest()[:12],
        created=datetime.now(UTC),
        examples={lab: labels.get(lab, 0) for lab in LABELS},
        languages=dict(languages.most_common()),
        info={
            "sklearn": sklearn.__version__,
            "lexicon": LEXICON_VERSION,
            "features": FEATURES_VERSION,
        },
        seen=frozenset(text_hash(e.text) for e in examples),
        complaint_rule=complaint_rule,
    )


# -- the model file ---------------------------------------------------------------------------


def _vocabulary_array(vectorizer: Any) -> np.ndarray[Any, Any]:
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    return np.frombuffer("\n".join(terms).encode(), dtype=np.uint8)


def _vocabulary(array: np.ndarray[Any, Any]) -> dict[str, int]:
    terms = bytes(array).decode().split("\n") if array.size else []
    return {term: i for i, term in enumerate(terms)}


def _logistic(coef: Any, intercept: Any, classes: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.coef_ = np.asarray(coef, dtype=np.float64)
    model.intercept_ = np.asarray(intercept, dtype=np.float64)
    model.classes_ = np.array([str(c) for c in classes])
    return model


def save(model: TrainedModel, path: Path) -> Path:
    """Write ``model`` to ``path``; a directory (or a path without a file extension) gets
    ``sentiment-<version>.npz``."""
    if path.is_dir() or not path.suffix:
        path = path / f"sentiment-{model.version}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    for key, pair in model.pairs.items():
        text = pair.text
        arrays[f"{key}/words"] = _vocabulary_array(text.words)
        arrays[f"{key}/words_idf"] = text.words.idf_.astype(np.float32)
        arrays[f"{key}/chars"] = _vocabulary_array(text.chars)
        arrays[f"{key}/chars_idf"] = text.chars.idf_.astype(np.float32)
        arrays[f"{key}/text_coef"] = text.model.coef_.astype(np.float16)
        arrays[f"{key}/text_intercept"] = text.model.intercept_
        arrays[f"{key}/text_classes"] = np.array(text.model.classes_, dtype="U8")
        arrays[f"{key}/final_coef"] = pair.final.coef_
        arrays[f"{key}/final_intercept"] = pair.final.intercept_
        arrays[f"{key}/final_classes"] = np.array(pair.final.classes_, dtype="U8")
    arrays["seen"] = np.array(sorted(model.seen), dtype=np.int64)
    meta = {
        "format": FORMAT,
        "version": model.version,
        "created": model.created.isoformat(),
        "params": asdict(model.params),
        "examples": model.examples,
        "languages": model.languages,
        "info": model.info,
        "pairs": list(model.pairs),
        "complaint_rule": model.complaint_rule,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)  # type: ignore[arg-type]
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)  # atomic: a worker never reads half a file
    return path


def load(path: Path) -> TrainedModel:
    """Read a model file written by `save`; no code runs (no pickles)."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ConfigError(
            f"sentiment model {path} not found; train one with 'veille sentiment train'"
        ) from None
    except ValueError as exc:
        if path.suffix == ".joblib":  # format 2, a pickle, before Veille shipped a model
            raise ConfigError(
                f"{path} is a sentiment model of an earlier Veille (a pickle, format 2); this "
                f"Veille reads format {FORMAT}: train it again with 'veille sentiment train'"
            ) from None
        raise ConfigError(f"{path} is not a Veille sentiment model: {exc}") from None
    except Exception as exc:
        raise ConfigError(f"{path} is not a Veille sentiment model: {exc}") from None
    try:
        with data:
            meta = json.loads(bytes(data["meta"]).decode())
            if meta.get("format") != FORMAT:
                raise ConfigError(
                    f"{path} is a Veille sentiment model of format {meta.get('format')}, "
                    f"this Veille reads format {FORMAT}: train it again"
                )
            params = Params(**{**meta["params"], "shared": tuple(meta["params"]["shared"])})
            pairs = {}
            for key in meta["pairs"]:
                text = TextModel(params)
                vocabularies = (
                    _vocabulary(data[f"{key}/words"]),
                    _vocabulary(data[f"{key}/chars"]),
                )
                text.words, text.chars = _vectorizers(params, vocabularies)
                text.words.idf_ = data[f"{key}/words_idf"].astype(np.float64)
                text.chars.idf_ = data[f"{key}/chars_idf"].astype(np.float64)
                text.model = _logistic(
                    data[f"{key}/text_coef"], data[f"{key}/text_intercept"],
                    data[f"{key}/text_classes"],
                )  # fmt: skip
                final = _logistic(
                    data[f"{key}/final_coef"], data[f"{key}/final_intercept"],
                    data[f"{key}/final_classes"],
                )  # fmt: skip
                pairs[key] = Pair(text, final)
            seen = frozenset(int(h) for h in data["seen"])
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{path} is not a Veille sentiment model: {exc!r}") from None
    model = TrainedModel(
        pairs=pairs,
        params=params,
        version=meta["version"],
        created=datetime.fromisoformat(meta["created"]),
        examples=meta["examples"],
        languages=meta["languages"],
        info=meta["info"],
        seen=seen,
        complaint_rule=meta["complaint_rule"],
    )
    for part, version in (("lexicon", LEXICON_VERSION), ("features", FEATURES_VERSION)):
        if model.info.get(part) != version:
            log.warning(
                "sentiment model %s was trained with %s version %s, this is %s: train it again",
                path,
                part,
                model.info.get(part),
                version,
            )
    return model


class TrainedSentiment:
    """The trained backend: the shipped model, or a model file from ``veille sentiment
    train``."""

    name = "trained"

    def __init__(self, path: Path | str | None = None, *, min_confidence: float = 0.0) -> None:
        self.path = Path(path) if path is not None else default_model_path()
        self.shipped = path is None
        self.model = load(self.path)
        self.min_confidence = min_confidence

    def score(self, texts: Sequence[str], langs: Sequence[str]) -> list[Sentiment]:
        return [
            from_probabilities(p, min_confidence=self.min_confidence, model=self.model.name)
            for p in self.model.probabilities(texts, langs)
        ]
