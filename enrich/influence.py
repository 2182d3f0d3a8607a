"""Author influence: who the authors are, how far they reach, and who is an influencer.

Authors are records in the store (`ingest.store.AuthorStats`), kept current as mentions arrive:
each enriched mention tells the store what it adds to its author (`AuthorActivity`, kept by
mention id, so a redelivered mention counts once), the store aggregates, and this module scores.

Who an author is (`author_key`): names are only unique within a site (two news sites both sign
"Rédaction"), and handles within a network, so the key is ``site/handle`` or ``site/name``,
folded. A mention without an author is the site's own voice: its key is the site.

The score (see `enrich.settings.InfluenceSettings` for the weights, 1, 1, 0.5 and 1 by default):

    score = w_reach * log10(1 + reach) + w_engagement * log10(1 + engagement)
          + w_activity * log10(1 + mentions) + w_pagerank * max(0, log10(n * pagerank))

- reach: the author's follower count when the source gives it, else the audience configured
  for the site or the source (a news site's readership) for what the site publishes (not for
  comments and thread replies, which that audience does not read); the largest seen;
- engagement: likes + shares + replies, summed over the author's mentions;
- mentions: how many mentions of the watched brands the author wrote;
- pagerank: the author's PageRank in the graph of replies, thread answers and @-mentions
  between authors (`AuthorIndex.author_edges`), with damping 0.85; ``n`` is the number of authors in
  the graph, so an author who gets no more attention than average adds 0, and one that the
  others answer and cite adds up to ``log10(n)``. It is recomputed every ``pagerank_every`` when
  the graph has grown, not at every batch.

Logarithms, because reach and engagement span six orders of magnitude and each tenfold counts
the same. An author is an influencer when their score is at or above the configured percentile
of every author's score (`AuthorIndex.author_score_at`).
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from scipy.sparse import csr_matrix

from enrich.settings import InfluenceSettings
from ingest.record import Influence, Mention
from ingest.store import AuthorActivity, AuthorEdge, AuthorIndex, AuthorScore, AuthorStats
from ingest.text import fold

log = logging.getLogger(__name__)

_HANDLE = re.compile(r"(?<![\w@])@(\w{2,50})")


def _who(name: str) -> str:
    return fold(name).replace(" ", "-")


def author_key(mention: Mention) -> str:
    """``site/handle``, ``site/name``, or the site itself for an unsigned mention."""
    author = mention.author
    who = ""
    if author is not None:
        who = _who(author.handle) if author.handle else _who(author.name or "")
    return f"{mention.site}/{who}" if who else mention.site


def activity_of(
    mention: Mention, brands: Sequence[str], audiences: Mapping[str, int]
) -> AuthorActivity:
    """What ``mention`` adds to its author's record."""
    author = mention.author
    reach = author.followers if author and author.followers is not None else None
    if reach is None:
        # A site's audience reads what it publishes, not the comments and replies under it.
        reply = mention.parent is not None or (
            mention.thread is not None and (mention.thread.position or 0) > 1
        )
        reach = 0 if reply else audiences.get(mention.site, audiences.get(mention.source.name, 0))
    thread = f"{mention.site}/{mention.thread.id}" if mention.thread else None
    key = author_key(mention)
    handles = (f"{mention.site}/{_who(h)}" for h in _HANDLE.findall(mention.text))
    mentioned = tuple(dict.fromkeys(h for h in handles if h != key))
    return AuthorActivity(
        mention_id=mention.id,
        author_key=key,
        site=mention.site,
        published=mention.when,
        name=author.name if author else None,
        handle=author.handle if author else None,
        url=author.url if author else None,
        reach=reach,
        engagement=mention.engagement.total,
        brands=tuple(brands),
        parent=mention.parent,
        thread=thread,
        position=mention.thread.position if mention.thread else None,
        mentioned=mentioned,
    )


