"""The Elasticsearch store's cluster index (`ClusterIndex`): near-duplicate clusters, with the
semantics of the SQLite store's (`index.sqlite.clusters`, the reference) and its rule
(`index.clusters.assign`).

Three indices beside the mentions, under the same prefix, strict, created by set-up:

- ``<prefix>-cluster-signatures``: one document per mention (id: the mention id): its cluster
  and its LSH keys. Written once (``create``), never changed: a redelivered mention keeps its
  cluster. Only read by id; the keys are kept so that the postings can be counted from them
  again (`rebuild`);
- ``<prefix>-cluster-postings``: one document per LSH key (id: the key in decimal): for each
  cluster whose signatures carry the key, how many do, and the batch that wrote it last. Read
  by id, so an assignment needs no refresh, and reads one document per key of its batch
  however many copies the clusters hold;
- ``<prefix>-locks``: the lease that serialises assignments, and the writes it has pending.

Why a lock. Elasticsearch has no transaction, and first-writer-wins documents alone (say a
``create`` per LSH key naming its cluster) cannot make two copies enriched at the same instant
agree: each proposes its own cluster and claims its keys in one bulk request, the two requests
interleave, each wins some of the shared keys, and whatever rule each then applies to the
owners it sees, there is an interleaving where they pick different clusters (each sees its own
unshared keys, never the other's). So an assignment holds a lease on one document of
``<prefix>-locks`` (taken with ``create``; one left by a dead worker is taken over by
compare-and-set once expired) while it: reads the batch's stored signatures by id; reads the
postings of the batch's keys by id (real time: every posting written under an earlier lease);
decides in memory, in order, as SQLite does; renews the lease by compare-and-set, writing into
the lock document the batch's new signatures and their clusters (the journal), which fails if
another worker has taken the lease over; writes the postings, each by compare-and-set on the
version it read and marked with the batch's id, then the signatures with ``create``;
releases, which deletes the journal with the lease.

A worker that fails or dies between the journal and the release leaves the journal in the
lock document (expired at once when it can still say so). The next worker to take the lease
applies it before anything else: a posting that already bears the batch's id is skipped, a
signature already stored is kept. So every batch counts in the postings exactly once, even one
whose worker died halfway through its writes. What this guarantees, across any number of
workers and machines:

- assignments are serialised, so every signature sees every signature stored before it:
  copies enriched at the same moment by several workers land in one cluster (held by
  ``tests/test_duplicates.py`` with four processes);
- a redelivered mention keeps the cluster it was given, even one given to two workers at once
  (the second reads, by id, the signature the first stored);
- a worker whose lease ran out (``lock_lease``, 60 s: a cluster refusing writes for that long)
  finds out when it renews, or when a posting it writes was changed since it read it, and
  assigns its batch again (`StoreUnavailable`, retried); the worker that took the lease over
  applied the stalled one's journal first, so both agree on what it decided. A worker that dies
  holding the lease delays the others by up to the lease.

Set-up counts the postings from the signatures (`rebuild`) once, for a store of a version that
kept no postings; it holds the lease meanwhile, with the rebuild as its journal, so that one
interrupted is done again by the next worker.

Workers' clocks must agree within a fraction of the lease (NTP does).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from index.clusters import assign, batch_keys
from index.elastic.client import ConflictError, ElasticIndices, NotFoundError
from index.elastic.mapping import DATE, KEYWORD, LONG, UNINDEXED, strict
from ingest.errors import StoreUnavailable
from ingest.store import Signature

log = logging.getLogger(__name__)

OPAQUE: dict[str, Any] = {"type": "object", "enabled": False}
"""Kept in ``_source`` as it is, neither parsed nor indexed: read back by id only."""

SIGNATURES_MAPPING = strict(mention_id=KEYWORD, cluster=KEYWORD, keys=LONG)
POSTINGS_MAPPING = strict(clusters=OPAQUE, batch=UNINDEXED)
LOCKS_MAPPING = strict(owner=KEYWORD, expires=DATE, pending=OPAQUE)

_LOCK = "clusters"
_REBUILD: dict[str, Any] = {"rebuild": True}
"""The journal of a rebuild of the postings."""
_REBUILD_PAGE = 10_000
"""Postings counted per request of a rebuild (a composite aggregation's page)."""


@dataclass
class _Lease:
    """A lease held on one lock document, and the journal it holds there."""

    name: str
    owner: str
    held: dict[str, Any]
    """The lock document's ``_seq_no`` and ``_primary_term`` as this worker last wrote it."""
    pending: dict[str, Any] | None = None
    """The journal in the lock document: writes that must be completed if this worker fails."""
    recovered: dict[str, Any] | None = None
    """The journal a dead worker left, which this worker completed on taking the lease."""


class ElasticClusters:
    """A `ClusterIndex` in the store's cluster; the near-duplicate part of
    `index.elastic.store.ElasticStore`."""

    lock_lease = 60.0
    """Seconds an assignment may hold the lock before another worker may take it over."""
    lock_wait = 120.0
    """Seconds to wait for the lock before giving up with `StoreUnavailable` (retried)."""

    def __init__(self, indices: ElasticIndices) -> None:
        self.indices = indices

    @property
    def signatures_index(self) -> str:
        return self.indices.named("cluster-signatures")

    @property
    def postings_index(self) -> str:
        return self.indices.named("cluster-postings")

    @property
    def locks_index(self) -> str:
        return self.indices.named("locks")

    @property
    def index_names(self) -> list[str]:
        """The indices it keeps (for `index.elastic.store.ElasticStore.drop`)."""
        return [self.signatures_index, self.postings_index, self.locks_index]

    def setup(self) -> None:
        self.indices.ensure_index(self.signatures_index, SIGNATURES_MAPPING)
        self.indices.ensure_index(self.locks_index, LOCKS_MAPPING)
        if self._has_postings():
            self.indices.ensure_index(self.postings_index, POSTINGS_MAPPING)
            return
        client = self.indices.client
        self.indices.call(
            "refresh the near-duplicate signatures",
            lambda: client.indices.refresh(index=self.signatures_index),
        )
        stored = self.indices.call(
            "count the near-duplicate signatures",
            lambda: int(client.count(index=self.signatures_index)["count"]),
        )
        if not stored:
            self.indices.ensure_index(self.postings_index, POSTINGS_MAPPING)
            return
        # A store of the version that kept no postings. The postings index is created under
        # the lease, once the rebuild is its journal: one that exists is complete, or will be
        # completed by the next worker to take the lease.
        with self._lock(_LOCK) as lease:
            if lease.recovered != _REBUILD and not self._has_postings():
                self.rebuild(lease)

    def _has_postings(self) -> bool:
        return self.indices.call(
            "check the near-duplicate postings",
            lambda: bool(self.indices.client.indices.exists(index=self.postings_index)),
        )

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        if not signatures:
            return {}
        with self._lock(_LOCK) as lease:
            stored = self.indices.mget(
                self.signatures_index, [s.mention_id for s in signatures], ["cluster"]
            )
            assigned = {mention_id: d["_source"]["cluster"] for mention_id, d in stored.items()}
            docs = self._shared(batch_keys(signatures, assigned))
            decided = assign(
                signatures,
                assigned,
                {key: dict(d["_source"]["clusters"]) for key, d in docs.items()},
            )
            if decided.new:
                journal = {
                    "batch": uuid.uuid4().hex,
                    "signatures": [[s.mention_id, c, list(s.keys)] for s, c in decided.new],
                }
                self._renew(lease, journal)
                self._apply(journal, docs, again=False)
        return decided.clusters

    def _shared(self, keys: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The postings of ``keys`` that exist, by key: for each, how many stored signatures of
        each cluster have it (``_source.clusters``), and the version it was read at."""
        found = self.indices.mget(self.postings_index, [str(k) for k in keys])
        return {int(doc_id): doc for doc_id, doc in found.items()}

    def _apply(
        self, journal: dict[str, Any], docs: dict[int, dict[str, Any]], *, again: bool
    ) -> None:
        """Write what ``journal`` decided: the postings it adds to (``docs``, as read under this
        lease), then its signatures. ``again``: it is a dead worker's, maybe written in part."""
        batch = journal["batch"]
        gained: dict[int, Counter[str]] = {}
        for _, cluster, keys in journal["signatures"]:
            for key in keys:
                gained.setdefault(key, Counter())[cluster] += 1
        actions: list[dict[str, Any]] = []
        for key, clusters in gained.items():
            doc = docs.get(key)
            action: dict[str, Any] = {"_index": self.postings_index, "_id": str(key)}
            if doc is None:
                action["_op_type"] = "create"
            elif doc["_source"].get("batch") == batch:
                continue  # written before its worker died
            else:
                clusters.update(doc["_source"]["clusters"])
                action.update(
                    _op_type="index", if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"]
                )
            actions.append({**action, "_source": {"clusters": dict(clusters), "batch": batch}})
        if self.indices.bulk("store near-duplicate postings", self.postings_index, actions):
            raise self._lost_lock()  # a posting changed since read: another worker's lease
        conflicts = self.indices.bulk(
            "store near-duplicate signatures",
            self.signatures_index,
            (
                {
                    "_op_type": "create",
                    "_index": self.signatures_index,
                    "_id": mention_id,
                    "_source": {"mention_id": mention_id, "cluster": cluster, "keys": keys},
                }
                for mention_id, cluster, keys in journal["signatures"]
            ),
        )
        if conflicts and not again:
            raise StoreUnavailable(
                f"{self.indices.display}: {len(conflicts)} near-duplicate signatures were stored "
                f"by another worker meanwhile; the batch will be assigned again"
            )

    def rebuild(self, lease: _Lease) -> None:
        """Count the postings again from the stored signatures (under ``lease``): set-up's
        migration of a store that kept none, and its recovery when interrupted."""
        self._renew(lease, _REBUILD)
        self.indices.ensure_index(self.postings_index, POSTINGS_MAPPING)
        client = self.indices.client
        # Every posting there has keys among the signatures' (a dead worker's journal is
        # completed before), so writing each key's counts over it is enough.
        self.indices.call(
            "refresh the near-duplicate signatures",
            lambda: client.indices.refresh(index=self.signatures_index),
        )
        started, written = time.monotonic(), 0
        for postings in self._counted():
            self.indices.bulk(
                "rebuild near-duplicate postings",
                self.postings_index,
                (
                    {
                        "_op_type": "index",
                        "_index": self.postings_index,
                        "_id": str(key),
                        "_source": {"clusters": clusters, "batch": "rebuild"},
                    }
                    for key, clusters in postings.items()
                ),
            )
            written += len(postings)
            self._renew(lease, _REBUILD)  # still held: a long rebuild outlasts one lease
        log.info(
            "%s: counted %d near-duplicate postings from the signatures in %.0f s",
            self.indices.display,
            written,
            time.monotonic() - started,
        )

    def _counted(self) -> Iterator[dict[int, dict[str, int]]]:
        """The postings the stored signatures make, a page at a time, by key: a composite
        aggregation over (key, cluster) counts them without holding them all."""
        sources = [
            {"key": {"terms": {"field": "keys"}}},
            {"cluster": {"terms": {"field": "cluster"}}},
        ]
        after: dict[str, Any] | None = None
        postings: dict[int, dict[str, int]] = {}
        while True:
            composite: dict[str, Any] = {"size": _REBUILD_PAGE, "sources": sources}
            if after is not None:
                composite["after"] = after
            result = self.indices.search(
                "count near-duplicate postings",
                index=self.signatures_index,
                size=0,
                aggregations={"postings": {"composite": composite}},
            )
            buckets = result["aggregations"]["postings"]["buckets"]
            for bucket in buckets:
                key, cluster = bucket["key"]["key"], bucket["key"]["cluster"]
                postings.setdefault(key, {})[cluster] = bucket["doc_count"]
            after = result["aggregations"]["postings"].get("after_key")
            if len(buckets) < _REBUILD_PAGE or after is None:
                if postings:
                    yield postings
                return
            # Keys come in order: the last one may go on in the next page.
            last = postings.pop(after["key"])
            if postings:
                yield postings
            postings = {after["key"]: last}

    def _lost_lock(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"{self.indices.display}: another worker took the near-duplicate lock over (this one "
            f"held it for more than its lease, {self.lock_lease:.0f} s); the batch will be "
            f"assigned again"
        )

    # -- the lease -----------------------------------------------------------------------------

    @contextmanager
    def _lock(self, name: str) -> Iterator[_Lease]:
        """Hold the lease on ``name``, after applying the journal a dead worker left there (the
        lease's ``recovered`` then tells what). Leaving with an error while a journal
        is pending leaves it for the next worker, the lease expired at once."""
        owner = uuid.uuid4().hex
        lease = self.indices.call("take the lock", lambda: self._acquire(name, owner))
        try:
            if lease.pending is not None:
                self._recover(lease, lease.pending)
            yield lease
        except BaseException:
            if lease.pending is not None:
                self.indices.call("hand the lock over", lambda: self._end(lease, hand_over=True))
            else:
                self.indices.call("release the lock", lambda: self._end(lease, hand_over=False))
            raise
        self.indices.call("release the lock", lambda: self._end(lease, hand_over=False))

    def _recover(self, lease: _Lease, journal: dict[str, Any]) -> None:
        log.warning(
            "%s: a worker died while storing near-duplicate clusters; completing its writes",
            self.indices.display,
        )
        if journal.get("rebuild"):
            self.rebuild(lease)
        else:
            keys = dict.fromkeys(k for _, _, keys in journal["signatures"] for k in keys)
            self._apply(journal, self._shared(keys), again=True)
        self._renew(lease, None)
        lease.recovered = journal

    def _renew(self, lease: _Lease, pending: dict[str, Any] | None) -> None:
        """Extend the lease, with ``pending`` as its journal; `StoreUnavailable` if another
        worker took it over meanwhile."""
        document = self._lease(lease.owner, pending=pending)

        def renew() -> dict[str, Any]:
            try:
                return dict(
                    self.indices.client.index(
                        index=self.locks_index,
                        id=lease.name,
                        document=document,
                        if_seq_no=lease.held["_seq_no"],
                        if_primary_term=lease.held["_primary_term"],
                    )
                )
            except (ConflictError, NotFoundError):
                raise self._lost_lock() from None

        lease.held = self.indices.call("renew the lock", renew)
        lease.pending = pending

    def _lease(
        self, owner: str, *, pending: dict[str, Any] | None, expires: float | None = None
    ) -> dict[str, Any]:
        at = time.time() + self.lock_lease if expires is None else expires
        document: dict[str, Any] = {"owner": owner, "expires": int(at * 1000)}
        if pending is not None:
            document["pending"] = pending
        return document

    def _acquire(self, name: str, owner: str) -> _Lease:
        """Take the lease, with the journal a dead holder left in it."""
        client = self.indices.client
        give_up = time.monotonic() + self.lock_wait
        while True:
            try:
                created = client.create(
                    index=self.locks_index, id=name, document=self._lease(owner, pending=None)
                )
                return _Lease(name, owner, dict(created))
            except ConflictError:
                pass
            try:
                current = client.get(index=self.locks_index, id=name, source_includes=["expires"])
                if current["_source"]["expires"] < time.time() * 1000:
                    # The journal is read only to take it over: it can be large.
                    current = client.get(index=self.locks_index, id=name)
            except NotFoundError:
                continue  # released meanwhile
            if current["_source"]["expires"] < time.time() * 1000:
                pending = current["_source"].get("pending")
                try:
                    taken = client.index(
                        index=self.locks_index,
                        id=name,
                        document=self._lease(owner, pending=pending),
                        if_seq_no=current["_seq_no"],
                        if_primary_term=current["_primary_term"],
                    )
                except ConflictError:
                    continue  # another worker took it over first
                log.warning("%s: took over an expired lock on %s", self.indices.display, name)
                return _Lease(name, owner, dict(taken), pending)
            if time.monotonic() > give_up:
                raise StoreUnavailable(
                    f"{self.indices.display}: the near-duplicate lock is held by another worker "
                    f"for more than {self.lock_wait:.0f} s; will try again"
                )
            time.sleep(random.uniform(0.005, 0.05))

    def _end(self, lease: _Lease, *, hand_over: bool) -> None:
        """Release the lease; or, with ``hand_over``, leave it expired with its journal, for the
        next worker to complete."""
        client = self.indices.client
        held = {"if_seq_no": lease.held["_seq_no"], "if_primary_term": lease.held["_primary_term"]}
        try:
            if hand_over:
                document = self._lease(lease.owner, pending=lease.pending, expires=0)
                client.index(index=self.locks_index, id=lease.name, document=document, **held)
            else:
                client.delete(index=self.locks_index, id=lease.name, **held)
        except (ConflictError, NotFoundError):
            log.warning(
                "%s: the lock on %s was taken over before its %s",
                self.indices.display,
                lease.name,
                "hand-over" if hand_over else "release",
            )
