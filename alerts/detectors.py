"""Spike detectors: how unusual is the latest bucket of a series, given everything before it?

A detector reads a series of equal buckets (start time, value) one bucket at a time and keeps a
small state: a robust level (EWMA, or Holt with a trend), seasonal factors by hour of day and day
of week, and the dispersion of the residuals over each window length it tests. For each bucket it
gives a `Verdict`: what was observed, what was expected, and a score, ``-log10`` of the
probability of seeing at least that much if nothing unusual were going on (Bonferroni-corrected
over the window lengths tested). A bucket is *unusual* when its score reaches the threshold, its
window holds at least ``min_count`` mentions and, with ``max_per_week`` set, buckets that unusual
have been rarer than that in the series' own recent history (a brand that is often in the news
gets used to its own bursts).

It is a pure function of the series: the same buckets give the same verdicts, with no clock and no
I/O. The live worker and the backtest both drive it through `Detector.advance` (a closed bucket:
score, then learn) and `Detector.evaluate` (a bucket still filling: score only), so a backtest
replays exactly what the worker would have done. Its state is plain data (`State.to_dict`) so the
worker can keep it across restarts.

Models (``DetectorSettings.model``): ``negbin`` (over-dispersed counts, the default), ``poisson``,
and ``gaussian`` (the classic "k sigma" rule, kept for comparison). How the defaults were chosen:
README, "How the detector was chosen", and ``bench/nab_tune.py``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self

from alerts.settings import DetectorSettings
from alerts.stats import negbin_log10_sf, normal_log10_sf

_MIN_MU = 1e-3
_BIN = 0.5  # score resolution of the calibration histogram
_BINS = 200
_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Verdict:
    """How a bucket compares with what the detector expected for it."""

    start: datetime
    observed: float
    expected: float
    score: float
    """``-log10`` of the (corrected) tail probability; 0 when not above expectations."""
    unusual: bool = False
    window: int = 1
    """How many buckets the most unusual window spans (the bucket and those just before it)."""
    window_observed: float = 0.0
    window_expected: float = 0.0
    per_week: float | None = None
    """How many buckets a week were at least this unusual lately (with calibration on)."""
    warm: bool = True

    @property
    def ratio(self) -> float:
        """Observed over expected, on the most unusual window."""
        return self.window_observed / max(self.window_expected, _MIN_MU)


class _Saved:
    """A detector state saved as JSON: its fields, with the deque of recent buckets as lists."""

    recent: deque[Any]

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["recent"] = [list(r) for r in self.recent]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        values = dict(data)
        values["recent"] = deque(tuple(r) for r in values.get("recent", []))
        return cls(**values)


@dataclass
class State(_Saved):
    """What a detector remembers of a series. Plain numbers, so it can be saved as JSON."""

    n: int = 0
    level: float = 0.0
    trend: float = 0.0
    hour_num: list[float] = field(default_factory=lambda: [0.0] * 24)
    hour_den: list[float] = field(default_factory=lambda: [0.0] * 24)
    day_num: list[float] = field(default_factory=lambda: [0.0] * 7)
    day_den: list[float] = field(default_factory=lambda: [0.0] * 7)
    disp_num: list[float] = field(default_factory=list)
    disp_den: list[float] = field(default_factory=list)
    """Per window length: decayed sums of (residual**2 - expected) and expected**2, whose ratio
    is the window's dispersion 1/k (a window of several buckets has its own, as neighbouring
    buckets are not independent)."""
    var: list[float] = field(default_factory=list)
    """Per window length: the decayed mean squared residual (for the Gaussian model)."""
    recent: deque[tuple[float, float, float]] = field(default_factory=deque)
    """(value, expected, value as learned) of the last buckets, for the window tests."""
    sums: list[list[float]] = field(default_factory=list)
    """Per window length w: the sums of values and of expected values over the w - 1 buckets
    before, kept as buckets come and go (so a long window costs no more than a short one)."""
    scores: list[float] = field(default_factory=list)
    """Calibration: decayed counts of past scores by bin (weights grow instead of decaying)."""
    scores_total: float = 0.0
    scores_weight: float = 1.0
    last: str | None = None
    """Start of the last bucket learned, ISO 8601: a bucket is never learned twice."""


class Detector:
    """One series' detector, for buckets of ``step``."""

    def __init__(self, settings: DetectorSettings, step: timedelta) -> None:
        self.settings = settings
        self.step = step
        per_hour = max(1.0, 3600.0 / step.total_seconds())
        self.windows = sorted({max(1, round(w / step)) for w in settings.windows})
        self.warmup = max(1, round(settings.warmup / step))
        self.alpha = _smoothing(settings.level_half_life / step)
        self.beta = _smoothing(settings.trend_half_life / step) if settings.trend else 0.0
        # A slot of the day is seen `per_hour` times a day; its memory is counted in days.
        self.hour_decay = 0.5 ** (1.0 / (per_hour * settings.season_half_life_days))
        self.day_decay = 0.5 ** (1.0 / (24 * per_hour * settings.season_half_life_days))
        self.disp_decay = 0.5 ** (step / settings.dispersion_half_life)
        self.calibration_growth = 0.5 ** (-step / settings.calibration_half_life)
        self.buckets_per_week = _WEEK / step
        self.prior = settings.season_prior

    def initial(self) -> State:
        return State()

    # -- the model -----------------------------------------------------------------------------

    def _factors(self, state: State, start: datetime) -> tuple[float, float]:
        """The hour-of-day and day-of-week factors for the bucket at ``start``. Each starts at
        1 and moves only as the slot's counts outweigh a prior of ``season_prior`` mentions, so
        a quiet brand's three posts one evening do not make that hour look busy forever."""
        mode = self.settings.seasonality
        if mode == "none":
            return 1.0, 1.0
        prior = self.prior
        h = start.hour
        hour = (state.hour_num[h] + prior) / (state.hour_den[h] + prior)
        if mode == "day":
            return hour, 1.0
        d = start.weekday()
        return hour, (state.day_num[d] + 24 * prior) / (state.day_den[d] + 24 * prior)

    def _season(self, state: State, start: datetime) -> float:
        hour, day = self._factors(state, start)
        return hour * day

    def _expected(self, state: State, start: datetime) -> float:
        return max(_MIN_MU, (state.level + state.trend) * self._season(state, start))

    def _window_stats(self, state: State, i: int) -> tuple[float, float]:
        """(dispersion 1/k, mean squared residual) of window length ``self.windows[i]``.

        The dispersion starts from a prior (``dispersion_prior``, weighing as much as one bucket
        expecting one mention): a quiet series, whose expected counts are near zero, says almost
        nothing about its dispersion, and one stray mention must not make it look infinite."""
        prior = self.settings.dispersion_prior
        if i >= len(state.disp_num):
            return prior, 0.0
        phi = (state.disp_num[i] + prior) / (state.disp_den[i] + 1.0)
        return max(0.0, phi), state.var[i]

    def _per_week(self, state: State, score: float) -> float | None:
        """How many buckets a week scored at least ``score`` lately; None before any."""
        if state.scores_total <= 0.0:
            return None
        above: float = sum(state.scores[min(_BINS - 1, int(score / _BIN)) :])
        return self.buckets_per_week * above / state.scores_total

    def _windows(
        self, state: State, value: float, mu: float
    ) -> Iterator[tuple[int, int, float, float]]:
        """(index, length, observed, expected) of each window ending with this bucket, for the
        windows the history is long enough for."""
        size = len(state.recent)
        for i, w in enumerate(self.windows):
            if w - 1 > size:
                return
            if w == 1:
                yield i, w, value, mu
            else:
                yield i, w, value + state.sums[i][0], mu + state.sums[i][1]

    # -- scoring -------------------------------------------------------------------------------

    def evaluate(self, state: State, start: datetime, value: float) -> Verdict:
        """Score ``value`` for the bucket at ``start`` without learning it (a bucket still
        filling can only grow, so a score that is already high stays high)."""
        settings = self.settings
        mu = self._expected(state, start)
        if state.n < self.warmup:
            return Verdict(start, value, mu, 0.0, False, 1, value, mu, warm=False)
        best_log10_p, best_w, best_obs, best_exp = 0.0, 1, value, mu
        for i, w, observed, expected in self._windows(state, value, mu):
            if observed < settings.min_count or observed <= expected:
                continue
            phi, var = self._window_stats(state, i)
            if settings.model == "gaussian":
                # Counts vary at least as much as Poisson ones: a quiet series is not exact.
                log10_p = normal_log10_sf((observed - expected) / math.sqrt(max(var, expected)))
            elif settings.model == "poisson" or phi <= 0.0:
                log10_p = negbin_log10_sf(observed, expected, math.inf)
            else:
                log10_p = negbin_log10_sf(observed, expected, 1.0 / phi)
            if log10_p < best_log10_p:
                best_log10_p, best_w, best_obs, best_exp = log10_p, w, observed, expected
        score = max(0.0, -best_log10_p - math.log10(len(self.windows)))
        unusual = score >= settings.threshold
        per_week = None
        if unusual and settings.max_per_week is not None:
            per_week = self._per_week(state, score)
            unusual = per_week is None or per_week <= settings.max_per_week
        return Verdict(start, value, mu, score, unusual, best_w, best_obs, best_exp, per_week)

    def advance(self, state: State, start: datetime, value: float) -> Verdict:
        """Score the closed bucket at ``start``, then learn it. A bucket already learned (a
        replay) is scored again but not learned twice."""
        verdict = self.evaluate(state, start, value)
        stamp = start.isoformat()
        if state.last is not None and stamp <= state.last:
            return verdict
        self._learn(state, start, value, verdict)
        state.last = stamp
        return verdict

    # -- learning ------------------------------------------------------------------------------

    def _learn(self, state: State, start: datetime, value: float, verdict: Verdict) -> None:
        settings = self.settings
        mu = verdict.expected
        if state.n == 0:
            state.level = max(value, 0.0)
            state.disp_num = [0.0] * len(self.windows)
            state.disp_den = [0.0] * len(self.windows)
            state.var = [0.0] * len(self.windows)
            state.scores = [0.0] * _BINS
            state.sums = [[0.0, 0.0] for _ in self.windows]
        kept = value
        if verdict.warm:
            # Winsorize what the level and the seasons learn: a spike teaches the baseline only
            # a little, so the incident it starts does not become the new normal in minutes.
            phi, var = self._window_stats(state, 0)
            spread = math.sqrt(max(var, mu) if settings.model == "gaussian" else mu + phi * mu * mu)
            kept = min(
                max(value, mu - settings.winsorize * spread), mu + settings.winsorize * spread
            )
            self._learn_score(state, verdict.score)
        season = self._season(state, start)
        old_level = state.level
        predicted = old_level + state.trend
        state.level = max(0.0, predicted + self.alpha * (kept / max(season, 1e-6) - predicted))
        if settings.trend:
            state.trend = (1 - self.beta) * state.trend + self.beta * (state.level - old_level)
        if settings.seasonality != "none":
            self._learn_season(state, start, kept, max(old_level, _MIN_MU))
        # The dispersion learns from the raw values: a series' ordinary bursts are part of what
        # is normal for it, and a model that forgot them would page on each one.
        decay = self.disp_decay
        for i, _, observed, expected in self._windows(state, value, mu):
            residual = observed - expected
            state.disp_num[i] = decay * state.disp_num[i] + (residual * residual - expected)
            state.disp_den[i] = decay * state.disp_den[i] + expected * expected
            state.var[i] = decay * state.var[i] + (1 - decay) * residual * residual
        history = state.recent
        history.append((value, mu, kept))
        size = len(history)
        for i, w in enumerate(self.windows):
            if w == 1:
                continue
            sums = state.sums[i]
            sums[0] += value
            sums[1] += mu
            if size > w - 1:  # the bucket that just left this window
                gone = history[size - w]
                sums[0] -= gone[0]
                sums[1] -= gone[1]
        while len(history) >= self.windows[-1]:
            history.popleft()
        state.n += 1

    def _learn_season(self, state: State, start: datetime, kept: float, base: float) -> None:
        hour_factor, day_factor = self._factors(state, start)
        h = start.hour
        if self.settings.seasonality == "week":
            d = start.weekday()
            state.day_num[d] = self.day_decay * state.day_num[d] + kept
            state.day_den[d] = self.day_decay * state.day_den[d] + base * hour_factor
        state.hour_num[h] = self.hour_decay * state.hour_num[h] + kept
        state.hour_den[h] = self.hour_decay * state.hour_den[h] + base * day_factor

    def _learn_score(self, state: State, score: float) -> None:
        # Old scores fade by giving new ones ever larger weights, rescaled before they overflow.
        state.scores_weight *= self.calibration_growth
        if state.scores_weight > 1e100:
            state.scores = [s / state.scores_weight for s in state.scores]
            state.scores_total /= state.scores_weight
            state.scores_weight = 1.0
        state.scores[min(_BINS - 1, int(score / _BIN))] += state.scores_weight
        state.scores_total += state.scores_weight


