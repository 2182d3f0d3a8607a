"""Backtests: replay a series through a rule's detector and incident tracker, and list the alerts
it would have fired.

The replay drives the very objects the live worker drives (`Detector.advance`, then
`Tracker.observe` at the end of each bucket), so what a backtest shows is what the worker would
have paged, confirmation window and cooldown included. Quiet hours hold pages back but never
hide an alert, so the backtest lists every alert that fires.

Series come from a ``timestamp,value`` CSV file (the NAB benchmark's format: each row is one
bucket, or finer rows summed into buckets of ``step``) or from the store (`store_series`).
"""

from __future__ import annotations

import csv
import math
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.buckets import BucketStore
from alerts.db import AlertsDb
from alerts.detectors import Detector, ShareDetector
from alerts.incidents import IncidentState, Tracker
from alerts.settings import Rule
from ingest.errors import ConfigError
from ingest.store import MentionStore

Point = tuple[datetime, float]


@dataclass(frozen=True)
class BacktestAlert:
    """An alert a replay fired: at the end of the bucket that started at ``timestamp``."""

    timestamp: datetime
    score: float
    severity: str
    observed: float
    expected: float
    window_observed: float
    window_expected: float
    since: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "timestamp": _iso(self.timestamp),
            "score": round(self.score, 2),
            "severity": self.severity,
            "observed": round(self.observed, 3),
            "expected": round(self.expected, 3),
            "window_observed": round(self.window_observed, 3),
            "window_expected": round(self.window_expected, 3),
            "since": _iso(self.since),
        }


def _iso(value: datetime) -> str:
    if value.tzinfo is not None and value.utcoffset() == timedelta(0):
        value = value.replace(tzinfo=None)
    return value.isoformat(sep=" ")


def parse_timestamp(text: str) -> datetime:
    """A series timestamp: ISO 8601, with a space or a T; naive times are UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_series(path: Path) -> list[Point]:
    """The rows of a ``timestamp,value`` CSV file, oldest first."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read series {path}: {exc.strerror}") from None
    points: list[Point] = []
    with handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"timestamp", "value"} <= set(reader.fieldnames):
            raise ConfigError(f"{path}: expected a CSV header 'timestamp,value'")
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["value"])
                if not math.isfinite(value):
                    raise ValueError("not a finite number")
                points.append((parse_timestamp(row["timestamp"]), value))
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{path}:{line}: bad row {row}: {exc}") from None
    points.sort(key=lambda p: p[0])
    return points


def rebucket(points: Iterable[Point], step: timedelta) -> Iterator[Point]:
    """Sum rows into buckets of ``step`` counted from the first row. Each bucket is named by
    its first row's timestamp, so alert times are times of the series; buckets with no row are
    skipped (a gap in a file is missing data, not a count of zero)."""
    origin: datetime | None = None
    current: int | None = None
    stamp: datetime | None = None
    total = 0.0
    for t, value in points:
        if origin is None:
            origin = t
        index = int((t - origin) / step)
        if index != current:
            if stamp is not None:
                yield stamp, total
            current, stamp, total = index, t, 0.0
        total += value
    if stamp is not None:
        yield stamp, total


def replay(
    points: Iterable[tuple[datetime, Any]],
    detector: Detector | ShareDetector,
    tracker: Tracker,
    *,
    severity: str = "warning",
) -> list[BacktestAlert]:
    """Every alert the rule fires over ``points`` (closed buckets, oldest first; values are
    (negative, total) pairs for a `ShareDetector`)."""
    state: Any = detector.initial()
    incident = IncidentState()
    alerts: list[BacktestAlert] = []
    for start, value in points:
        verdict = detector.advance(state, start, value)
        for action in tracker.observe(incident, verdict, start + tracker.step):
            if action.kind == "fire":
                alerts.append(
                    BacktestAlert(
                        timestamp=start,
                        score=verdict.score,
                        severity=severity,
                        observed=verdict.observed,
                        expected=verdict.expected,
                        window_observed=verdict.window_observed,
                        window_expected=verdict.window_expected,
                        since=action.since,
                    )
                )
    return alerts


def store_series(
    store: MentionStore, rule: Rule, brand: str, since: datetime, until: datetime, step: timedelta
) -> list[tuple[datetime, Any]]:
    """``brand``'s series for ``rule``'s metric, counted from the store's mentions by the very
    code the worker counts with (`alerts.buckets`), in a scratch state file."""
    with tempfile.TemporaryDirectory(prefix="veille-backtest-") as scratch:
        db = AlertsDb(Path(scratch) / "alerts.db")
        try:
            buckets = BucketStore(db, step, min_followers=rule.min_followers)
            buckets.rebuild(store, [brand], since, until)
            start = buckets.bucket_of(since)
            series = buckets.series(
                brand, start, buckets.bucket_of(until) + int(step.total_seconds())
            )
        finally:
            db.close()
    return [(c.start, c.value(rule.metric)) for c in series]
