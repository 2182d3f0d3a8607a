"""Incidents: when unusual buckets become an alert, when it is paged again, and when it ends.

For one rule and one brand, `Tracker.observe` takes each `Verdict` of the detector (a closed
bucket, or the bucket still filling) with the current time, and returns what to do:

- ``fire``: ``confirm`` of the last ``confirm_of`` buckets are unusual, no incident is open, and
  the last alert fired more than ``cooldown`` ago. The incident opens; it is paged at once unless
  the rule's quiet hours hold it back, in which case it is paged when they end, if still open;
- ``repeat``: the incident is still going on ``repeat_every`` after its last page;
- ``resolve``: for ``resolve_after``, no bucket was unusual or still above twice what was
  expected when the incident began (the detector gets used to a crisis that lasts; the crisis is
  over only when the counts are back near what they were before it). ``paged`` says whether a
  resolution notice goes out: the rule asks for one and the incident was paged.

It is a pure state machine: no clock, no I/O; the state is plain data the worker keeps (so a
restart neither pages twice nor forgets to resolve) and the backtest replays with the very same
rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from alerts.detectors import Verdict
from alerts.settings import IncidentSettings, QuietHours

ActionKind = Literal["fire", "page", "repeat", "resolve"]

ELEVATED = 2.0
"""An open incident goes on while buckets hold more than this times the expectation it began
with."""


@dataclass(frozen=True)
class Action:
    """Something the worker must do. ``fire`` opens an incident (and ``paged`` says whether to
    page now); ``page`` pages an incident that quiet hours held back."""

    kind: ActionKind
    at: datetime
    verdict: Verdict
    since: datetime
    paged: bool = True


@dataclass
class IncidentState:
    """What the tracker remembers between buckets. Times are ISO 8601 strings (JSON-ready)."""

    flags: dict[str, bool] = field(default_factory=dict)
    """Whether each recent bucket (by start) was unusual."""
    open: bool = False
    since: str | None = None
    last_unusual: str | None = None
    last_elevated: str | None = None
    baseline: float = 0.0
    """What one bucket was expected to hold when the incident began."""
    last_fired: str | None = None
    last_paged: str | None = None
    paged: bool = False
    peak: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IncidentState:
        return cls(**data)


def _t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def in_quiet_hours(quiet: QuietHours | None, now: datetime) -> bool:
    """Whether ``now`` falls in the quiet hours (which may span midnight)."""
    if quiet is None:
        return False
    local = now.astimezone(ZoneInfo(quiet.timezone))
    if quiet.days and local.strftime("%a").lower()[:3] not in quiet.days:
        return False
    start, end, clock = quiet.start, quiet.end, local.time()
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


class Tracker:
    """The incident rules of one alert rule, for buckets of ``step``."""

    def __init__(
        self,
        settings: IncidentSettings,
        step: timedelta,
        *,
        quiet: QuietHours | None = None,
        repeat_every: timedelta | None = None,
        notify_resolved: bool = True,
    ) -> None:
        self.settings = settings
        self.step = step
        self.quiet = quiet
        self.repeat_every = repeat_every
        self.notify_resolved = notify_resolved

    def observe(
        self, state: IncidentState, verdict: Verdict, now: datetime, *, hold: bool = False
    ) -> list[Action]:
        """Take the verdict on the bucket at ``verdict.start`` (closed or still filling).
        ``hold``: do not page now (the worker is catching up on buckets it missed)."""
        settings = self.settings
        key = verdict.start.isoformat()
        unusual = verdict.unusual
        state.flags[key] = state.flags.get(key, False) or unusual
        oldest = (verdict.start - (settings.confirm_of - 1) * self.step).isoformat()
        for stale in [k for k in state.flags if k < oldest]:
            del state.flags[stale]
        if unusual or (state.open and verdict.observed > ELEVATED * state.baseline):
            state.last_elevated = max(state.last_elevated or key, key)
        if unusual:
            state.last_unusual = max(state.last_unusual or key, key)
            if state.since is None:
                state.since = key
            if state.open:
                state.peak = max(state.peak, verdict.score)
        elif not state.open and not any(state.flags.values()):
            state.since = None

        actions: list[Action] = []
        quiet = hold or in_quiet_hours(self.quiet, now)
        if state.open:
            last_elevated = _t(state.last_elevated)
            since = _t(state.since) or verdict.start
            if last_elevated is not None and now - (last_elevated + self.step) >= (
                settings.resolve_after
            ):
                notice = state.paged and self.notify_resolved
                actions.append(Action("resolve", now, verdict, since, paged=notice))
                self._close(state)
            elif not state.paged and not quiet:
                state.paged, state.last_paged = True, now.isoformat()
                actions.append(Action("page", now, verdict, since))
            elif (
                state.paged
                and self.repeat_every is not None
                and not quiet
                and now - (_t(state.last_paged) or now) >= self.repeat_every
            ):
                state.last_paged = now.isoformat()
                actions.append(Action("repeat", now, verdict, since))
            return actions

        confirmed = sum(state.flags.values()) >= settings.confirm
        last_fired = _t(state.last_fired)
        cooling = last_fired is not None and now - last_fired < settings.cooldown
        if unusual and confirmed and not cooling:
            state.open = True
            state.peak = verdict.score
            state.baseline = verdict.expected
            state.last_elevated = key
            state.last_fired = now.isoformat()
            state.paged = not quiet
            if state.paged:
                state.last_paged = now.isoformat()
            actions.append(
                Action("fire", now, verdict, _t(state.since) or verdict.start, paged=state.paged)
            )
        return actions

    def close(self, state: IncidentState) -> None:
        """End the incident without a notice (someone resolved it by hand)."""
        self._close(state)

    @staticmethod
    def _close(state: IncidentState) -> None:
        state.open = False
        state.paged = False
        state.since = None
        state.peak = 0.0
        state.baseline = 0.0
        state.flags = {}
