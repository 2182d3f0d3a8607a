"""Match a query tree against one mention, in memory.

Enrich uses this to decide which brands a mention is about. Its answers are the reference that the
SQLite and Elasticsearch compilers are tested against, so the semantics live here:

- words match folded tokens (`ingest.text`), in the title (`Mention.heading`: the thread's title
  for a reply without a title of its own) or the text;
- a phrase matches consecutive tokens inside one field;
- ``a NEAR/n b`` matches when at most ``n`` tokens separate an occurrence of ``a`` from one of
  ``b``, in either order, inside one field;
- ``lang:`` is the detected language, else the declared one; ``site:x`` is the site ``x`` or any
  subdomain of it; ``author:`` is the author's name or handle; ``source:`` is the source's
  name or kind. Field values compare folded.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.query.tree import And, Field, Near, Node, Not, Or, Text, compare, rating_bound
from ingest.record import Mention
from ingest.text import fold, tokenize

Span = tuple[int, int]


@dataclass(slots=True)
class _Positions:
    """Token -> positions for one field, with a sorted vocabulary for prefix lookups."""

    tokens: list[str]
    index: dict[str, list[int]]
    _vocab: list[str] | None = None

    @classmethod
    def of(cls, text: str | None) -> _Positions:
        tokens = tokenize(text) if text else []
        index: dict[str, list[int]] = defaultdict(list)
        for pos, token in enumerate(tokens):
            index[token].append(pos)
        return cls(tokens, dict(index))

    def starting_with(self, stem: str) -> Iterator[str]:
        if self._vocab is None:
            self._vocab = sorted(self.index)
        i = bisect_left(self._vocab, stem)
        while i < len(self._vocab) and self._vocab[i].startswith(stem):
            yield self._vocab[i]
            i += 1

    def spans(self, text: Text) -> list[Span]:
        """Where ``text`` occurs: (first token, last token) positions."""
        first, *rest = text.tokens
        prefix_only = text.prefix and not rest
        if prefix_only:
            starts = sorted(p for w in self.starting_with(first) for p in self.index[w])
        else:
            starts = self.index.get(first, [])
        if not rest:
            return [(p, p) for p in starts]
        last = len(rest)
        out: list[Span] = []
        for p in starts:
            end = p + last
            if end >= len(self.tokens):
                break
            ok = all(self.tokens[p + k + 1] == w for k, w in enumerate(rest[:-1]))
            tail = self.tokens[end]
            if ok and (tail.startswith(rest[-1]) if text.prefix else tail == rest[-1]):
                out.append((p, end))
        return out


@dataclass(slots=True)
class Doc:
    """A mention prepared for matching many queries: tokenised once."""

    fields: tuple[_Positions, ...]
    lang: str
    site: str
    authors: frozenset[str]
    sources: frozenset[str]
    rating: float | None = None
    """A review's rating out of 5."""
    _cache: dict[Text, bool] = field(default_factory=dict)

    @classmethod
    def of(cls, mention: Mention, lang: str | None = None) -> Doc:
        author = mention.author
        authors = {fold(v) for v in (author.name, author.handle) if v} if author else set()
        return cls(
            fields=(_Positions.of(mention.heading), _Positions.of(mention.text)),
            lang=lang or mention.effective_lang,
            site=mention.site,
            authors=frozenset(a for a in authors if a),
            sources=frozenset({fold(mention.source.name), mention.source.kind.value}),
            rating=mention.rating.stars if mention.rating else None,
        )

    def has(self, text: Text) -> bool:
        found = self._cache.get(text)
        if found is None:
            found = any(f.spans(text) for f in self.fields)
            self._cache[text] = found
        return found


def _near(doc: Doc, node: Near) -> bool:
    for f in doc.fields:
        left = [s for t in node.left for s in f.spans(t)]
        if not left:
            continue
        right = [s for t in node.right for s in f.spans(t)]
        for a_start, a_end in left:
            for b_start, b_end in right:
                gap = b_start - a_end - 1 if a_start <= b_start else a_start - b_end - 1
                if gap <= node.distance:
                    return True
    return False


def _field(doc: Doc, node: Field) -> bool:
    match node.name:
        case "lang":
            return doc.lang == node.value
        case "site":
            return doc.site == node.value or doc.site.endswith("." + node.value)
        case "author":
            return node.value in doc.authors
        case "source":
            return node.value in doc.sources
        case "rating":
            op, bound = rating_bound(node.value)
            return doc.rating is not None and compare(doc.rating, op, bound)
    return False  # pragma: no cover - FieldName is exhaustive


def matches(node: Node, doc: Doc) -> bool:
    """Whether the mention behind ``doc`` satisfies the query ``node``."""
    match node:
        case Text():
            return doc.has(node)
        case Field():
            return _field(doc, node)
        case Near():
            return _near(doc, node)
        case And():
            return all(matches(c, doc) for c in node.children)
        case Or():
            return any(matches(c, doc) for c in node.children)
        case Not():
            return not matches(node.child, doc)
    return False  # pragma: no cover
