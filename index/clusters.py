"""The near-duplicate assignment rule both stores apply (`ClusterIndex.assign_clusters`), decided
in memory over postings, so that the two stores cannot drift apart.

A posting says, for one LSH key and one cluster, how many signatures of that cluster carry the
key. A new signature that joins takes the cluster with the largest sum over its keys: exactly
the number of (key, stored signature) pairs it shares with the cluster, the rule that used to
be computed over every stored signature; but read from one row per key and cluster, so its cost
does not grow with the copies a cluster already has. Each store reads the postings of a batch's
keys, calls `assign`, and writes what it returns, in one transaction (SQLite) or under its lease
(Elasticsearch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ingest.store import Signature

Postings = dict[int, dict[str, int]]
"""For each LSH key, how many stored signatures of each cluster carry it."""


@dataclass
class Assignment:
    """What `assign` decided for a batch: what to answer and what to store."""

    clusters: dict[str, str]
    """Every mention of the batch to its cluster (those assigned before included)."""
    new: list[tuple[Signature, str]] = field(default_factory=list)
    """The signatures to store, in order, each with its cluster and its keys made distinct."""
    added: dict[tuple[int, str], int] = field(default_factory=dict)
    """By (key, cluster), how many of ``new`` carry the key: what the postings gain."""


def distinct(keys: Iterable[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(keys))


def batch_keys(signatures: Sequence[Signature], assigned: dict[str, str]) -> list[int]:
    """The distinct keys of the signatures not ``assigned`` before: the postings to read."""
    return list(
        dict.fromkeys(k for s in signatures if s.mention_id not in assigned for k in s.keys)
    )


def assign(
    signatures: Sequence[Signature], assigned: dict[str, str], postings: Postings
) -> Assignment:
    """Decide the batch in order, as `ClusterIndex.assign_clusters` says: ``assigned`` holds the
    clusters given before to mentions of the batch, ``postings`` the stored postings of (at
    least) `batch_keys`. ``postings`` is updated in place, so a later signature of the batch
    sees the earlier ones; ties go to the smallest cluster id (code point order, which is
    SQLite's byte order of UTF-8)."""
    out = Assignment(dict(assigned))
    added = out.added
    # Plain dicts, not Counters: this runs for every key of every batch.
    for signature in signatures:
        mention_id = signature.mention_id
        if mention_id in out.clusters:  # assigned before, or repeated in the batch
            continue
        keys = distinct(signature.keys)
        cluster = mention_id
        if signature.joins:
            shared: dict[str, int] = {}
            for key in keys:
                for other, count in postings.get(key, {}).items():
                    shared[other] = shared.get(other, 0) + count
            if shared:
                cluster = min(shared, key=lambda c: (-shared[c], c))
        for key in keys:
            counts = postings.setdefault(key, {})
            counts[cluster] = counts.get(cluster, 0) + 1
            added[key, cluster] = added.get((key, cluster), 0) + 1
        out.clusters[mention_id] = cluster
        out.new.append((Signature(mention_id, keys, signature.joins), cluster))
    return out
