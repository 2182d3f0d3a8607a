"""The Elasticsearch store's cluster index (`ClusterIndex`): near-duplicate clusters, with the
semantics of the SQLite store's (`index.sqlite.clusters`, the reference).

Two indices beside the mentions, under the same prefix, strict, created by set-up:

- ``<prefix>-cluster-signatures``: one document per mention (id: the mention id): its cluster
  and its LSH keys. Written once (``create``), never changed: a redelivered mention keeps its
  cluster. A new signature that ``joins`` takes the cluster whose stored signatures share the
  most keys with it, counted as SQLite counts its join of keys and signatures (ties: the
  smallest cluster id);
- ``<prefix>-locks``: the lease that serialises assignments.

Why a lock. Elasticsearch has no transaction, and first-writer-wins documents alone (say a
``create`` per LSH key naming its cluster) cannot make two copies enriched at the same instant
agree: each proposes its own cluster and claims its keys in one bulk request, the two requests
interleave, each wins some of the shared keys, and whatever rule each then applies to the
owners it sees, there is an interleaving where they pick different clusters (each sees its own
unshared keys, never the other's). So an assignment holds a lease on one document of
``<prefix>-locks`` (taken with ``create``; one left by a dead worker is taken over by
compare-and-set once expired) while it: reads the batch's stored signatures by id; refreshes
the signatures index, so every signature stored under an earlier lease is visible; reads the
stored signatures that share a key with the batch; decides in memory, in order, as SQLite does;
renews the lease by compare-and-set, which fails if another worker has taken it over; writes
the new signatures with ``create``; releases. What this guarantees, across any number of
workers and machines:

- assignments are serialised, so every signature sees every signature stored before it:
  copies enriched at the same moment by several workers land in one cluster (held by
  ``tests/test_duplicates.py`` with four processes);
- a redelivered mention keeps the cluster it was given, even one given to two workers at once
  (the second reads, by id, the signature the first stored);
- a worker whose lease ran out (``lock_lease``, 60 s: a cluster refusing writes for that long)
  finds out when it renews and assigns its batch again (`StoreUnavailable`, retried). One that
  stalls for longer than the lease between renewing and writing could still write an
  assignment made without the newest signatures: a copy would then start its own cluster. A
  worker that dies holding the lease delays the others by up to the lease.

Workers' clocks must agree within a fraction of the lease (NTP does).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from index.base import chunks
from index.elastic.client import MAX_WINDOW, ConflictError, ElasticIndices, NotFoundError
from index.elastic.mapping import DATE, KEYWORD, LONG, strict
from ingest.errors import StoreUnavailable
from ingest.store import Signature

log = logging.getLogger(__name__)

SIGNATURES_MAPPING = strict(mention_id=KEYWORD, cluster=KEYWORD, keys=LONG)
LOCKS_MAPPING = strict(owner=KEYWORD, expires=DATE)

_LOCK = "clusters"


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
    def locks_index(self) -> str:
        return self.indices.named("locks")

    @property
    def index_names(self) -> list[str]:
        """The indices it keeps (for `index.elastic.store.ElasticStore.drop`)."""
        return [self.signatures_index, self.locks_index]

    def setup(self) -> None:
        self.indices.ensure_index(self.signatures_index, SIGNATURES_MAPPING)
        self.indices.ensure_index(self.locks_index, LOCKS_MAPPING)

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        if not signatures:
            return {}
        with self._lock(_LOCK) as renew:
            stored = self.indices.mget(
                self.signatures_index, [s.mention_id for s in signatures], ["cluster"]
            )
            out = {mention_id: d["_source"]["cluster"] for mention_id, d in stored.items()}
            new = [s for s in signatures if s.mention_id not in out]
            counts = self._shared(k for s in new for k in s.keys)
            written: list[tuple[Signature, str]] = []
            for signature in new:
                if signature.mention_id in out:  # a batch may repeat a mention
                    continue
                keys = list(dict.fromkeys(signature.keys))
                shared: Counter[str] = Counter()
                if signature.joins:
                    for key in keys:
                        shared.update(counts.get(key, {}))
                cluster = (
                    min(shared, key=lambda c: (-shared[c], c)) if shared else signature.mention_id
                )
                for key in keys:  # stored in order: the next ones see it
                    counts.setdefault(key, Counter())[cluster] += 1
                out[signature.mention_id] = cluster
                written.append((signature, cluster))
            renew()
            self._write_signatures(written)
        return out

    def _shared(self, keys: Iterable[int]) -> dict[int, Counter[str]]:
        """For each of ``keys``, how many stored signatures of each cluster have it."""
        wanted = list(dict.fromkeys(keys))
        counts: dict[int, Counter[str]] = {}
        if not wanted:
            return counts
        index = self.signatures_index
        # Every signature stored before this lease, by any worker, visible to the search.
        self.indices.wrote(index)
        self.indices.fresh(index)
        keyset = set(wanted)
        for chunk in chunks(wanted, 10_000):
            for hits in self.indices.pages(
                "read near-duplicate signatures",
                index=index,
                query={"terms": {"keys": list(chunk)}},
                sort=[{"mention_id": "asc"}],
                size=MAX_WINDOW,
                source_includes=["cluster", "keys"],
            ):
                for hit in hits:
                    doc = hit["_source"]
                    for key in keyset.intersection(doc["keys"]):
                        counts.setdefault(key, Counter())[doc["cluster"]] += 1
        return counts

    def _write_signatures(self, written: list[tuple[Signature, str]]) -> None:
        conflicts = self.indices.bulk(
            "store near-duplicate signatures",
            self.signatures_index,
            (
                {
                    "_op_type": "create",
                    "_index": self.signatures_index,
                    "_id": s.mention_id,
                    "_source": {"mention_id": s.mention_id, "cluster": cluster, "keys": s.keys},
                }
                for s, cluster in written
            ),
        )
        if conflicts:
            raise StoreUnavailable(
                f"{self.indices.display}: {len(conflicts)} near-duplicate signatures were stored "
                f"by another worker meanwhile; the batch will be assigned again"
            )

    def _lost_lock(self) -> StoreUnavailable:
        return StoreUnavailable(
            f"{self.indices.display}: another worker took the near-duplicate lock over (this one "
            f"held it for more than its lease, {self.lock_lease:.0f} s); the batch will be "
            f"assigned again"
        )

    # -- the lease -----------------------------------------------------------------------------

    @contextmanager
    def _lock(self, name: str) -> Iterator[Callable[[], None]]:
        """Hold the lease on ``name``; the function it gives renews it, or raises
        `StoreUnavailable` if another worker took it over meanwhile."""
        owner = uuid.uuid4().hex
        held = self.indices.call("take the lock", lambda: self._acquire(name, owner))

        def renew() -> None:
            nonlocal held
            held = self.indices.call("renew the lock", lambda: self._renew(name, owner, held))

        try:
            yield renew
        finally:
            self.indices.call("release the lock", lambda: self._release(name, held))

    def _acquire(self, name: str, owner: str) -> dict[str, Any]:
        """Take the lease; the version of the lock document that holds it."""
        give_up = time.monotonic() + self.lock_wait
        while True:
            lease = {"owner": owner, "expires": int((time.time() + self.lock_lease) * 1000)}
            try:
                return dict(
                    self.indices.client.create(index=self.locks_index, id=name, document=lease)
                )
            except ConflictError:
                pass
            try:
                current = self.indices.client.get(index=self.locks_index, id=name)
            except NotFoundError:
                continue  # released meanwhile
            if current["_source"]["expires"] < time.time() * 1000:
                try:
                    taken = self.indices.client.index(
                        index=self.locks_index,
                        id=name,
                        document=lease,
                        if_seq_no=current["_seq_no"],
                        if_primary_term=current["_primary_term"],
                    )
                except ConflictError:
                    continue  # another worker took it over first
                log.warning("%s: took over an expired lock on %s", self.indices.display, name)
                return dict(taken)
            if time.monotonic() > give_up:
                raise StoreUnavailable(
                    f"{self.indices.display}: the near-duplicate lock is held by another worker "
                    f"for more than {self.lock_wait:.0f} s; will try again"
                )
            time.sleep(random.uniform(0.005, 0.05))

    def _renew(self, name: str, owner: str, held: dict[str, Any]) -> dict[str, Any]:
        lease = {"owner": owner, "expires": int((time.time() + self.lock_lease) * 1000)}
        try:
            return dict(
                self.indices.client.index(
                    index=self.locks_index,
                    id=name,
                    document=lease,
                    if_seq_no=held["_seq_no"],
                    if_primary_term=held["_primary_term"],
                )
            )
        except (ConflictError, NotFoundError):
            raise self._lost_lock() from None

    def _release(self, name: str, held: dict[str, Any]) -> None:
        try:
            self.indices.client.delete(
                index=self.locks_index,
                id=name,
                if_seq_no=held["_seq_no"],
                if_primary_term=held["_primary_term"],
            )
        except (ConflictError, NotFoundError):
            log.warning(
                "%s: the lock on %s was taken over before its release", self.indices.display, name
            )
