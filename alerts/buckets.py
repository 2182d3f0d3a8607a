"""Time buckets per brand: what the detectors read.

Each bucket holds, for one brand: the total volume, the negative volume and the negative volume
weighted by reach (the negative share is their ratio). Counting rules:

- a mention counts once per brand, by id, however many times the bus delivers it;
- a near-duplicate cluster (``enrichment.cluster``: the same press release on three sites)
  counts once, in the bucket of its first mention; a mention without a cluster is its own;
- reach weight: ``1 + log10(1 + audience)``, the audience being the post's views when the source
  gives them, else the author's followers (a post by an account followed by 100,000 weighs 6);
- a mention goes in the bucket of its publication time, unless that bucket was already closed
  (evaluated) when it arrived, less than ``late_within`` ago: then in the first open one. Feeds are
  polled every few minutes, so most mentions arrive a little late, and counting them in a closed
  bucket would hide them from the detector. An old post found much later (a crawler going back in
  time) keeps its own bucket: it is history, not news.

The counts live in `alerts.db.AlertsDb`; `rebuild` recounts them from the store.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from alerts.db import AlertsDb
from alerts.notification import MentionRow, dumps, loads
from alerts.terms import terms_of
from ingest.record import Mention
from ingest.store import Filters, MentionStore

CLOSED_UNTIL = "closed_until"


@dataclass(frozen=True)
class Counts:
    """One bucket of one brand."""

    start: datetime
    total: int = 0
    negative: int = 0
    reach: float = 0.0

    def value(self, metric: str) -> float | tuple[float, float]:
        """What a detector reads for ``metric``: a count, or (negative, total) for the share."""
        if metric == "negative_share":
            return (float(self.negative), float(self.total))
        if metric == "total":
            return float(self.total)
        if metric == "negative_reach":
            return self.reach
        return float(self.negative)


def reach_weight(mention: Mention) -> float:
    views = mention.engagement.views
    audience = views if views is not None else (mention.author.followers if mention.author else 0)
    return 1.0 + math.log10(1.0 + (audience or 0))


def is_negative(mention: Mention) -> bool:
    e = mention.enrichment
    return bool(e and e.sentiment and e.sentiment.label == "negative")


def is_influencer(mention: Mention, min_followers: int) -> bool:
    e = mention.enrichment
    if e and e.influence and e.influence.is_influencer:
        return True
    followers = mention.author.followers if mention.author else None
    return followers is not None and followers >= min_followers


def epoch(t: datetime) -> int:
    return int(t.timestamp())


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def summary(mention: Mention, min_followers: int) -> MentionRow:
    """What an alert shows of a negative mention (kept for a few days)."""
    author = mention.author
    e = mention.enrichment
    text = " ".join((mention.text or mention.title or "").split())
    return MentionRow(
        id=mention.id,
        url=mention.url,
        site=mention.site,
        title=mention.title,
        text=text[:280],
        author=author.display if author else None,
        handle=author.handle if author else None,
        followers=author.followers if author else None,
        influencer=is_influencer(mention, min_followers),
        influence=e.influence.score if e and e.influence else None,
        engagement=mention.engagement.total,
        published=mention.when,
        lang=mention.effective_lang,
    )


class BucketStore:
    """Bucket counts of every brand, in buckets of ``step``."""

    def __init__(
        self,
        db: AlertsDb,
        step: timedelta,
        *,
        min_followers: int = 10_000,
        late_within: timedelta = timedelta(hours=1),
    ) -> None:
        self.db = db
        self.step = step
        self.seconds = int(step.total_seconds())
        self.min_followers = min_followers
        self.late_within = int(late_within.total_seconds())

    def bucket_of(self, t: datetime) -> int:
        s = epoch(t)
        return s - s % self.seconds

    def closed_until(self) -> int | None:
        """Start of the first bucket not yet closed (evaluated), as epoch seconds."""
        value = self.db.get_meta(CLOSED_UNTIL)
        return int(value) if value else None

    # -- writing -------------------------------------------------------------------------------

    def record(
        self, mentions: Sequence[Mention], now: datetime, *, conn: sqlite3.Connection
    ) -> list[tuple[str, Mention]]:
        """Count ``mentions`` (in the caller's transaction); return the (brand, mention) pairs
        seen for the first time, for the signals that react to single mentions."""
        closed = self.closed_until()
        latest = self.bucket_of(now)
        fresh = []
        for mention in mentions:
            e = mention.enrichment
            # A mention whose date is unknown is not counted: it may be years old, and counting
            # it in the hour it was found (a source's first crawl) would make up a buzz.
            if e is None or mention.published is None:
                continue
            for brand in e.brands:
                bucket = min(self.bucket_of(mention.published), latest)
                if closed is not None and closed - self.late_within <= bucket < closed:
                    bucket = closed
                if self._count(conn, brand, mention, bucket):
                    fresh.append((brand, mention))
        return fresh

    def _count(self, conn: sqlite3.Connection, brand: str, mention: Mention, bucket: int) -> bool:
        inserted = conn.execute(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (brand, mention.id, bucket)
        ).rowcount
        if not inserted:
            return False
        negative = is_negative(mention)
        reach = reach_weight(mention)
        cluster = (mention.enrichment.cluster if mention.enrichment else None) or f"m:{mention.id}"
        row = conn.execute(
            "SELECT neg_bucket, neg_reach FROM clusters WHERE brand = ? AND cluster = ?",
            (brand, cluster),
        ).fetchone()
        total = neg = 0
        added_reach = 0.0
        target = bucket
        new_terms = negative_terms = False
        if row is None:
            conn.execute(
                "INSERT INTO clusters VALUES (?, ?, ?, ?, ?)",
                (brand, cluster, bucket, bucket if negative else None, reach if negative else 0.0),
            )
            total, new_terms = 1, True
            if negative:
                neg, added_reach, negative_terms = 1, reach, True
        elif negative and row[0] is None:
            conn.execute(
                "UPDATE clusters SET neg_bucket = ?, neg_reach = ? WHERE brand = ? AND cluster = ?",
                (bucket, reach, brand, cluster),
            )
            neg, added_reach, negative_terms = 1, reach, True
        elif negative and reach > row[1]:
            # The cluster counts once, at the reach of its widest-read copy.
            target, added_reach = int(row[0]), reach - row[1]
            conn.execute(
                "UPDATE clusters SET neg_reach = ? WHERE brand = ? AND cluster = ?",
                (reach, brand, cluster),
            )
        if total or neg or added_reach:
            conn.execute(
                "INSERT INTO buckets VALUES (?, ?, ?, ?, ?) ON CONFLICT (brand, bucket) DO UPDATE"
                " SET total = total + excluded.total, negative = negative + excluded.negative,"
                " reach = reach + excluded.reach",
                (brand, target, total, neg, added_reach),
            )
        if new_terms or negative_terms:
            hour = bucket - bucket % 3600
            conn.executemany(
                "INSERT INTO terms VALUES (?, ?, ?, ?, ?) ON CONFLICT (brand, hour, term) DO UPDATE"
                " SET total = total + excluded.total, negative = negative + excluded.negative",
                [(brand, hour, t, int(new_terms), int(negative_terms)) for t in terms_of(mention)],
            )
        if negative:
            conn.execute(
                "INSERT OR IGNORE INTO negatives VALUES (?, ?, ?, ?, ?)",
                (
                    brand,
                    mention.id,
                    epoch(mention.when),
                    reach,
                    dumps(summary(mention, self.min_followers)),
                ),
            )
        return True

    def close_until(self, conn: sqlite3.Connection, bucket: int) -> None:
        conn.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value ="
            " MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (CLOSED_UNTIL, str(bucket)),
        )

    def prune(self, conn: sqlite3.Connection, now: datetime, keep: timedelta) -> None:
        """Forget buckets, ids and explanations older than ``keep`` (terms: a week and a day)."""
        oldest = epoch(now - keep)
        conn.execute("DELETE FROM seen WHERE bucket < ?", (oldest,))
        conn.execute("DELETE FROM clusters WHERE bucket < ?", (oldest,))
        conn.execute("DELETE FROM buckets WHERE bucket < ?", (oldest,))
        conn.execute("DELETE FROM terms WHERE hour < ?", (epoch(now - timedelta(days=8)),))
        conn.execute("DELETE FROM negatives WHERE published < ?", (epoch(now - timedelta(days=3)),))

    # -- reading -------------------------------------------------------------------------------

    def series(self, brand: str, start: int, end: int) -> list[Counts]:
        """Every bucket of ``brand`` from ``start`` up to ``end`` (excluded), empty ones too."""
        rows = self.db.query(
            "SELECT bucket, total, negative, reach FROM buckets WHERE brand = ? AND bucket >= ?"
            " AND bucket < ? ORDER BY bucket",
            (brand, start, end),
        )
        found = {r[0]: Counts(at(r[0]), r[1], r[2], r[3]) for r in rows}
        return [found.get(b, Counts(at(b))) for b in range(start, end, self.seconds)]

    def first_bucket(self, brand: str) -> int | None:
        rows = self.db.query("SELECT MIN(bucket) FROM buckets WHERE brand = ?", (brand,))
        return int(rows[0][0]) if rows and rows[0][0] is not None else None

    def negatives(self, brand: str, since: datetime) -> list[MentionRow]:
        """``brand``'s negative mentions published since ``since``, widest read first."""
        rows = self.db.query(
            "SELECT doc FROM negatives WHERE brand = ? AND published >= ?"
            " ORDER BY reach DESC, published",
            (brand, epoch(since)),
        )
        return [loads(MentionRow, r[0]) for r in rows]

    def term_counts(
        self, brand: str, start: int, end: int, column: str
    ) -> tuple[dict[str, int], int]:
        """Word counts of ``brand`` over the hours from ``start`` up to ``end`` (epoch seconds,
        whole hours), in ``column`` (total or negative), and how many mentions (clusters) they
        were counted over."""
        assert column in ("total", "negative")
        assert start % 3600 == 0
        assert end % 3600 == 0
        rows = self.db.query(
            f"SELECT term, SUM({column}) FROM terms WHERE brand = ? AND hour >= ? AND hour < ?"
            f" GROUP BY term HAVING SUM({column}) > 0",
            (brand, start, end),
        )
        docs = self.db.query(
            f"SELECT COALESCE(SUM({column}), 0) FROM buckets WHERE brand = ? AND bucket >= ?"
            f" AND bucket < ?",
            (brand, start, end),
        )
        return {r[0]: int(r[1]) for r in rows}, int(docs[0][0])

    # -- rebuilding ----------------------------------------------------------------------------

    def rebuild(
        self, store: MentionStore, brands: Iterable[str], since: datetime, now: datetime
    ) -> dict[str, int]:
        """Recount ``brands`` from the store's mentions published since ``since``; return how
        many mentions were read per brand. Buckets are cut by publication time."""
        counted: dict[str, int] = {}
        for brand in brands:
            with self.db.transaction() as conn:
                for table in ("seen", "clusters", "buckets", "terms", "negatives"):
                    conn.execute(f"DELETE FROM {table} WHERE brand = ?", (brand,))
            counted[brand] = 0
            # Oldest first, so a cluster counts in the bucket of its first mention.
            for batch in store.scan(Filters(brand=brand, since=since, until=now)):
                with self.db.transaction() as conn:
                    dated = [m for m in batch if m.published is not None]
                    for mention in dated:
                        self._count(conn, brand, mention, self.bucket_of(mention.when))
                counted[brand] += len(dated)
        return counted
