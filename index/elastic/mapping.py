"""What the Elasticsearch store writes: the mapping of the mentions and their documents, and the
field types every index of the store is mapped with.

The mapping is explicit and strict (`mapping`): a document with a field it does not know is
refused, never guessed. Capabilities are detected at setup: where the cluster has the ``french``
and ``english`` analyzers (every distribution but the minimal one), ``title`` and ``text`` get
stemmed sub-fields, used for relevance and by Kibana. Matching never depends on them, so a
cluster without them selects the same mentions.

A document (`document`) is the mention as JSON (`Mention` round-trips through ``_source``, see
`from_document`) plus ``search``: the folded words and the normalised keys that the query
compiler (`index.elastic.query`) targets, and those that counts group by: ``search.cluster``
(the near-duplicate cluster, else the mention's own id, so that ``distinct="cluster"`` counts
its distinct values), ``search.entities`` (each entity's folded canonical name: its ``kb_id``,
else its text), ``search.entity_names`` (the same, each followed by `NAME_SEP` and a name it
was found under, to show the entity by) and ``search.rating`` (a review's rating out of 5,
what ``rating:`` compares).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index.elastic.query import MAX_TOKEN_CHARS, cut
from ingest.record import Mention
from ingest.text import fold, tokenize

SCHEMA_VERSION = 4
"""Bump it with any change to `mapping`: setup then migrates to a new index. (2: the keys of
entities and clusters; 3: reviews' ratings; 4: mentions without a date.)"""

NAME_SEP = "\x1f"

KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 1024}
LONG_KEYWORD: dict[str, Any] = {"type": "keyword", "ignore_above": 8191}
UNINDEXED: dict[str, Any] = {"type": "keyword", "index": False, "doc_values": False}
LONG: dict[str, Any] = {"type": "long"}
DOUBLE: dict[str, Any] = {"type": "double"}
DATE: dict[str, Any] = {"type": "date"}
_WORDS: dict[str, Any] = {"type": "text", "analyzer": "whitespace", "similarity": "BM25"}


def strict(**properties: dict[str, Any]) -> dict[str, Any]:
    """A strict mapping of these fields: a document with any other field is refused."""
    return {"dynamic": "strict", "_meta": {"owner": "veille"}, "properties": properties}


@dataclass(frozen=True)
class Capabilities:
    """What the cluster offers beyond the core, found at setup."""

    language_analyzers: bool = False


def _prose(languages: bool) -> dict[str, Any]:
    field: dict[str, Any] = {"type": "text", "analyzer": "standard"}
    if languages:
        field["fields"] = {
            "fr": {"type": "text", "analyzer": "french"},
            "en": {"type": "text", "analyzer": "english"},
        }
    return field


SEARCH_FIELDS: dict[str, dict[str, Any]] = {
    "title": _WORDS,
    "text": _WORDS,
    "lang": KEYWORD,
    "sites": KEYWORD,
    "authors": KEYWORD,
    "author": KEYWORD,
    "source": KEYWORD,
    "brands": KEYWORD,
    "sentiment": KEYWORD,
    "cluster": KEYWORD,
    "entities": KEYWORD,
    "entity_names": KEYWORD,
    "rating": DOUBLE,
    "undated": {"type": "boolean"},
}
"""The ``search`` keys of a document (see the module's docstring; ``undated``: `document`)."""
SEARCH_UNREAD = [f"search.{key}" for key in SEARCH_FIELDS if key != "undated"]
"""What reading a mention back leaves out of its document: all of ``search`` that
`stored_fields` does not need."""


