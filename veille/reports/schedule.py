"""Scheduled reports: which periods are due (`due_periods`), what was produced and delivered
(`ReportsDb`, a state file beside the alerts'), and the loop that produces each report once per
period and delivers it (`ReportsWorker`), in ``veille run`` or ``veille reports run``.

A period's report is produced once: its files are written under DATA_DIR/reports/NAME/ and
recorded before any delivery. Each delivery (a channel, the directory) is recorded as ``sending``
before it starts and ``sent`` after, so a restart never sends a report again, and a report due
while Veille was down is produced when it comes back (the periods missed since the last one it
produced, at most `MAX_CATCH_UP`). A crash between handing an email to the server and recording
it leaves a ``sending`` mark: that delivery is tried once more, with the same Message-ID, so the
mail systems that drop duplicate Message-IDs show it once.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from index.report import Period
from ingest.clock import Clock
from ingest.errors import TransientError
from ingest.sqlite import SqliteFile
from veille.reports.settings import ReportSchedule

if TYPE_CHECKING:
    from alerts.channels.base import Notifier
    from alerts.channels.email import EmailNotifier
    from veille.app import App

log = logging.getLogger("veille.reports")

MAX_CATCH_UP = 12
"""The most periods produced at once after a downtime (the latest ones)."""
MAX_ATTEMPTS = 8
"""Attempts of one delivery before it is given up (and said so in ``veille reports list``)."""
CHECK_EVERY_S = 30.0


# -- periods ----------------------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_of(schedule: ReportSchedule, first: date, zone: ZoneInfo) -> Period:
    """The period of ``schedule`` that starts on ``first``."""
    if schedule.period == "daily":
        return Period.of_days(first, 1, zone, first.isoformat())
    if schedule.period == "weekly":
        year, week, _ = first.isocalendar()
        return Period.of_days(first, 7, zone, f"{year}-W{week:02d}")
    days = (_add_months(first, 1) - first).days
    return Period.of_days(first, days, zone, f"{first:%Y-%m}")


def _first_day(schedule: ReportSchedule, day: date) -> date:
    """The first day of the period of ``schedule`` that holds ``day``."""
    if schedule.period == "daily":
        return day
    if schedule.period == "weekly":
        return day - timedelta(days=day.weekday())
    return _month_start(day)


def due_at(schedule: ReportSchedule, period: Period, zone: ZoneInfo) -> datetime:
    """When the report of ``period`` is due: the configured day and time after it ends."""
    when = schedule.when
    end = period.end.astimezone(zone).date()
    if schedule.period == "weekly":
        assert when.day is not None
        day = end + timedelta(days=when.day)  # the period ends on a Monday (weekday 0)
    elif schedule.period == "monthly":
        assert when.day is not None
        day = end.replace(day=when.day)
    else:
        day = end
    return datetime.combine(day, time(when.hour, when.minute), zone)


def due_periods(
    schedule: ReportSchedule, now: datetime, zone: ZoneInfo, after: str | None
) -> list[Period]:
    """The periods whose report is due at ``now`` and that come after the period labelled
    ``after`` (the last one produced; None: only the latest due period), oldest first."""
    today = now.astimezone(zone).date()
    first = _first_day(schedule, today)
    # The latest period that has ended, then step back until its report is due.
    candidate = period_of(schedule, _previous_first(schedule, first), zone)
    while due_at(schedule, candidate, zone) > now:
        candidate = period_of(schedule, _previous_first(schedule, candidate.start.date()), zone)
    if after is None:
        return [candidate]
    periods: list[Period] = []
    while candidate.label > after and len(periods) < MAX_CATCH_UP:
        periods.append(candidate)
        candidate = period_of(schedule, _previous_first(schedule, candidate.start.date()), zone)
    return periods[::-1]


def parse_period(schedule: ReportSchedule, label: str, zone: ZoneInfo) -> Period:
    """The period of ``schedule`` named ``label``: ``2026-W48`` (weekly), ``2026-11-30``
    (daily), ``2026-11`` (monthly); a `ValueError` says the form."""
    forms = {"weekly": "2026-W48", "daily": "2026-11-30", "monthly": "2026-11"}
    try:
        if schedule.period == "weekly":
            return Period.iso_week(label, zone)
        if schedule.period == "daily":
            return period_of(schedule, date.fromisoformat(label), zone)
        return period_of(schedule, date.fromisoformat(f"{label}-01"), zone)
    except ValueError:
        raise ValueError(
            f"'{label}' is not a period of the {schedule.period} report {schedule.name}: "
            f"write it {forms[schedule.period]}"
        ) from None


def _previous_first(schedule: ReportSchedule, first: date) -> date:
    if schedule.period == "daily":
        return first - timedelta(days=1)
    if schedule.period == "weekly":
        return first - timedelta(days=7)
    return _add_months(first, -1)


# -- state ------------------------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS produced (
    name TEXT NOT NULL, period TEXT NOT NULL, at INTEGER NOT NULL, files TEXT NOT NULL,
    summary TEXT NOT NULL, subject TEXT NOT NULL, PRIMARY KEY (name, period));
CREATE TABLE IF NOT EXISTS deliveries (
    name TEXT NOT NULL, period TEXT NOT NULL, target TEXT NOT NULL, status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, at INTEGER, error TEXT,
    PRIMARY KEY (name, period, target));
"""