def pagerank(
    edges: Sequence[AuthorEdge], *, damping: float = 0.85, tolerance: float = 1e-9
) -> dict[str, float]:
    """PageRank of each author in the weighted graph (dangling authors spread evenly)."""
    nodes = sorted({e.source for e in edges} | {e.target for e in edges})
    if not nodes:
        return {}
    index = {key: i for i, key in enumerate(nodes)}
    n = len(nodes)
    sources = np.array([index[e.source] for e in edges])
    targets = np.array([index[e.target] for e in edges])
    weights = np.array([float(e.weight) for e in edges])
    out_weight = np.bincount(sources, weights=weights, minlength=n)
    # Column-stochastic transition matrix: M[t, s] = w(s->t) / out(s).
    matrix = csr_matrix((weights / out_weight[sources], (targets, sources)), shape=(n, n))
    dangling = out_weight == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(200):
        spread = damping * rank[dangling].sum() / n
        updated = damping * (matrix @ rank) + spread + (1.0 - damping) / n
        if np.abs(updated - rank).sum() < tolerance:
            rank = updated
            break
        rank = updated
    return {key: float(rank[i]) for key, i in index.items()}


def score(
    stats: AuthorStats, pagerank_value: float, graph_size: int, s: InfluenceSettings
) -> float:
    """The influence score of an author (see the module docstring)."""
    value = (
        s.reach_weight * math.log10(1 + stats.reach)
        + s.engagement_weight * math.log10(1 + stats.engagement)
        + s.activity_weight * math.log10(1 + stats.mentions)
    )
    if pagerank_value > 0 and graph_size > 0:
        value += s.pagerank_weight * max(0.0, math.log10(graph_size * pagerank_value))
    return round(value, 6)


class InfluenceTracker:
    """Keeps authors current in the store and tells each mention its author's influence."""

    def __init__(
        self,
        store: AuthorIndex,
        settings: InfluenceSettings | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.settings = settings or InfluenceSettings()
        self._monotonic = monotonic
        self._ranked_at: float | None = None
        self._graph_size = 0
        self._pending_links = True  # a fresh worker ranks once: the graph may predate it

    def update(self, kept: Sequence[tuple[Mention, Sequence[str]]]) -> dict[str, Influence]:
        """Record the batch's mentions (with their brands); their authors' influence by id."""
        activity = [activity_of(m, brands, self.settings.audiences) for m, brands in kept]
        if not activity:
            return {}
        stats = {a.key: a for a in self.store.record_authors(activity)}
        if any(a.parent or a.thread or a.mentioned for a in activity):
            self._pending_links = True
        if self._rank_due():
            self._rank()
            stats = {a.key: a for a in self.store.authors(list(stats))}
        scores = [
            AuthorScore(a.key, a.pagerank, score(a, a.pagerank, self._graph_size, self.settings))
            for a in stats.values()
        ]
        self.store.save_author_scores(scores)
        threshold = self.store.author_score_at(self.settings.percentile)
        by_key = {s.key: s.score for s in scores}
        out = {}
        for a in activity:
            value = by_key.get(a.author_key, 0.0)
            out[a.mention_id] = Influence(
                author_key=a.author_key,
                score=value,
                is_influencer=threshold is not None and value >= threshold,
            )
        return out

    def _rank_due(self) -> bool:
        if not self._pending_links:
            return False
        now = self._monotonic()
        every = self.settings.pagerank_every.total_seconds()
        return self._ranked_at is None or now - self._ranked_at >= every

    def _rank(self) -> None:
        """Recompute PageRank over the whole graph and rescore every author in it."""
        ranks = pagerank(self.store.author_edges(), damping=self.settings.damping)
        if ranks:
            authors = self.store.authors(list(ranks))
            self.store.save_author_scores(
                [
                    AuthorScore(
                        a.key, ranks[a.key], score(a, ranks[a.key], len(ranks), self.settings)
                    )
                    for a in authors
                ]
            )
        # Only once it is saved: a store failure above is retried with the batch.
        self._graph_size = len(ranks)
        self._ranked_at = self._monotonic()
        self._pending_links = False
        log.info("influence: ranked %d authors in the reply/mention graph", len(ranks))
