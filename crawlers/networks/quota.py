"""A budget that a platform counts over a period, kept with the connector's cursors.

YouTube counts units a day (10,000 by default, renewed at midnight Pacific Time); X bills each
post read, and Veille holds it to a budget of posts a month (renewed on the month's first day,
UTC). A connector keeps what it spent in its cursors under `QUOTA` (as JSON), so that it is
saved with them, after the poll's mentions are published, and survives a restart;
``veille status`` reads it from there (`quota_of`).

The counting is the connector's own: it is what Veille spent, not what the platform's console
says (another program on the same key, or ``veille sources test``, which saves no cursor, is
not counted), which is why each budget is configurable below the platform's own limit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

QUOTA = "quota"
"""The cursor that holds the connector's `Quota`."""
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass
class Quota:
    """What was spent of ``budget`` in ``period``, which ends at ``reset`` (a POSIX time)."""

    used: int
    budget: int
    unit: str
    """What is counted: ``units`` (YouTube), ``posts`` (X)."""
    period: str
    """The period counted: a Pacific day (``2026-12-02``), a month (``2026-12``)."""
    reset: float

    @property
    def left(self) -> int:
        return max(0, self.budget - self.used)

    def spend(self, amount: int) -> None:
        self.used += amount

    def to_cursor(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def quota_of(cursors: Mapping[str, str]) -> Quota | None:
    """The quota kept in ``cursors``, if any (as it was last saved: its period may be over)."""
    try:
        data = json.loads(cursors[QUOTA])
        return Quota(
            used=int(data["used"]),
            budget=int(data["budget"]),
            unit=str(data["unit"]),
            period=str(data["period"]),
            reset=float(data["reset"]),
        )
    except (KeyError, ValueError, TypeError):
        return None


def current_quota(
    cursors: Mapping[str, str], *, budget: int, unit: str, period: tuple[str, float]
) -> Quota:
    """The quota to count this poll against: the one kept, if ``period`` (its name and when it
    ends) is still the one it counted, else a fresh one; always with today's ``budget``."""
    name, reset = period
    kept = quota_of(cursors)
    used = kept.used if kept is not None and kept.period == name else 0
    return Quota(used=used, budget=budget, unit=unit, period=name, reset=reset)


def pacific_day(now: datetime) -> tuple[str, float]:
    """The Pacific day ``now`` falls in, and its end (the next midnight Pacific Time, when
    Google renews the YouTube Data API's daily quota), daylight saving time included."""
    local = now.astimezone(PACIFIC)
    tomorrow = (local + timedelta(days=1)).date()
    midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=PACIFIC)
    return local.date().isoformat(), midnight.timestamp()


def utc_month(now: datetime) -> tuple[str, float]:
    """The month ``now`` falls in (UTC), and its end: the next month's first day, 00:00 UTC."""
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return f"{now.year:04d}-{now.month:02d}", datetime(year, month, 1, tzinfo=UTC).timestamp()
