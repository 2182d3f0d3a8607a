"""Near-duplicate clusters in Elasticsearch (`Store.assign_clusters`), with the semantics of the
SQLite store (`index.sqlite`, the reference).

Three indices beside the mentions, under the same prefix, strict, created by set-up:

- ``<prefix>-cluster-signatures``: one document per mention (id: the mention id): its cluster
  and its LSH keys. Once written it is never changed: a redelivered mention keeps its cluster;
- ``<prefix>-cluster-keys``: one document per LSH key (id: the key): how many stored signatures
  of each cluster have it. A new signature that ``joins`` takes the cluster with the most
  (ties: the smallest cluster id), as SQLite counts its join of keys and signatures;
- ``<prefix>-locks``: the lease that serialises assignments.

Why a lock. Elasticsearch has no transaction, and first-writer-wins documents alone (a
``create`` per key) cannot make two copies enriched at the same instant agree: each proposes
its own cluster and claims its keys in one bulk request, the two requests interleave, each wins
some of the shared keys, and whatever rule each then applies to the owners it sees, there is
an interleaving where they pick different clusters (each sees its own unshared keys, never the
other's). So an assignment holds a lease on one document of ``<prefix>-locks`` (taken by
``create``; an expired one is taken over by compare-and-set) for the few requests it takes:
read the signatures and keys it needs by id (real time, no refresh), decide in memory as SQLite
does, write the keys (``create``, or compare-and-set on the version read) and then the
signatures (``create``), release. What this guarantees, across any number of workers and
machines:

- assignments are serialised, so every signature sees every signature stored before it:
  copies enriched at the same moment by several workers land in one cluster;
- a redelivered mention keeps the cluster it was given (its signature document is read first,
  and a signature is written with ``create``, never overwritten);
- a worker that stalls past its lease (``lock_lease``, 60 s; a stuck cluster's retries can
  outlast it) cannot silently undo another's work: its writes fail on the version or on the
  existing document, and its batch is retried (`StoreUnavailable`). Keys it wrote before it
  noticed may count a signature that was not stored: a later copy may then join a cluster by
  one key more than SQLite would count. A worker that dies holding the lease delays the others
  by up to the lease.

Workers' clocks must agree within a fraction of the lease (NTP does).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from index.elastic_base import (
    DATE,
    KEYWORD,
    LONG,
    ConflictError,
    ElasticBase,
    NotFoundError,
    strict,
)
from ingest.errors import StoreUnavailable
from ingest.store import Signature

log = logging.getLogger(__name__)

SIGNATURES_MAPPING = strict(mention_id=KEYWORD, cluster=KEYWORD, keys=LONG)
# ``clusters``: [{"cluster": id, "signatures": n}], read by id only, so not indexed.
KEYS_MAPPING = strict(key=LONG, clusters={"type": "object", "enabled": False})
LOCKS_MAPPING = strict(owner=KEYWORD, expires=DATE)

_LOCK = "clusters"


class ClusterIndices(ElasticBase):
    """The near-duplicate part of `index.elastic.ElasticStore`."""

    lock_lease = 60.0
    """Seconds an assignment may hold the lock before another worker may take it over."""
    lock_wait = 120.0
    """Seconds to wait for the lock before giving up with `StoreUnavailable` (retried)."""

    @property
    def signatures_index(self) -> str:
        return self.named("cluster-signatures")

    @property
    def keys_index(self) -> str:
        return self.named("cluster-keys")

    @property
    def locks_index(self) -> str:
        return self.named("locks")

    def setup_clusters(self) -> None:
        self.ensure_index(self.signatures_index, SIGNATURES_MAPPING)
        self.ensure_index(self.keys_index, KEYS_MAPPING)
        self.ensure_index(self.locks_index, LOCKS_MAPPING)

    def assign_clusters(self, signatures: Sequence[Signature]) -> dict[str, str]:
        if not signatures:
            return {}
        with self._lock(_LOCK):
            stored = self.mget(
                self.signatures_index, [s.mention_id for s in signatures], ["cluster"]
            )
            out = {mention_id: d["_source"]["cluster"] for mention_id, d in stored.items()}
            new = [s for s in signatures if s.mention_id not in out]
            keys = list(dict.fromkeys(str(k) for s in new for k in s.keys))
            found = self.mget(self.keys_index, keys)
            counts = {
                key: Counter({c["cluster"]: c["signatures"] for c in d["_source"]["clusters"]})
                for key, d in found.items()
            }
            written: list[tuple[Signature, str]] = []
            for signature in new:
                if signature.mention_id in out:  # a batch may repeat a mention
                    continue
                own = list(dict.fromkeys(str(k) for k in signature.keys))
                shared: Counter[str] = Counter()
                if signature.joins:
                    for key in own:
                        shared.update(counts.get(key, {}))
                cluster = (
                    min(shared, key=lambda c: (-shared[c], c)) if shared else signature.mention_id
                )
                for key in own:
                    counts.setdefault(key, Counter())[cluster] += 1
                out[signature.mention_id] = cluster
                written.append((signature, cluster))
            self._write_keys(
                {k: counts[k] for k in dict.fromkeys(str(k) for s, _ in written for k in s.keys)},
                found,
            )
            self._write_signatures(written)
        return out

    def _write_keys(self, counts: dict[str, Counter[str]], found: dict[str, Any]) -> None:
        def action(key: str, clusters: Counter[str]) -> dict[str, Any]:
            doc = {
                "key": int(key),
                "clusters": [{"cluster": c, "signatures": n} for c, n in sorted(clusters.items())],
            }
            if key not in found:  # new: unless another worker created it meanwhile
                return {"_op_type": "create", "_index": self.keys_index, "_id": key, "_source": doc}
            # Changed: unless another worker changed it since it was read.
            return {
                "_op_type": "index",
                "_index": self.keys_index,
                "_id": key,
                "if_seq_no": found[key]["_seq_no"],
                "if_primary_term": found[key]["_primary_term"],
                "_source": doc,
            }

        conflicts = self.bulk(
            "store near-duplicate keys",
            self.keys_index,
            (action(k, c) for k, c in counts.items()),
        )
        if conflicts:
            raise self._lost_lock(f"{len(conflicts)} keys")

    def _write_signatures(self, written: list[tuple[Signature, str]]) -> None:
        conflicts = self.bulk(
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
            raise self._lost_lock(f"{len(conflicts)} signatures")

    def _lost_lock(self, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"{self.display}: {what} changed by another worker while this one held the "
            f"near-duplicate lock (its lease of {self.lock_lease:.0f} s ran out?); the batch "
            f"will be assigned again"
        )

    # -- the lease -----------------------------------------------------------------------------

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        owner = uuid.uuid4().hex
        held = self._call("take the lock", lambda: self._acquire(name, owner))
        try:
            yield
        finally:
            self._call("release the lock", lambda: self._release(name, held))

    def _acquire(self, name: str, owner: str) -> dict[str, Any]:
        """Take the lease; the version of the lock document that holds it."""
        give_up = time.monotonic() + self.lock_wait
        while True:
            lease = {"owner": owner, "expires": int((time.time() + self.lock_lease) * 1000)}
            try:
                return dict(self.client.create(index=self.locks_index, id=name, document=lease))
            except ConflictError:
                pass
            try:
                current = self.client.get(index=self.locks_index, id=name)
            except NotFoundError:
                continue  # released meanwhile
            if current["_source"]["expires"] < time.time() * 1000:
                try:
                    taken = self.client.index(
                        index=self.locks_index,
                        id=name,
                        document=lease,
                        if_seq_no=current["_seq_no"],
                        if_primary_term=current["_primary_term"],
                    )
                except ConflictError:
                    continue  # another worker took it over first
                log.warning("%s: took over an expired lock on %s", self.display, name)
                return dict(taken)
            if time.monotonic() > give_up:
                raise StoreUnavailable(
                    f"{self.display}: the near-duplicate lock is held by another worker for "
                    f"more than {self.lock_wait:.0f} s; will try again"
                )
            time.sleep(random.uniform(0.005, 0.05))

    def _release(self, name: str, held: dict[str, Any]) -> None:
        try:
            self.client.delete(
                index=self.locks_index,
                id=name,
                if_seq_no=held["_seq_no"],
                if_primary_term=held["_primary_term"],
            )
        except (ConflictError, NotFoundError):
            log.warning("%s: the lock on %s was taken over before its release", self.display, name)
