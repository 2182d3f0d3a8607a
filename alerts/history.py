"""Alert history and the outbox of notifications.

Every alert is stored (`AlertRecord`): its rule, brand, status (``open``, ``acknowledged``,
``resolved``), times, numbers and its why. Each notification to send is a row of the outbox
(`Delivery`), written in the same transaction as the alert it announces, so an alert is never
recorded without its pages, nor paged without being recorded. `alerts.delivery` sends the
outbox; a row is marked sent only once the channel accepted it. Its status: ``pending``,
``sent``, ``failed`` (given up), or ``unknown`` (given up after an attempt whose outcome is
unknown: it may have arrived). An attempt is written down before it begins (``sending``), so a
sender killed in the middle leaves a trace and the next one knows the outcome is unknown.

Alerts are deduplicated by a key (rule, brand and incident start, or the mention for a single
mention alert): a replay after a crash finds the alert it already opened instead of opening,
and paging, a second one.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.db import AlertsDb
from alerts.notification import Event, Notification, NotifiedAlert, Status, Why, dumps, loads

_COLUMNS = (
    "id, rule, brand, kind, metric, severity, status, opened, since, detected, resolved, acked,"
    " acked_by, score, observed, expected, paged, dedup, why"
)
_DELIVERY_COLUMNS = (
    "id, alert, channel, event, created, status, attempts, next_attempt, last_error, sent, payload,"
    " unknown, sending"
)


def _ts(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _dt(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


@dataclass(frozen=True)
class AlertRecord:
    id: str
    rule: str
    brand: str
    kind: str
    metric: str
    severity: str
    status: Status
    opened: datetime
    since: datetime
    detected: datetime
    resolved: datetime | None
    acked: datetime | None
    acked_by: str | None
    score: float
    observed: float
    expected: float
    paged: bool
    dedup: str
    why: Why

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AlertRecord:
        values = list(row)
        for i in (7, 8, 9, 10, 11):
            values[i] = _dt(values[i])
        values[16] = bool(values[16])
        values[18] = loads(Why, values[18])
        return cls(*values)

    def notification(self, event: Event) -> Notification:
        """What every channel receives: the event, the alert, and its why."""
        alert = NotifiedAlert(
            id=self.id,
            status=self.status,
            rule=self.rule,
            brand=self.brand,
            kind=self.kind,
            metric=self.metric,
            severity=self.severity,
            opened=self.opened,
            resolved=self.resolved,
            acked_by=self.acked_by,
            dedup_key=self.dedup,
        )
        return Notification(event, alert, self.why)


@dataclass(frozen=True)
class Delivery:
    id: int
    alert: str
    channel: str
    event: str
    created: datetime
    status: str
    attempts: int
    next_attempt: datetime
    last_error: str | None
    sent: datetime | None
    payload: Notification
    """The notification as it was when queued."""
    unknown: int = 0
    """Attempts whose outcome is unknown: each may have delivered a copy."""
    interrupted: bool = False
    """An attempt began and never ended: the sender stopped (was killed) while sending it."""


def alert_id(dedup: str) -> str:
    """A short id people can type: the first 8 hex digits of the dedup key's hash."""
    return hashlib.sha256(dedup.encode()).hexdigest()[:8]


