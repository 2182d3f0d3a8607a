"""The Elasticsearch store's cluster index (`ClusterIndex`): near-duplicate clusters, with the
semantics of the SQLite store's (`index.sqlite.clusters`, the reference) and its rule
(`index.clusters.assign`).

Three indices beside the mentions, under the same prefix, strict, created by set-up:

- ``<prefix>-cluster-signatures``: one document per mention (id: the mention id): its cluster
  and its LSH keys. Written once (``create``), never changed: a redelivered mention keeps its
  cluster. Searched by id, and by key for the keys that have no posting;
- ``<prefix>-cluster-postings``: one document per LSH key that many signatures carry
  (``posting_from``, 16, or more; id: the key in decimal): for each cluster whose signatures
  carry the key, how many do. So a key shared by many copies costs one document however many
  there are;
- ``<prefix>-locks``: the lease that serialises assignments, and the writes it has pending.

Most keys are carried by one signature or a few (an original post's, a handful of copies'),
and a document for each would cost more to keep than it saves: a batch would write one per
key, where it writes one per signature. So a key has a posting only once ``posting_from``
signatures carry it. A key without one is carried by fewer (postings are never removed), and
a search of the signatures (after a refresh, under the lease) finds them; the batch that
brings a key to ``posting_from`` creates its posting with the counts of all of them. The counts
a batch decides on are thus exactly those of every stored signature, as the rule wants, and
what it reads is bounded by its keys, not by the copies the clusters hold. A store set up by a
version that kept no postings needs no migration: each of its keys is counted by the same
search, once, the first time a batch carries it, and has its posting from then on.

Why a lock. Elasticsearch has no transaction, and first-writer-wins documents alone (say a
``create`` per LSH key naming its cluster) cannot make two copies enriched at the same instant
agree: each proposes its own cluster and claims its keys in one bulk request, the two requests
interleave, each wins some of the shared keys, and whatever rule each then applies to the
owners it sees, there is an interleaving where they pick different clusters (each sees its own
unshared keys, never the other's). So an assignment holds a lease on one document of
``<prefix>-locks`` (taken with ``create``; one left by a dead worker is taken over by
compare-and-set once expired) while it: refreshes the two indices, so that everything stored
under an earlier lease is visible; searches the batch's stored signatures by id and the
postings of its keys (one request), then the signatures for the keys without one; decides in memory,
in order, as SQLite does; renews the lease by compare-and-set, which fails if another worker
has taken the lease over, writing into the lock document the batch's new signatures, their
clusters and the postings it changes as they are after it (the journal); writes, in one bulk
request, the postings, each by compare-and-set on the version it read (``create`` for a new
one), and the signatures with ``create``; releases, which deletes the journal with the lease.

A worker that fails or dies between the journal and the release leaves the journal in the
lock document (expired at once when it can still say so). The next worker to take the lease
applies it before anything else: the journal holds each posting's counts after the batch, not
what it adds, so a posting already written is left as it is, and a signature already stored
is kept. So every batch counts in the postings exactly once, even one whose worker died
halfway through its writes. What this guarantees, across any number of workers and machines:

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

Workers' clocks must agree within a fraction of the lease (NTP does).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from index.base import chunks
from index.clusters import assign, batch_keys
from index.elastic.client import MAX_WINDOW, ConflictError, ElasticIndices, NotFoundError
from index.elastic.mapping import DATE, KEYWORD, LONG, strict
from ingest.errors import StoreUnavailable
from ingest.store import Signature

log = logging.getLogger(__name__)

OPAQUE: dict[str, Any] = {"type": "object", "enabled": False}
"""Kept in ``_source`` as it is, neither parsed nor indexed: read back by id only."""

SIGNATURES_MAPPING = strict(mention_id=KEYWORD, cluster=KEYWORD, keys=LONG)
POSTINGS_MAPPING = strict(key=LONG, clusters=OPAQUE)
LOCKS_MAPPING = strict(owner=KEYWORD, expires=DATE, pending=OPAQUE)

_LOCK = "clusters"


@dataclass
class _Lease:
    """A lease held on one lock document, and the journal it holds there."""

    name: str
    owner: str
    held: dict[str, Any]
    """The lock document's ``_seq_no`` and ``_primary_term`` as this worker last wrote it."""
    pending: dict[str, Any] | None = None
    """The journal in the lock document: writes that must be completed if this worker fails."""


