"""Text folding and tokenisation shared by every path that matches words.

The query matcher in memory, the SQLite FTS5 index and the Elasticsearch analyzer must agree on
what a word is, or the same query would select different mentions. This module is that agreement:

- folding lowercases and removes diacritics, so ``Société`` and ``societe`` are one word;
- a token is a run of letters and digits (Unicode categories L* and N*); everything else,
  apostrophes, hyphens, ``@`` and ``#`` included, separates tokens. ``l'Oréal`` is the two tokens
  ``l oreal``, ``#Acme`` is ``acme``.

Stores index the folded tokens joined by single spaces (`index_text`), so their own tokenizers
only ever split on spaces and cannot disagree with this module. (SQLite gives FTS5 a text all in
ASCII as it is, since FTS5 cuts ASCII exactly so: `index.sqlite.schema.index_input`.)
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_TOKEN = re.compile(r"[^\W_]+")


@lru_cache(maxsize=200_000)
def _fold_token(token: str) -> str:
    # Words repeat (Zipf), so folding each distinct word once is far cheaper than folding text.
    decomposed = unicodedata.normalize("NFD", token)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text: str) -> list[str]:
    """The folded tokens of ``text``, in order."""
    lowered = text.lower()
    if lowered.isascii():
        return _TOKEN.findall(lowered)
    # NFC first, so an accent typed as a separate combining mark stays inside its word.
    lowered = unicodedata.normalize("NFC", lowered.replace("i\u0307", "i"))
    return [t if t.isascii() else _fold_token(t) for t in _TOKEN.findall(lowered)]


def index_text(text: str | None) -> str:
    """The folded tokens joined by spaces: what stores put in their full-text index."""
    if not text:
        return ""
    return " ".join(tokenize(text))


@lru_cache(maxsize=65_536)
def fold(text: str) -> str:
    """Lowercase, strip diacritics and punctuation: ``"Élan-Société"`` gives ``"elan societe"``.

    Used for exact-value fields (author, source, entity) so that they compare like words do.
    Those values repeat from one mention to the next (a source's name, a prolific author), so
    each distinct one is folded once.
    """
    return index_text(text)


STOP_WORDS = frozenset(
    """
    les des une est que qui pas pour par sur avec dans mais ont son ses aux ces cette tout tous
    plus moins tres comme elle elles ils nous vous leur leurs mon mes ton tes notre nos votre vos
    sont etait etre avoir fait faire depuis encore alors aussi bien deja rien quand donc car
    quoi dont entre sans sous chez vers avant apres meme peu trop ici cela ceci celui celle
    the and for are was were with that this from have has had not but you your our they them
    their its his her she him who what when where which will would can could just about into
    than then there here been being also only very more most some any all out get got
    http https www com html
    """.split()
)
"""Folded French and English words too common to say anything about a brand."""


def is_term(token: str) -> bool:
    """Whether a folded token can be a term worth showing: three letters or more, not a number,
    not a stop word."""
    return len(token) >= 3 and not token.isdigit() and token not in STOP_WORDS
