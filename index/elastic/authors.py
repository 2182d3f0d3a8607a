"""The Elasticsearch store's author index (`AuthorIndex`): what enrich records and reads back,
with the semantics of the SQLite store's (`index.sqlite.authors`, the reference).

Two indices beside the mentions, under the same prefix, strict, created by set-up:

- ``<prefix>-author-activity``: one document per mention, by mention id: what it adds to its
  author (`AuthorActivity`). A redelivered mention overwrites its document, so it counts once;
  if its author changed, the previous author loses it;
- ``<prefix>-authors``: one document per known author (id: the key, or a digest of a key too
  long to be an id) holding only what enrich saves, ``pagerank`` and ``score``; it exists while
  the author has activity, so `author_score_at` ranks every known author, scored or not (0).

An author's statistics (`AuthorStats`: mentions, largest reach, summed engagement, sites by
use, first and last seen, the latest name, handle and profile URL given) are not stored: they
are aggregated from the activity when read. Two workers recording mentions of one author at
once therefore never leave a stale total behind, as a stored sum written back by the slower of
the two would. (A score is saved by the worker that computed it: of two concurrent saves, the
later one stays, as with SQLite.)
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from index.base import chunks, epoch_ms, from_epoch_ms, nearest_rank
from index.elastic.client import MAX_WINDOW, ElasticIndices, helpers
from index.elastic.mapping import DATE, DOUBLE, LONG, LONG_KEYWORD, strict
from index.elastic.query import Query, filters_query
from ingest.store import (
    AuthorActivity,
    AuthorEdge,
    AuthorScore,
    AuthorStats,
    Filters,
    RankedAuthor,
)

ACTIVITY_MAPPING = strict(
    mention_id=LONG_KEYWORD,
    author_key=LONG_KEYWORD,
    name=LONG_KEYWORD,
    handle=LONG_KEYWORD,
    url=LONG_KEYWORD,
    site=LONG_KEYWORD,
    published=DATE,
    reach=LONG,
    engagement=LONG,
    brands=LONG_KEYWORD,
    parent=LONG_KEYWORD,
    thread=LONG_KEYWORD,
    position=LONG,
    mentioned=LONG_KEYWORD,
)
AUTHORS_MAPPING = strict(key=LONG_KEYWORD, pagerank=DOUBLE, score=DOUBLE)

MAX_SITES = 1000
"""The most sites listed for one author (most used first)."""

_LATEST = ("name", "handle", "url")


def author_id(key: str) -> str:
    """The id of an author's document: the key, or a digest of one longer than an id may be
    (512 bytes). Keys contain a ``/`` or a ``.`` (they start with a site), digests neither."""
    if len(key.encode()) <= 512:
        return key
    return hashlib.blake2b(key.encode(), digest_size=20).hexdigest()


def _activity_doc(a: AuthorActivity) -> dict[str, Any]:
    doc = {
        "mention_id": a.mention_id,
        "author_key": a.author_key,
        "name": a.name,
        "handle": a.handle,
        "url": a.url,
        "site": a.site,
        "published": epoch_ms(a.published),
        "reach": a.reach,
        "engagement": a.engagement,
        "brands": list(a.brands),
        "parent": a.parent,
        "thread": a.thread,
        "position": a.position,
        "mentioned": [t for t in dict.fromkeys(a.mentioned) if t != a.author_key],
    }
    return {k: v for k, v in doc.items() if v is not None}


def _latest(field: str) -> dict[str, Any]:
    """The latest non-null value of ``field`` among an author's activity."""
    return {
        "filter": {"exists": {"field": field}},
        "aggs": {
            "hit": {"top_hits": {"size": 1, "sort": [{"published": "desc"}], "_source": [field]}}
        },
    }