class History:
    def __init__(self, db: AlertsDb) -> None:
        self.db = db

    # -- alerts --------------------------------------------------------------------------------

    def open(
        self, conn: sqlite3.Connection, dedup: str, why: Why, opened: datetime, paged: bool
    ) -> AlertRecord | None:
        """Record a new alert (its rule, brand and numbers are those of ``why``); None if one
        with this dedup key exists (a replay)."""
        new = conn.execute(
            f"INSERT OR IGNORE INTO alerts ({_COLUMNS}) VALUES"
            " (?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?, ?, ?)",
            (
                alert_id(dedup),
                why.rule,
                why.brand,
                why.kind,
                why.metric,
                why.severity,
                _ts(opened),
                _ts(why.since),
                _ts(why.detected),
                why.score,
                why.observed,
                why.expected,
                int(paged),
                dedup,
                dumps(why),
            ),
        ).rowcount
        if not new:
            return None
        return self._one(conn, "id = ?", alert_id(dedup))

    def _one(self, conn: sqlite3.Connection, where: str, value: str) -> AlertRecord | None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM alerts WHERE {where}", (value,)).fetchone()
        return AlertRecord.from_row(row) if row else None

    def get(self, ident: str) -> AlertRecord | None:
        """The alert with this id (or a unique prefix of it)."""
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM alerts WHERE id LIKE ? ORDER BY opened DESC LIMIT 2",
            (ident.strip().lower() + "%",),
        )
        return AlertRecord.from_row(rows[0]) if len(rows) == 1 else None

    def by_dedup(self, dedup: str) -> AlertRecord | None:
        rows = self.db.query(f"SELECT {_COLUMNS} FROM alerts WHERE dedup = ?", (dedup,))
        return AlertRecord.from_row(rows[0]) if rows else None

    def select(
        self,
        *,
        status: str | None = None,
        brand: str | None = None,
        rule: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[AlertRecord]:
        clauses: list[str] = ["1"]
        params: list[Any] = []
        if status:
            clauses.append("status = ?")
            params.append(status)
        if brand:
            clauses.append("brand = ? COLLATE NOCASE")
            params.append(brand)
        if rule:
            clauses.append("rule = ?")
            params.append(rule)
        if since:
            clauses.append("opened >= ?")
            params.append(_ts(since))
        rows = self.db.query(
            f"SELECT {_COLUMNS} FROM alerts WHERE {' AND '.join(clauses)}"
            f" ORDER BY opened DESC, id LIMIT ?",
            [*params, limit],
        )
        return [AlertRecord.from_row(r) for r in rows]

    def set_paged(self, conn: sqlite3.Connection, ident: str) -> None:
        conn.execute("UPDATE alerts SET paged = 1 WHERE id = ?", (ident,))

    def resolve(self, conn: sqlite3.Connection, ident: str, now: datetime) -> AlertRecord | None:
        """Mark the alert resolved; None if it already was (or is unknown)."""
        changed = conn.execute(
            "UPDATE alerts SET status = 'resolved', resolved = ?"
            " WHERE id = ? AND status != 'resolved'",
            (_ts(now), ident),
        ).rowcount
        return self._one(conn, "id = ?", ident) if changed else None

    def acknowledge(
        self, conn: sqlite3.Connection, ident: str, who: str, now: datetime
    ) -> AlertRecord | None:
        changed = conn.execute(
            "UPDATE alerts SET status = 'acknowledged', acked = ?, acked_by = ?"
            " WHERE id = ? AND status = 'open'",
            (_ts(now), who, ident),
        ).rowcount
        return self._one(conn, "id = ?", ident) if changed else None

    # -- the outbox ----------------------------------------------------------------------------

    def enqueue(
        self,
        conn: sqlite3.Connection,
        alert: AlertRecord,
        channels: list[str],
        event: Event,
        now: datetime,
    ) -> None:
        payload = dumps(alert.notification(event))
        conn.executemany(
            "INSERT INTO deliveries (alert, channel, event, created, status, next_attempt, payload)"
            " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
            [(alert.id, c, event, _ts(now), _ts(now), payload) for c in channels],
        )

    def due(
        self,
        now: datetime,
        *,
        skip: frozenset[str] = frozenset(),
        lease: timedelta = timedelta(minutes=2),
    ) -> list[Delivery]:
        """Claim the pending notifications whose time has come, oldest first. A claim lasts
        ``lease``: another process (``veille alerts resolve`` beside the worker) does not send
        them meanwhile, and a sender that died has them retried when the lease ends."""
        with self.db.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE status = 'pending'"
                " AND next_attempt <= ? ORDER BY id",
                (_ts(now),),
            ).fetchall()
            rows = [r for r in rows if r[2] not in skip]
            conn.executemany(
                "UPDATE deliveries SET next_attempt = ? WHERE id = ?",
                [(_ts(now + lease), r[0]) for r in rows],
            )
        return [_delivery(r) for r in rows]

    def deliveries(self, ident: str) -> list[Delivery]:
        rows = self.db.query(
            f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE alert = ? ORDER BY id",
            (ident,),
        )
        return [_delivery(r) for r in rows]

    def begin(self, delivery: int, now: datetime) -> None:
        """Write down that an attempt begins, before it does: if the sender dies during it, the
        next sender finds the row `Delivery.interrupted`."""
        with self.db.transaction() as conn:
            conn.execute("UPDATE deliveries SET sending = ? WHERE id = ?", (_ts(now), delivery))

    def mark_sent(self, delivery: int, now: datetime) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET status = 'sent', sent = ?, attempts = attempts + 1,"
                " sending = NULL WHERE id = ?",
                (_ts(now), delivery),
            )

    def interrupted(self, delivery: int, error: str) -> None:
        """Count an attempt that a dead sender left unfinished (its outcome unknown); the row
        stays claimed, to be sent again by the caller."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, unknown = unknown + 1,"
                " last_error = ?, sending = NULL WHERE id = ?",
                (error, delivery),
            )

    def release(self, deliveries: list[int], at: datetime) -> None:
        """Give back claimed notifications that were not tried, to be sent from ``at``."""
        with self.db.transaction() as conn:
            conn.executemany(
                "UPDATE deliveries SET next_attempt = ? WHERE id = ? AND status = 'pending'",
                [(_ts(at), d) for d in deliveries],
            )

    def mark_failed(
        self,
        delivery: int,
        error: str,
        retry_at: datetime | None,
        *,
        maybe_delivered: bool = False,
    ) -> None:
        """Count a failed attempt (``maybe_delivered``: its outcome is unknown): retry at
        ``retry_at``, or give up (None): ``unknown`` if a copy may have arrived, else
        ``failed``."""
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, unknown = unknown + ?,"
                " last_error = ?, sending = NULL, next_attempt = COALESCE(?, next_attempt),"
                " status = CASE WHEN ? THEN 'pending' WHEN unknown + ? > 0 THEN 'unknown'"
                " ELSE 'failed' END WHERE id = ?",
                (
                    int(maybe_delivered),
                    error,
                    _ts(retry_at),
                    retry_at is not None,
                    int(maybe_delivered),
                    delivery,
                ),
            )

    def scrub_errors(self, mask: Callable[[str], str]) -> int:
        """Mask the secrets in the errors already stored (by a version that did not); returns
        how many were changed."""
        rows = self.db.query("SELECT id, last_error FROM deliveries WHERE last_error IS NOT NULL")
        changed = [(masked, i) for i, error in rows if (masked := mask(error)) != error]
        if changed:
            with self.db.transaction() as conn:
                conn.executemany("UPDATE deliveries SET last_error = ? WHERE id = ?", changed)
        return len(changed)

    def prune(self, conn: sqlite3.Connection, now: datetime, keep: timedelta) -> None:
        oldest = _ts(now - keep)
        conn.execute(
            "DELETE FROM deliveries WHERE alert IN (SELECT id FROM alerts WHERE opened < ?"
            " AND status = 'resolved')",
            (oldest,),
        )
        conn.execute("DELETE FROM alerts WHERE opened < ? AND status = 'resolved'", (oldest,))


def _delivery(row: tuple[Any, ...]) -> Delivery:
    created, next_attempt, sent = _dt(row[4]), _dt(row[7]), _dt(row[9])
    assert created is not None
    assert next_attempt is not None
    return Delivery(
        row[0],
        row[1],
        row[2],
        row[3],
        created,
        row[5],
        row[6],
        next_attempt,
        row[8],
        sent,
        loads(Notification, row[10]),
        unknown=row[11],
        interrupted=row[12] is not None,
    )


def update_why(conn: sqlite3.Connection, ident: str, why: Why, score: float) -> None:
    """Refresh what an open alert says (a page after quiet hours, a repeat): the latest numbers."""
    conn.execute(
        "UPDATE alerts SET why = ?, score = MAX(score, ?) WHERE id = ?",
        (dumps(why), score, ident),
    )
