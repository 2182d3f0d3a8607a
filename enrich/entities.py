"""Named entities: spaCy's statistical NER where a model is installed (French:
``fr_core_news_md``), and, in every language, an entity ruler built from the configured brands.

The ruler knows each brand's name and aliases (label ``BRAND``), products (``PRODUCT``),
competitors (``COMPETITOR``) and people (``PERSON``), case- and accent-insensitively; each such
entity carries the configured name as its ``kb_id`` (the brand's name for an alias), so "velora
city" and "Velora City", or "Lumen" and "Lumen Télécom", aggregate as one. The ruler runs
before the statistical NER, which therefore never relabels them. spaCy's French labels are
kept except ``PER``, renamed ``PERSON`` to match the ruler's.

Loading a model takes seconds, so each pipeline is loaded once per worker, on first use, with
only the components NER needs; texts are processed in batches (``nlp.pipe``).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ingest.errors import ConfigError
from ingest.record import Entity
from ingest.settings import Brand
from ingest.text import fold

if TYPE_CHECKING:
    from spacy.language import Language

log = logging.getLogger(__name__)

# What spaCy NER does not need; excluded for speed (the md models' NER has its own tok2vec).
_UNUSED = [
    "tok2vec", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter", "tagger"
]  # fmt: skip
_LABELS = {"PER": "PERSON"}
_FALLBACK_LANG = "xx"  # spaCy's multi-language tokenizer, for und and unlisted languages
# A token attribute for the ruler: the folded word. (Not the token's norm, which NER reads.)
_FOLDED = "veille_folded"


def ruler_patterns(brands: Sequence[Brand]) -> list[dict[str, Any]]:
    """Entity-ruler patterns for every configured name, matched on folded tokens."""
    patterns: list[dict[str, Any]] = []
    for brand in brands:
        groups = (
            ("BRAND", [(alias, brand.name) for alias in (brand.name, *brand.aliases)]),
            ("PRODUCT", [(name, name) for name in brand.products]),
            ("COMPETITOR", [(name, name) for name in brand.competitors]),
            ("PERSON", [(name, name) for name in brand.people]),
        )
        for label, names in groups:
            for name, canonical in names:
                words = fold(name).split()
                if words:
                    pattern = [{"_": {_FOLDED: w}} for w in words]
                    patterns.append({"label": label, "pattern": pattern, "id": canonical})
    return patterns


@lru_cache(maxsize=100_000)
def _fold_word(text: str) -> str:
    # Words repeat (Zipf): each distinct one is folded once per process.
    return fold(text) or text.lower()


def _folded(token: Any) -> str:
    return _fold_word(token.text)


class EntityExtractor:
    """Extract entities from a batch of texts, each with its language."""

    def __init__(
        self,
        brands: Sequence[Brand],
        models: Mapping[str, str] | None = None,
        *,
        batch_size: int = 64,
        max_chars: int = 5000,
        labels: Sequence[str] | None = None,
    ) -> None:
        self.models = dict(models or {})
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.labels = frozenset(labels) if labels else None
        self._patterns = ruler_patterns(brands)
        self._pipelines: dict[str, Language] = {}

    def pipeline(self, lang: str) -> Language:
        """The pipeline for ``lang``, loaded on first use and kept."""
        key = lang if lang in self.models else _FALLBACK_LANG
        if key not in self._pipelines:
            self._pipelines[key] = self._load(key)
        return self._pipelines[key]

    def warm_up(self) -> None:
        """Load every pipeline now rather than on first use: the configured models, and the
        ruler alone for the other languages."""
        for lang in (*self.models, _FALLBACK_LANG):
            self.pipeline(lang)

    def _load(self, key: str) -> Language:
        import spacy
        from spacy.tokens import Token

        if not Token.has_extension(_FOLDED):
            Token.set_extension(_FOLDED, getter=_folded)
        name = self.models.get(key)
        if name:
            try:
                nlp = spacy.load(name, exclude=_UNUSED)
            except OSError as exc:
                raise ConfigError(
                    f"enrich.entities.models.{key}: cannot load spaCy model '{name}' ({exc}). "
                    f"Install it (pip install {name.replace('_', '-')}) or remove it."
                ) from None
            log.info("entities: loaded spaCy model %s for %s", name, key)
        else:
            nlp = spacy.blank(key)
        ruler = nlp.add_pipe("entity_ruler", before="ner" if "ner" in nlp.pipe_names else None)
        ruler.add_patterns(self._patterns)  # type: ignore[attr-defined]
        return nlp

    def extract(self, texts: Sequence[str], langs: Sequence[str]) -> list[tuple[Entity, ...]]:
        """The entities of each text, in order of appearance, each (text, label) once."""
        out: list[tuple[Entity, ...]] = [() for _ in texts]
        by_lang: dict[str, list[int]] = defaultdict(list)
        for i, lang in enumerate(langs):
            by_lang[lang if lang in self.models else _FALLBACK_LANG].append(i)
        for lang, indexes in by_lang.items():
            nlp = self.pipeline(lang)
            docs = nlp.pipe(
                (texts[i][: self.max_chars] for i in indexes), batch_size=self.batch_size
            )
            for i, doc in zip(indexes, docs, strict=True):
                found: dict[tuple[str, str], Entity] = {}
                for ent in doc.ents:
                    label = _LABELS.get(ent.label_, ent.label_)
                    text = " ".join(ent.text.split())
                    if self.labels is not None and label not in self.labels:
                        continue
                    entity = Entity(text=text, label=label, kb_id=ent.ent_id_ or None)
                    found.setdefault((fold(text), label), entity)
                out[i] = tuple(found.values())
        return out