class ElasticAuthors:
    """An `AuthorIndex` in the store's cluster; the author part of
    `index.elastic.store.ElasticStore`."""

    max_window = MAX_WINDOW
    """How deep a sorted read may page at once; `author_score_at` goes around it."""

    def __init__(self, indices: ElasticIndices) -> None:
        self.indices = indices

    @property
    def activity_index(self) -> str:
        return self.indices.named("author-activity")

    @property
    def authors_index(self) -> str:
        return self.indices.named("authors")

    @property
    def index_names(self) -> list[str]:
        """The indices it keeps (for `index.elastic.store.ElasticStore.drop`)."""
        return [self.activity_index, self.authors_index]

    def setup(self) -> None:
        self.indices.ensure_index(self.activity_index, ACTIVITY_MAPPING)
        self.indices.ensure_index(self.authors_index, AUTHORS_MAPPING)

    # -- writes --------------------------------------------------------------------------------

    def record_authors(self, activity: Sequence[AuthorActivity]) -> list[AuthorStats]:
        if not activity:
            return []
        latest = list({a.mention_id: a for a in activity}.values())  # a batch may repeat one
        before = self.indices.mget(
            self.activity_index, [a.mention_id for a in latest], ["author_key"]
        )
        # Redelivered, or its author changed: the previous author is recounted too.
        touched = [d["_source"]["author_key"] for d in before.values()]
        touched = list(dict.fromkeys([*touched, *(a.author_key for a in latest)]))
        self.indices.bulk(
            "record author activity",
            self.activity_index,
            (
                {
                    "_op_type": "index",
                    "_index": self.activity_index,
                    "_id": a.mention_id,
                    "_source": _activity_doc(a),
                }
                for a in latest
            ),
        )
        # Deleted on its platform meanwhile (the store tombstones, then forgets): a late enrich
        # adds nothing to its author.
        gone = self.indices.tombstoned([a.mention_id for a in latest])
        if gone:
            self.indices.delete_ids("forget author activity", self.activity_index, gone)
        return self._recount(touched)

    def forget(self, mention_ids: Sequence[str]) -> None:
        """Remove what these mentions added to their authors, and recount those authors (the
        store's `delete`)."""
        before = self.indices.mget(self.activity_index, mention_ids, ["author_key"])
        if not before:
            return
        touched = list(dict.fromkeys(d["_source"]["author_key"] for d in before.values()))
        self.indices.delete_ids("forget author activity", self.activity_index, before)
        self._recount(touched)

    def _recount(self, touched: list[str]) -> list[AuthorStats]:
        """The stats of the ``touched`` authors, from their activity now; an author's document
        is created with their first activity and deleted with their last."""
        stats = self._aggregate_authors(touched)
        # An author's document lives while they have activity (409: it existed already; 404:
        # gone already).
        self.indices.bulk(
            "keep the author index",
            self.authors_index,
            (
                {
                    "_op_type": "create" if key in stats else "delete",
                    "_index": self.authors_index,
                    "_id": author_id(key),
                    "_source": {"key": key, "pagerank": 0.0, "score": 0.0},
                }
                for key in touched
            ),
        )
        return self._with_scores([stats[k] for k in touched if k in stats])

    def save_author_scores(self, scores: Sequence[AuthorScore]) -> None:
        if not scores:
            return
        # Only the scores of known authors: an update of a missing document fails (404), alone.
        self.indices.bulk(
            "save author scores",
            self.authors_index,
            (
                {
                    "_op_type": "update",
                    "_index": self.authors_index,
                    "_id": author_id(s.key),
                    "doc": {"pagerank": s.pagerank, "score": s.score},
                }
                for s in scores
            ),
        )

    # -- reads ---------------------------------------------------------------------------------

    def authors(self, keys: Sequence[str]) -> list[AuthorStats]:
        stats = self._aggregate_authors(keys)
        return self._with_scores([stats[k] for k in dict.fromkeys(keys) if k in stats])

    def _aggregate_authors(self, keys: Sequence[str]) -> dict[str, AuthorStats]:
        """The statistics of these authors, from their activity (pagerank and score 0)."""
        self.indices.fresh(self.activity_index)
        out: dict[str, AuthorStats] = {}
        for chunk in chunks(list(dict.fromkeys(keys)), 500):
            aggs = {
                "authors": {
                    "terms": {"field": "author_key", "size": len(chunk), "include": list(chunk)},
                    "aggs": {
                        "reach": {"max": {"field": "reach"}},
                        "engagement": {"sum": {"field": "engagement"}},
                        "first": {"min": {"field": "published"}},
                        "last": {"max": {"field": "published"}},
                        "sites": {
                            "terms": {
                                "field": "site",
                                "size": MAX_SITES,
                                "order": [{"_count": "desc"}, {"_key": "asc"}],
                            }
                        },
                        **{field: _latest(field) for field in _LATEST},
                    },
                }
            }
            query = {"terms": {"author_key": list(chunk)}}
            found = self.indices.search(
                "read authors", index=self.activity_index, query=query, aggs=aggs, size=0
            )
            for b in found["aggregations"]["authors"]["buckets"]:
                latest = {}
                for field in _LATEST:
                    hits = b[field]["hit"]["hits"]["hits"]
                    latest[field] = hits[0]["_source"].get(field) if hits else None
                out[b["key"]] = AuthorStats(
                    key=b["key"],
                    name=latest["name"],
                    handle=latest["handle"],
                    url=latest["url"],
                    mentions=int(b["doc_count"]),
                    reach=int(b["reach"]["value"] or 0),
                    engagement=int(b["engagement"]["value"] or 0),
                    sites=tuple(s["key"] for s in b["sites"]["buckets"]),
                    first_seen=from_epoch_ms(b["first"]["value"]),
                    last_seen=from_epoch_ms(b["last"]["value"]),
                )
        return out

    def _scores(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The saved documents of these authors (those that exist), by key."""
        found = self.indices.mget(self.authors_index, [author_id(k) for k in keys])
        return {d["_source"]["key"]: d["_source"] for d in found.values()}

    def _with_scores(self, stats: list[AuthorStats]) -> list[AuthorStats]:
        saved = self._scores([a.key for a in stats])
        return [
            replace(a, pagerank=float(doc["pagerank"]), score=float(doc["score"]))
            if (doc := saved.get(a.key))
            else a
            for a in stats
        ]

    def author_edges(self) -> list[AuthorEdge]:
        self.indices.fresh(self.activity_index)
        linked: Query = {
            "bool": {
                "should": [
                    {"exists": {"field": "parent"}},
                    {"exists": {"field": "thread"}},
                    {"exists": {"field": "mentioned"}},
                ]
            }
        }
        fields = ["author_key", "parent", "thread", "position", "mentioned"]

        def scan() -> list[dict[str, Any]]:
            hits = helpers.scan(
                self.indices.client,
                index=self.activity_index,
                query={"query": linked, "_source": fields},
                size=self.indices.chunk_size,
            )
            return [{**h["_source"], "_id": h["_id"]} for h in hits]

        docs = self.indices.call("read the author graph", scan)
        author_of = {d["_id"]: d["author_key"] for d in docs}
        parents = [d["parent"] for d in docs if "parent" in d and d["parent"] not in author_of]
        found = self.indices.mget(self.activity_index, parents, ["author_key"])
        for mention_id, doc in found.items():
            author_of[mention_id] = doc["_source"]["author_key"]
        targets = [t for d in docs for t in d.get("mentioned", ())]
        known = self._known_authors(targets)
        edges: Counter[tuple[str, str]] = Counter()
        threads: dict[str, list[dict[str, Any]]] = {}
        for d in docs:
            source = d["author_key"]
            if "parent" in d and d["parent"] in author_of:
                edges[source, author_of[d["parent"]]] += 1
            if "thread" in d and "position" in d:
                threads.setdefault(d["thread"], []).append(d)
            for target in dict.fromkeys(d.get("mentioned", ())):
                if target in known:
                    edges[source, target] += 1
        for posts in threads.values():
            first = min(p["position"] for p in posts)
            openers = [p["author_key"] for p in posts if p["position"] == first]
            for p in posts:
                if "parent" not in p and p["position"] > first:
                    for opener in openers:
                        edges[p["author_key"], opener] += 1
        return [AuthorEdge(s, t, n) for (s, t), n in sorted(edges.items()) if s != t]

    def _known_authors(self, keys: Iterable[str]) -> set[str]:
        """Those of ``keys`` that have activity."""
        known: set[str] = set()
        for chunk in chunks(list(dict.fromkeys(keys)), 1000):
            aggs = {"keys": {"terms": {"field": "author_key", "size": len(chunk)}}}
            query = {"terms": {"author_key": list(chunk)}}
            found = self.indices.search(
                "read authors", index=self.activity_index, query=query, aggs=aggs, size=0
            )
            known.update(b["key"] for b in found["aggregations"]["keys"]["buckets"])
        return known

    def author_score_at(self, percentile: float) -> float | None:
        self.indices.fresh(self.authors_index)
        total = self._count_scores({"match_all": {}})
        if not total:
            return None
        rank = nearest_rank(percentile, total)
        below, above = rank - 1, total - rank
        if min(below, above) < self.max_window:
            if below <= above:
                return self._nth_score({"match_all": {}}, "asc", below)
            return self._nth_score({"match_all": {}}, "desc", above)
        # Far from both ends: estimate the value, count the scores on either side of it, and
        # read the few between the estimate and the rank.
        aggs = {"at": {"percentiles": {"field": "score", "percents": [rank / total * 100]}}}
        found = self.indices.search(
            "estimate a score percentile", index=self.authors_index, aggs=aggs, size=0
        )
        estimate = float(next(iter(found["aggregations"]["at"]["values"].values())))
        less = self._count_scores({"range": {"score": {"lt": estimate}}})
        upto = self._count_scores({"range": {"score": {"lte": estimate}}})
        if less < rank <= upto:
            return estimate
        if rank <= less:
            return self._nth_score({"range": {"score": {"lt": estimate}}}, "desc", less - rank)
        return self._nth_score({"range": {"score": {"gt": estimate}}}, "asc", rank - upto - 1)

    def _count_scores(self, query: Query) -> int:
        found = self.indices.call(
            "count authors",
            lambda: self.indices.client.count(index=self.authors_index, query=query),
        )
        return int(found["count"])

    def _nth_score(self, query: Query, order: str, offset: int) -> float:
        """The score at ``offset`` (0-based) in ``order`` among the authors ``query`` selects,
        read in pages of `max_window` at most."""
        after: list[Any] | None = None
        while True:
            size = min(offset + 1, self.max_window)
            options: dict[str, Any] = {
                "index": self.authors_index,
                "query": query,
                "sort": [{"score": order}, {"key": "asc"}],
                "size": size,
                "source_includes": ["score"],
            }
            if after is not None:
                options["search_after"] = after
            hits = self.indices.search("read author scores", **options)["hits"]["hits"]
            if offset < len(hits):
                return float(hits[offset]["_source"]["score"])
            if len(hits) < size:
                raise AssertionError("fewer authors than counted")  # pragma: no cover
            offset -= len(hits)
            after = hits[-1]["sort"]

    def top_authors(self, filters: Filters, limit: int = 10) -> list[RankedAuthor]:
        self.indices.fresh(self.indices.alias)
        best: list[tuple[float, int, str]] = []
        after: dict[str, Any] | None = None
        query = filters_query(filters)
        # Every author of a matching mention, a page at a time, kept if known, best `limit`.
        while True:
            composite: dict[str, Any] = {
                "size": 1000,
                "sources": [{"author": {"terms": {"field": "enrichment.influence.author_key"}}}],
            }
            if after is not None:
                composite["after"] = after
            found = self.indices.search(
                "rank authors",
                index=self.indices.alias,
                query=query,
                aggs={"authors": {"composite": composite}},
                size=0,
            )["aggregations"]["authors"]
            counts = {b["key"]["author"]: int(b["doc_count"]) for b in found["buckets"]}
            saved = self._scores(list(counts))
            candidates = ((-float(doc["score"]), -counts[key], key) for key, doc in saved.items())
            best = heapq.nsmallest(limit, [*best, *candidates])
            after = found.get("after_key")
            if after is None or not found["buckets"]:
                break
        stats = {a.key: a for a in self.authors([key for _, _, key in best])}
        return [RankedAuthor(stats[key], -n) for _, n, key in best if key in stats]
