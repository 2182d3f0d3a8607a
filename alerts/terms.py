"""Emerging terms: the words that are suddenly frequent in a brand's negative mentions.

`terms_of` gives the words a mention counts for: folded tokens (`ingest.text`, so French and
English words match the way queries do), without stop words, numbers and very short tokens.
`emerging` compares how many recent negative mentions contain each word with how many of the
brand's mentions contained it before (a binomial tail, like the spike detector's scores), so
"panne" stands out during an outage while the brand's own name, always there, does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from alerts.stats import log_betainc
from ingest.record import Mention
from ingest.text import is_term, tokenize

_LN10 = 2.302585092994046


def terms_of(mention: Mention) -> set[str]:
    """The distinct words a mention counts for."""
    text = f"{mention.title or ''} {mention.text}"
    return {t for t in tokenize(text) if is_term(t)}


@dataclass(frozen=True)
class Term:
    """A word that came up more than usual, and how much."""

    term: str
    count: int
    """Recent negative mentions containing it."""
    docs: int
    """How many recent negative mentions there were."""
    share: float
    """Its share of the recent negative mentions."""
    baseline: float
    """Its share of the brand's mentions before."""
    score: float
    """-log10 of the probability of at least ``count`` at the baseline share."""


def binomial_log10_sf(k: int, n: int, p: float) -> float:
    """log10 P(X >= k) for X binomial(n, p)."""
    if k <= 0:
        return 0.0
    if k > n:
        return -300.0
    return log_betainc(k, n - k + 1, p) / _LN10


def emerging(
    recent: Mapping[str, int],
    recent_docs: int,
    baseline: Mapping[str, int],
    baseline_docs: int,
    *,
    min_count: int = 3,
    threshold: float = 3.0,
    limit: int = 10,
) -> list[Term]:
    """Words in ``recent`` (counts over ``recent_docs`` negative mentions) that are unusual
    against ``baseline`` (counts over ``baseline_docs`` mentions before), most unusual first."""
    out = []
    for term, count in recent.items():
        if count < min_count:
            continue
        # Add-one smoothing: a word never seen before has a small baseline, not zero.
        share_before = (baseline.get(term, 0) + 1) / (baseline_docs + 2)
        score = -binomial_log10_sf(count, recent_docs, share_before)
        if score >= threshold:
            out.append(
                Term(term, count, recent_docs, count / max(1, recent_docs), share_before, score)
            )
    out.sort(key=lambda t: (-t.score, t.term))
    return out[:limit]


def count_terms(mentions: Iterable[Mention]) -> dict[str, int]:
    """How many of ``mentions`` contain each word."""
    counts: dict[str, int] = {}
    for mention in mentions:
        for term in terms_of(mention):
            counts[term] = counts.get(term, 0) + 1
    return counts