class ReportsUnavailable(TransientError):
    """Raised when the reports state file is locked or cannot be written for now."""


@dataclass(frozen=True)
class Produced:
    name: str
    period: str
    at: datetime
    files: list[Path]
    summary: str
    subject: str


@dataclass(frozen=True)
class Delivery:
    target: str
    status: str
    """``sending``, ``sent``, ``failed`` (will be tried again) or ``given up``."""
    attempts: int
    at: datetime | None
    error: str | None


def _create(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _dt(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value is not None else None


class ReportsDb:
    """What was produced and delivered, per report and period."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = SqliteFile(path, kind="the reports state file", unavailable=ReportsUnavailable)
        self.file.setup(SCHEMA, _create, marker="produced")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self.file.write() as conn:
            yield conn

    def last_period(self, name: str) -> str | None:
        rows = self.file.read("SELECT MAX(period) FROM produced WHERE name = ?", (name,))
        return str(rows[0][0]) if rows and rows[0][0] is not None else None

    def produced(self, name: str, period: str | None = None) -> list[Produced]:
        sql = "SELECT name, period, at, files, summary, subject FROM produced WHERE name = ?"
        params: list[Any] = [name]
        if period is not None:
            sql += " AND period = ?"
            params.append(period)
        rows = self.file.read(sql + " ORDER BY period DESC", params)
        return [
            Produced(
                n,
                p,
                _dt(at) or datetime.now(UTC),
                [Path(f) for f in json.loads(files)],
                summary,
                subject,
            )
            for n, p, at, files, summary, subject in rows
        ]

    def record_produced(self, produced: Produced, targets: Sequence[str]) -> None:
        """Record the files of a period and the deliveries still to make, together."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO produced VALUES (?, ?, ?, ?, ?, ?)",
                (
                    produced.name,
                    produced.period,
                    _ms(produced.at),
                    json.dumps([str(f) for f in produced.files]),
                    produced.summary,
                    produced.subject,
                ),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO deliveries (name, period, target, status) "
                "VALUES (?, ?, ?, 'pending')",
                [(produced.name, produced.period, t) for t in targets],
            )

    def deliveries(self, name: str, period: str) -> list[Delivery]:
        rows = self.file.read(
            "SELECT target, status, attempts, at, error FROM deliveries"
            " WHERE name = ? AND period = ? ORDER BY target",
            (name, period),
        )
        return [Delivery(t, s, a, _dt(at), e) for t, s, a, at, e in rows]

    def mark(
        self,
        name: str,
        period: str,
        target: str,
        status: str,
        now: datetime,
        error: str | None = None,
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET status = ?, at = ?, error = ?,"
                " attempts = attempts + (? = 'sending') WHERE name = ? AND period = ?"
                " AND target = ?",
                (status, _ms(now), error, status, name, period, target),
            )

    def close(self) -> None:
        self.file.close()


# -- producing and delivering -----------------------------------------------------------------


class ReportsWorker:
    """Produces each scheduled report once per period and delivers it."""

    def __init__(self, app: App, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.settings = app.settings
        self.db = ReportsDb(app.settings.state_dir / "reports.db")
        self._notifiers: dict[str, Notifier] | None = None

    @property
    def notifiers(self) -> dict[str, Notifier]:
        if self._notifiers is None:
            self._notifiers = self.app.notifiers()
        return self._notifiers

    def zone(self, schedule: ReportSchedule) -> ZoneInfo:
        return ZoneInfo(schedule.timezone) if schedule.timezone else self.settings.zone

    def tick(self) -> int:
        """Produce what is due and deliver what is pending; return how many reports were
        produced."""
        made = 0
        now = self.clock.now()
        for schedule in self.settings.reports:
            zone = self.zone(schedule)
            for period in due_periods(schedule, now, zone, self.db.last_period(schedule.name)):
                self.produce(schedule, period)
                made += 1
            for produced in self.db.produced(schedule.name)[:MAX_CATCH_UP]:
                self.deliver(schedule, produced)
        return made

    def produce(self, schedule: ReportSchedule, period: Period) -> Produced:
        """Build the report of ``period``, write its files, and record them with the deliveries
        to make (all of them again when it was produced before: a resend)."""
        from veille.reports.files import write_report
        from veille.reports.render import View
        from veille.reports.weekly import build_report

        report = build_report(self.app, schedule.brands, period, lang=schedule.language)
        folder = self.settings.data_dir / "reports" / schedule.name
        files = [write_report(report, fmt, folder, schedule.name) for fmt in schedule.formats]
        view = View(report)
        produced = Produced(
            schedule.name,
            period.label,
            self.clock.now(),
            files,
            view.summary(),
            f"{view.title} — {view.subtitle}",
        )
        targets = [f"channel:{c}" for c in schedule.channels]
        if schedule.directory is not None:
            targets.append("directory")
        self.db.record_produced(produced, targets)
        log.info(
            "report %s for %s written: %s",
            schedule.name,
            period.label,
            ", ".join(str(f) for f in files),
        )
        return produced

    def deliver(self, schedule: ReportSchedule, produced: Produced) -> None:
        for delivery in self.db.deliveries(produced.name, produced.period):
            if delivery.status in ("sent", "given up"):
                continue
            now = self.clock.now()
            self.db.mark(produced.name, produced.period, delivery.target, "sending", now)
            try:
                self._send(schedule, produced, delivery.target)
            except Exception as exc:  # one failed delivery must not stop the others
                error = self._scrub(
                    delivery.target,
                    f"{type(exc).__name__}: {exc}" if not _is_delivery_error(exc) else str(exc),
                )
                given_up = delivery.attempts + 1 >= MAX_ATTEMPTS or not _retryable(exc)
                self.db.mark(
                    produced.name,
                    produced.period,
                    delivery.target,
                    "given up" if given_up else "failed",
                    now,
                    error,
                )
                log.warning(
                    "report %s for %s not delivered to %s%s: %s",
                    produced.name,
                    produced.period,
                    delivery.target,
                    " (given up)" if given_up else "",
                    error,
                )
                continue
            self.db.mark(produced.name, produced.period, delivery.target, "sent", now)
            log.info(
                "report %s for %s delivered to %s", produced.name, produced.period, delivery.target
            )

    def _scrub(self, target: str, text: str) -> str:
        notifier = self.notifiers.get(target.removeprefix("channel:"))
        return notifier.scrub(text) if notifier is not None else text

    def _send(self, schedule: ReportSchedule, produced: Produced, target: str) -> None:
        if target == "directory":
            assert schedule.directory is not None
            schedule.directory.mkdir(parents=True, exist_ok=True)
            for path in produced.files:
                tmp = schedule.directory / f".{path.name}.part"
                shutil.copyfile(path, tmp)
                tmp.replace(schedule.directory / path.name)
            return
        from alerts.channels.email import EmailNotifier
        from alerts.channels.webhook import WebhookNotifier

        notifier = self.notifiers[target.removeprefix("channel:")]
        key = f"report-{produced.name}-{produced.period}"
        if isinstance(notifier, EmailNotifier):
            notifier.send_message(self._mail(notifier, produced, key))
        elif isinstance(notifier, WebhookNotifier):
            notifier.post_signed(_webhook_body(produced, key), "report", key)
        else:  # the settings allow only these two
            raise TypeError(f"{target} cannot carry a report")

    def _mail(self, notifier: EmailNotifier, produced: Produced, key: str) -> EmailMessage:
        mail = notifier.envelope(produced.subject, key)
        mail["X-Veille-Report"] = f"{produced.name} {produced.period}"
        mail.set_content(
            produced.summary + "\n\n" + "\n".join(f.name for f in produced.files) + "\n"
        )
        for path in produced.files:
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            main, sub = kind.split("/", 1)
            mail.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=path.name)
        return mail

    def next_due(self, schedule: ReportSchedule) -> datetime:
        """When the next report of ``schedule`` is due."""
        zone = self.zone(schedule)
        today = self.clock.now().astimezone(zone).date()
        current = period_of(schedule, _first_day(schedule, today), zone)
        previous = period_of(schedule, _previous_first(schedule, current.start.date()), zone)
        due = due_at(schedule, previous, zone)
        return due if due > self.clock.now() else due_at(schedule, current, zone)

    def run(self, stop: threading.Event, *, until_idle: bool = False) -> None:
        """Check every `CHECK_EVERY_S` until ``stop`` (once with ``until_idle``)."""
        try:
            while not stop.is_set():
                try:
                    self.tick()
                except TransientError as exc:
                    log.warning("reports: %s; trying again in %.0f s", exc, CHECK_EVERY_S)
                if until_idle:
                    return
                stop.wait(CHECK_EVERY_S)
        finally:
            self.close()

    def close(self) -> None:
        self.db.close()


def _is_delivery_error(exc: Exception) -> bool:
    from alerts.channels.base import DeliveryError

    return isinstance(exc, DeliveryError)


def _retryable(exc: Exception) -> bool:
    from alerts.channels.base import DeliveryError

    return exc.retryable if isinstance(exc, DeliveryError) else isinstance(exc, OSError)


def _webhook_body(produced: Produced, key: str) -> bytes:
    import base64

    files = [
        {
            "name": path.name,
            "content_type": mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            "content_base64": base64.b64encode(path.read_bytes()).decode(),
        }
        for path in produced.files
    ]
    data = {
        "event": "report",
        "report": produced.name,
        "period": produced.period,
        "subject": produced.subject,
        "summary": produced.summary,
        "files": files,
        "idempotency_key": key,
    }
    return json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