class ElasticClusters:
    """A `ClusterIndex` in the store's cluster; the near-duplicate part of
    `index.elastic.store.ElasticStore`."""

    lock_lease = 60.0
    """Seconds an assignment may hold the lock before another worker may take it over."""
    lock_wait = 120.0
    """Seconds to wait for the lock before giving up with `StoreUnavailable` (retried)."""
    posting_from = 16
    """How many signatures must carry a key for it to have a posting. Lower, a batch writes
    more postings; higher, its search reads more signatures (`bench.clusters` measures both
    workloads: 16 keeps the common one at the previous version's cost, and the one of large
    clusters flat)."""

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
        # A store of a version that kept no postings needs no migration: a key without a
        # posting has its signatures counted by a search the first time a batch carries it.
        self.indices.ensure_index(self.signatures_index, SIGNATURES_MAPPING)
        self.indices.ensure_index(self.postings_index, POSTINGS_MAPPING)
        self.indices.ensure_index(self.locks_index, LOCKS_MAPPING)

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        if not signatures:
            return {}
        with self._lock(_LOCK) as lease:
            assigned, docs, counts = self._shared(signatures, lease)
            decided = assign(signatures, assigned, counts)  # counts: now with the batch's
            if decided.new:
                touched = dict.fromkeys(key for key, _ in decided.added)
                journal = {
                    "signatures": [[s.mention_id, c, list(s.keys)] for s, c in decided.new],
                    "postings": [
                        [key, counts[key]]
                        for key in touched
                        if key in docs or sum(counts[key].values()) >= self.posting_from
                    ],
                }
                self._renew(lease, journal)
                self._apply(journal, docs, again=False)
        return decided.clusters

    def _shared(
        self, signatures: Sequence[Signature], lease: _Lease
    ) -> tuple[dict[str, str], dict[int, dict[str, Any]], dict[int, dict[str, int]]]:
        """What an assignment reads: the clusters given before to mentions of ``signatures``;
        the postings of their keys that exist, by key (with the version each was read at); and
        for every key, how many stored signatures of each cluster carry it: its posting's
        counts, or for a key without one, those of the signatures that a search finds."""
        client = self.indices.client
        both = f"{self.signatures_index},{self.postings_index}"
        # Everything stored under an earlier lease, by any worker, visible to the searches.
        self.indices.call("refresh", lambda: client.indices.refresh(index=both))
        ids = list(dict.fromkeys(s.mention_id for s in signatures))
        keys = batch_keys(signatures, {})  # a redelivered mention's too: one request for all
        searches: list[dict[str, Any]] = [
            {"index": self.signatures_index},
            {"query": {"ids": {"values": ids}}, "size": len(ids), "_source": ["cluster"]},
        ]
        for chunk in chunks(keys, MAX_WINDOW):  # at most one posting per key
            query = {"terms": {"key": list(chunk)}}
            searches += [
                {"index": self.postings_index},
                {"query": query, "size": len(chunk), "seq_no_primary_term": True},
            ]
        found = self._searched("read near-duplicate signatures and postings", searches)
        assigned = {hit["_id"]: hit["_source"]["cluster"] for hit in found[0]}
        docs = {hit["_source"]["key"]: hit for hits in found[1:] for hit in hits}
        counts = {key: dict(doc["_source"]["clusters"]) for key, doc in docs.items()}
        # Postings never go away, so a key without one is carried by fewer than
        # ``posting_from`` signatures (or is a key of a store of a version that kept none).
        unposted = [k for k in batch_keys(signatures, assigned) if k not in docs]
        keyset = set(unposted)
        renewed = time.monotonic()
        for chunk in chunks(unposted, 10_000):
            for hits in self.indices.pages(
                "read near-duplicate signatures",
                index=self.signatures_index,
                query={"terms": {"keys": list(chunk)}},
                sort=[{"mention_id": "asc"}],
                size=MAX_WINDOW,
                source_includes=["cluster", "keys"],
            ):
                for hit in hits:
                    cluster = hit["_source"]["cluster"]
                    for key in keyset.intersection(hit["_source"]["keys"]):
                        shared = counts.setdefault(key, {})
                        shared[cluster] = shared.get(cluster, 0) + 1
                # A store of a version that kept no postings can have many signatures to
                # count, once: the lease must outlast them.
                if time.monotonic() - renewed > self.lock_lease / 4:
                    self._renew(lease, None)
                    renewed = time.monotonic()
        return assigned, docs, counts

    def _searched(self, what: str, searches: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        """The hits of each search of a multi-search (``searches``: header, body, ...), in
        one request."""
        client = self.indices.client
        result = self.indices.call(what, lambda: client.msearch(searches=searches))
        out = []
        for response in result["responses"]:
            if "error" in response:
                raise StoreUnavailable(
                    f"{self.indices.display}: could not {what} ({response['error'].get('type')})"
                )
            out.append(response["hits"]["hits"])
        return out

    def _apply(
        self, journal: dict[str, Any], docs: dict[int, dict[str, Any]], *, again: bool
    ) -> None:
        """Write what ``journal`` decided: its postings, each as it is after the batch, by
        compare-and-set on ``docs`` (read under this lease; created where none was), then its
        signatures, in one request. ``again``: it is a dead worker's, maybe written in part."""
        actions: list[dict[str, Any]] = []
        for key, clusters in journal["postings"]:
            doc = docs.get(key)
            action: dict[str, Any] = {"_index": self.postings_index, "_id": str(key)}
            if doc is None:
                action["_op_type"] = "create"
            elif doc["_source"]["clusters"] == clusters:
                continue  # written before its worker died
            else:
                action.update(
                    _op_type="index", if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"]
                )
            actions.append({**action, "_source": {"key": key, "clusters": clusters}})
        actions += (
            {
                "_op_type": "create",
                "_index": self.signatures_index,
                "_id": mention_id,
                "_source": {"mention_id": mention_id, "cluster": cluster, "keys": keys},
            }
            for mention_id, cluster, keys in journal["signatures"]
        )
        # A conflict: a posting changed since read, or a signature stored meanwhile, each by a
        # worker that took the lease over, and applied this journal first: what this batch
        # writes besides is what that worker wrote, or will.
        if self.indices.bulk("store near-duplicates", self.signatures_index, actions) and not again:
            raise self._lost_lock()

    def _lost_lock(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"{self.indices.display}: another worker took the near-duplicate lock over (this one "
            f"held it for more than its lease, {self.lock_lease:.0f} s); the batch will be "
            f"assigned again"
        )

    # -- the lease -----------------------------------------------------------------------------

    @contextmanager
    def _lock(self, name: str) -> Iterator[_Lease]:
        """Hold the lease on ``name``, after applying the journal a dead worker left there.
        Leaving with an error while a journal is pending leaves it for the next worker, the
        lease expired at once."""
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
        found = self.indices.mget(self.postings_index, [str(k) for k, _ in journal["postings"]])
        self._apply(journal, {int(i): doc for i, doc in found.items()}, again=True)
        self._renew(lease, None)

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
