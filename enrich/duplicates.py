"""Near-duplicates: syndicated copies and retweets of one text share a cluster.

A mention's signature is a set of MinHash LSH keys (Broder 1997; Leskovec, Rajaraman and
Ullman, "Mining of Massive Datasets", ch. 3) over the word 3-shingles of its normalised text:
folded words (`ingest.text`), without URLs, without the ``RT @handle:`` of a retweet, and
without the word an ellipsis cut in two (a truncated retweet).

- `BANDS` keys of `ROWS` min-hashes each: two texts whose shingle sets have Jaccard similarity
  J share at least one key with probability ``1 - (1 - J**ROWS)**BANDS``: 0.3 -> 3 %,
  0.5 -> 32 %, 0.7 -> 87 %, 0.8 -> 98 %, 0.9 -> 100 %. A copy with a line added ("Avec AFP")
  or a word changed is found; two posts on the same subject are not.
- one more key, the hash of the first `HEAD_TOKENS` words, finds the original of a retweet that
  the network truncated ("RT @x: the first 120 characters…").

`DuplicateDetector` asks the store (`ClusterIndex.assign_clusters`) for the cluster that shares the
most keys with the mention, else the mention starts its own cluster, named after its id. The
keys live in the store, not in the worker: every enrich worker, in any process or on any
machine, sees the same index and the store assigns atomically, so two copies enriched at the
same moment by two workers land in one cluster, and a redelivered mention keeps its cluster.

Short texts are different: two people who both write "panne Lumen !" are two voices, not a
copy. A text of fewer than ``min_tokens`` words starts its own cluster unless it is a retweet
(its keys are stored all the same, so a retweet of it finds it).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ingest.record import Mention
from ingest.store import ClusterIndex, Signature
from ingest.text import tokenize

BANDS = 12
ROWS = 5
HEAD_TOKENS = 12
_MAX_SHINGLES = 1024
_RETWEET = re.compile(r"^\s*RT\s+@\w+:?\s*", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|\bwww\.\S+")
_CUT = re.compile(r"\S*(…|\.\.\.)\s*$")

U64 = npt.NDArray[np.uint64]

# Fixed seeds: keys must be the same in every process, on every machine, in every version.
_rng = np.random.default_rng(20_261_102)
_A = _rng.integers(1, 2**63, size=BANDS * ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _rng.integers(0, 2**63, size=BANDS * ROWS, dtype=np.uint64)
_BAND_SALT = _rng.integers(1, 2**63, size=BANDS + 1, dtype=np.uint64)
_ROW_MULT = _rng.integers(1, 2**63, size=ROWS, dtype=np.uint64) * np.uint64(2) + np.uint64(1)


@lru_cache(maxsize=500_000)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")


def _mix(x: U64) -> U64:
    """splitmix64's finaliser: spreads every input bit over the 64 output bits."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def normalise(text: str) -> tuple[list[str], bool]:
    """The words a signature is made of, and whether the text is a retweet."""
    retweet = bool(_RETWEET.match(text))
    text = _URL.sub(" ", _RETWEET.sub("", text, count=1))
    if text.rstrip().endswith(("…", "...")):
        text = _CUT.sub("", text)
    return tokenize(text), retweet


def shingles(tokens: Sequence[str]) -> U64:
    """64-bit hashes of the word 3-shingles of ``tokens`` (of the words, when fewer than 3)."""
    hashes = np.fromiter((_token_hash(t) for t in tokens), dtype=np.uint64, count=len(tokens))
    if len(hashes) < 3:
        return hashes
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as intended
        return _mix(
            hashes[:-2] * np.uint64(0x9E3779B97F4A7C15)
            + hashes[1:-1] * np.uint64(0xC2B2AE3D27D4EB4F)
            + hashes[2:]
        )[:_MAX_SHINGLES]


def lsh_keys_batch(texts: Sequence[Sequence[str]]) -> list[tuple[int, ...]]:
    """The LSH keys of each tokenised text: one per band, plus the head key when the text is
    long enough. Computed for the whole batch at once (numpy's overhead is per call)."""
    out: list[tuple[int, ...]] = [() for _ in texts]
    present = [i for i, tokens in enumerate(texts) if tokens]
    if not present:
        return out
    parts = [shingles(texts[i]) for i in present]
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    values = np.concatenate(parts)
    with np.errstate(over="ignore"):
        # BANDS*ROWS universal hash functions (multiply-add mod 2**64), minimum per text.
        minima = np.minimum.reduceat(np.outer(values, _A) + _B, starts, axis=0)
        rows = minima.reshape(len(present), BANDS, ROWS) * _ROW_MULT
        bands = _mix(rows.sum(axis=2, dtype=np.uint64) ^ _BAND_SALT[:BANDS]).view(np.int64)
        heads = [
            _token_hash(" ".join(texts[i][:HEAD_TOKENS])) if len(texts[i]) >= HEAD_TOKENS else 0
            for i in present
        ]
        head_keys = _mix(np.array(heads, dtype=np.uint64) ^ _BAND_SALT[BANDS]).view(np.int64)
    for row, i in enumerate(present):
        keys = bands[row].tolist()
        if heads[row]:
            keys.append(int(head_keys[row]))
        out[i] = tuple(keys)
    return out


def lsh_keys(tokens: Sequence[str]) -> tuple[int, ...]:
    """The LSH keys of one tokenised text (see `lsh_keys_batch`)."""
    return lsh_keys_batch([tokens])[0]


def signature_text(mention: Mention, min_tokens: int) -> str:
    """What a mention's signature is computed from: its text, with the title when short."""
    text = mention.text or ""
    if mention.title and len(text.split()) < min_tokens:
        return f"{mention.title}\n{text}"
    return text


class DuplicateDetector:
    """Assigns near-duplicate clusters through the store's key index."""

    def __init__(self, store: ClusterIndex, *, min_tokens: int = 8) -> None:
        self.store = store
        self.min_tokens = min_tokens

    def signatures(self, mentions: Sequence[Mention]) -> list[Signature]:
        normalised = [normalise(signature_text(m, self.min_tokens)) for m in mentions]
        keys = lsh_keys_batch([tokens for tokens, _ in normalised])
        return [
            Signature(m.id, k, joins=retweet or len(tokens) >= self.min_tokens)
            for m, k, (tokens, retweet) in zip(mentions, keys, normalised, strict=True)
        ]

    def clusters(self, mentions: Sequence[Mention]) -> dict[str, str]:
        """Mention id to cluster id, for every mention of the batch."""
        return self.store.assign_clusters(self.signatures(mentions))