def _smoothing(half_life_buckets: float) -> float:
    """The EWMA weight of a new bucket for a given half-life in buckets."""
    return 1.0 - math.pow(0.5, 1.0 / max(half_life_buckets, 1e-9))


@dataclass
class ShareState(_Saved):
    """What the share detector remembers: decayed sums of negatives and of all mentions."""

    n: int = 0
    negative: float = 0.0
    total: float = 0.0
    recent: deque[tuple[float, float]] = field(default_factory=deque)
    last: str | None = None


class ShareDetector:
    """The negative share: are more of the mentions negative than usual, whatever the volume?

    Given a bucket's mentions, the number of negative ones is binomial at the baseline share (the
    decayed share of the past, over ``level_half_life``); the score is its tail, over the same
    windows as the count detector. Values are (negative, total) pairs.
    """

    def __init__(self, settings: DetectorSettings, step: timedelta) -> None:
        self.settings = settings
        self.step = step
        self.windows = sorted({max(1, round(w / step)) for w in settings.windows})
        self.warmup = max(1, round(settings.warmup / step))
        self.decay = 0.5 ** (step / settings.level_half_life)

    def initial(self) -> ShareState:
        return ShareState()

    def evaluate(self, state: ShareState, start: datetime, value: tuple[float, float]) -> Verdict:
        from alerts.terms import binomial_log10_sf

        negative, total = value
        share = (state.negative + 1.0) / (state.total + 2.0)
        observed_share = negative / total if total else 0.0
        if state.n < self.warmup:
            return Verdict(start, observed_share, share, 0.0, warm=False)
        best, best_w, best_k, best_n = 0.0, 1, negative, total
        history = list(state.recent)
        for w in self.windows:
            if w - 1 > len(history):
                break
            past = history[len(history) - (w - 1) :] if w > 1 else []
            k = negative + sum(p[0] for p in past)
            n = total + sum(p[1] for p in past)
            if k < self.settings.min_count or k <= share * n:
                continue
            log10_p = binomial_log10_sf(round(k), round(n), share)
            if log10_p < best:
                best, best_w, best_k, best_n = log10_p, w, k, n
        score = max(0.0, -best - math.log10(len(self.windows)))
        return Verdict(
            start,
            observed_share,
            share,
            score,
            score >= self.settings.threshold,
            best_w,
            best_k / best_n if best_n else 0.0,
            share,
        )

    def advance(self, state: ShareState, start: datetime, value: tuple[float, float]) -> Verdict:
        verdict = self.evaluate(state, start, value)
        stamp = start.isoformat()
        if state.last is not None and stamp <= state.last:
            return verdict
        negative, total = value
        state.negative = self.decay * state.negative + negative
        state.total = self.decay * state.total + total
        state.recent.append((negative, total))
        while len(state.recent) >= self.windows[-1]:
            state.recent.popleft()
        state.n += 1
        state.last = stamp
        return verdict