def mapping(capabilities: Capabilities) -> dict[str, Any]:
    """The strict mapping: every field of `Mention`, typed, plus the ``search`` keys."""

    def obj(**properties: dict[str, Any]) -> dict[str, Any]:
        return {"properties": properties}

    long = {"type": "long"}
    date = {"type": "date"}
    score = {"type": "float"}
    prose = _prose(capabilities.language_analyzers)
    return {
        "dynamic": "strict",
        "_meta": {"schema_version": SCHEMA_VERSION, "owner": "veille"},
        "properties": {
            "id": KEYWORD,
            "source": obj(kind=KEYWORD, name=KEYWORD),
            "url": {**KEYWORD, "ignore_above": 4096},
            "site": KEYWORD,
            "title": prose,
            "text": prose,
            "author": obj(name=KEYWORD, handle=KEYWORD, url=UNINDEXED, followers=long),
            "published": date,
            "fetched": date,
            "thread": obj(id=KEYWORD, title=prose, url=UNINDEXED, position=long),
            "parent": KEYWORD,
            "engagement": obj(likes=long, shares=long, replies=long, views=long),
            "lang": KEYWORD,
            "rating": obj(
                value=DOUBLE, best=DOUBLE, worst=DOUBLE, item=KEYWORD, average=DOUBLE, count=long
            ),
            "enrichment": obj(
                brands=KEYWORD,
                lang=KEYWORD,
                sentiment=obj(label=KEYWORD, score=score, confidence=score, model=KEYWORD),
                entities=obj(text=KEYWORD, label=KEYWORD, kb_id=KEYWORD),
                influence=obj(
                    author_key=LONG_KEYWORD, score=score, is_influencer={"type": "boolean"}
                ),
                cluster=KEYWORD,
                enriched=date,
            ),
            "search": obj(**SEARCH_FIELDS),
        },
    }


def _words(text: str | None) -> str:
    if not text:
        return ""
    tokens = tokenize(text)
    if max(map(len, tokens), default=0) > MAX_TOKEN_CHARS:
        tokens = [cut(t) for t in tokens]
    return " ".join(tokens)


def _suffixes(site: str) -> list[str]:
    """``news.example.com`` gives itself, ``example.com`` and ``com``: ``site:`` matches a site
    and its subdomains."""
    parts = site.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def document(mention: Mention) -> dict[str, Any]:
    """What is stored for ``mention``: the record itself and its ``search`` keys."""
    doc = mention.model_dump(mode="json", exclude_none=True)
    author = mention.author
    authors = {fold(v) for v in (author.name, author.handle) if v} if author else set()
    enrichment = mention.enrichment
    sentiment = enrichment.sentiment.label if enrichment and enrichment.sentiment else "unknown"
    names = {
        (fold(name), name)
        for e in (enrichment.entities if enrichment else ())
        if fold(name := e.kb_id or e.text)
    }
    search = {
        "title": _words(mention.heading),
        "text": _words(mention.text),
        "lang": mention.effective_lang,
        "sites": _suffixes(mention.site),
        "authors": sorted(a for a in authors if a),
        "author": author.display if author and author.display else None,
        "source": fold(mention.source.name),
        "brands": [b.lower() for b in enrichment.brands] if enrichment else [],
        "sentiment": sentiment,
        "cluster": enrichment.cluster if enrichment and enrichment.cluster else mention.id,
        "entities": sorted({key for key, _ in names}),
        "entity_names": sorted(f"{key}{NAME_SEP}{name}" for key, name in names),
        "rating": mention.rating.stars if mention.rating else None,
    }
    if mention.published is None:
        # Dates, sorts, histograms and Kibana's time field read ``published``: a mention
        # without a date is stored at when it was first seen, and says it has none.
        doc["published"] = doc["fetched"]
        search["undated"] = True
    doc["search"] = {k: v for k, v in search.items() if v is not None}
    return doc


def stored_fields(source: dict[str, Any]) -> dict[str, Any]:
    """The fields of the mention a document stores (its ``_source``, whole or without
    `SEARCH_UNREAD`): without ``search``, and without the ``published`` that
    `document` gave a mention without a date."""
    search = source.pop("search", None) or {}
    if search.get("undated"):
        source.pop("published", None)
    return source


def from_document(source: dict[str, Any]) -> Mention:
    """The mention a document stores (its ``_source``)."""
    return Mention.model_validate(stored_fields(source))
