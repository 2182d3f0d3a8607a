"""Detectors and incidents: pure functions of a series, judged on synthetic series whose truth is
known (a spike, daily peaks, over-dispersed noise, a quiet brand), and the incident rules
(confirmation, cooldown, resolution, quiet hours, repeats)."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, datetime, time, timedelta

import pytest

from alerts.detectors import Detector, ShareDetector, State, Verdict
from alerts.incidents import IncidentState, Tracker
from alerts.settings import DetectorSettings, IncidentSettings, QuietHours
from alerts.stats import negbin_log10_sf, normal_log10_sf
from alerts.terms import binomial_log10_sf

STEP = timedelta(minutes=5)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def series(values: list[float], start: datetime = START) -> list[tuple[datetime, float]]:
    return [(start + i * STEP, v) for i, v in enumerate(values)]


def negbin(rng: random.Random, mu: float, phi: float) -> int:
    """A negative binomial draw (mean mu, 1/k = phi): Poisson with a gamma-distributed mean."""
    lam = rng.gammavariate(1 / phi, mu * phi) if phi > 0 else mu
    # Knuth's Poisson sampler is fine for the small means used here.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# The machinery under test, spelled out (the defaults are the NAB-tuned ones, tested below and in
# test_alerts_nab.py): the negative binomial on single buckets, no calibration.
BASE = DetectorSettings(
    model="negbin",
    seasonality="none",
    windows=["5m"],
    threshold=6,
    level_half_life="2h",
    dispersion_half_life="2d",
    winsorize=3,
    max_per_week=None,
)


def settings(**changes: object) -> DetectorSettings:
    return DetectorSettings.model_validate({**BASE.model_dump(), **changes})


def unusual(settings: DetectorSettings, points: list[tuple[datetime, float]]) -> list[Verdict]:
    detector = Detector(settings, STEP)
    state = detector.initial()
    return [v for t, x in points if (v := detector.advance(state, t, x)).unusual]


def test_tails_match_summing_the_probabilities() -> None:
    def pmf(y: int, mu: float, k: float) -> float:
        return math.exp(
            math.lgamma(y + k)
            - math.lgamma(k)
            - math.lgamma(y + 1)
            + k * math.log(k / (k + mu))
            + y * math.log(mu / (k + mu))
        )

    for y, mu, k in [(1, 0.4, 0.5), (5, 0.4, 0.5), (20, 3.0, 2.0), (150, 50.0, 10.0)]:
        exact = 1 - sum(pmf(i, mu, k) for i in range(y))
        assert 10 ** negbin_log10_sf(y, mu, k) == pytest.approx(exact, rel=1e-6)
    poisson = 1 - sum(math.exp(-3) * 3**i / math.factorial(i) for i in range(20))
    assert 10 ** negbin_log10_sf(20, 3.0, math.inf) == pytest.approx(poisson, rel=1e-6)
    assert 10 ** normal_log10_sf(3.0) == pytest.approx(0.0013499, rel=1e-4)
    assert normal_log10_sf(40.0) < -340  # far tails stay numbers
    assert 10 ** binomial_log10_sf(3, 10, 0.1) == pytest.approx(0.0701908, rel=1e-5)


def test_a_spike_stands_out_and_ordinary_buckets_do_not() -> None:
    rng = random.Random(1)
    values = [float(negbin(rng, 5, 0.1)) for _ in range(3 * 288)]
    values[800] = 60
    found = unusual(settings(seasonality="none"), series(values))
    assert [v.start for v in found] == [START + 800 * STEP]
    assert found[0].expected == pytest.approx(5, rel=0.4)


def test_daily_peaks_are_expected_once_the_detector_knows_the_day() -> None:
    rng = random.Random(2)
    values = []
    for i in range(10 * 288):
        hour = (i * 5 // 60) % 24
        values.append(float(negbin(rng, 25 if hour == 12 else 2, 0.05)))  # the lunch rush
    points = series(values)
    expected = {}
    for mode in ("none", "day"):
        detector = Detector(settings(seasonality=mode), STEP)
        state = detector.initial()
        verdicts = [detector.advance(state, t, x) for t, x in points]
        expected[mode] = [v.expected for v in verdicts[9 * 288 + 12 * 12 : 9 * 288 + 13 * 12]]
        night = [v.expected for v in verdicts[9 * 288 + 3 * 12 : 9 * 288 + 4 * 12]]
        if mode == "day":
            assert min(expected[mode]) > 15  # the rush is expected...
            assert max(night) < 3  # ...and the night stays quiet
    assert expected["none"][0] < 5  # without seasons, the first lunch bucket looks like a spike


def test_over_dispersed_counts_page_less_with_the_negative_binomial() -> None:
    rng = random.Random(3)
    values = [float(negbin(rng, 8, 0.4)) for _ in range(14 * 288)]
    poisson = unusual(settings(model="poisson", seasonality="none"), series(values))
    nb = unusual(settings(model="negbin", seasonality="none"), series(values))
    assert len(poisson) > 20 * max(1, len(nb))
    assert len(nb) <= 2


def test_a_quiet_brand_needs_the_minimum_count() -> None:
    values = [0.0] * 600 + [2.0] + [0.0] * 50 + [4.0] + [0.0] * 10
    found = unusual(settings(min_count=3, seasonality="none"), series(values))
    assert [v.observed for v in found] == [4.0]


def test_the_windows_catch_a_slow_rise_that_no_single_bucket_shows() -> None:
    rng = random.Random(4)
    values = [float(negbin(rng, 4, 0.05)) for _ in range(3 * 288)]
    for i in range(700, 712):
        values[i] += 5  # twice the usual level for an hour
    one = unusual(settings(seasonality="none", windows=["5m"]), series(values))
    hour = unusual(settings(seasonality="none", windows=["5m", "1h"]), series(values))
    assert not [v for v in one if 700 <= (v.start - START) / STEP < 712]
    assert [v for v in hour if 700 <= (v.start - START) / STEP < 712]
    assert max(v.window for v in hour) == 12


def test_the_defaults_flag_a_spike_in_its_own_bucket_and_nothing_else_once_settled() -> None:
    rng = random.Random(8)
    values = [float(negbin(rng, 5, 0.1)) for _ in range(6 * 288)]
    values[1500] = 80
    settled = [
        v
        for v in unusual(DetectorSettings(), series(values))
        if v.start >= START + timedelta(days=3)
    ]
    assert settled
    assert settled[0].start == START + 1500 * STEP
    assert all(v.start < START + 1506 * STEP for v in settled)  # while in the 30-minute window


def test_calibration_gets_used_to_a_series_that_bursts_often() -> None:
    rng = random.Random(5)
    values = [float(negbin(rng, 5, 0.05)) for _ in range(28 * 288)]
    for day in range(2, 28):
        values[day * 288 + 100] = 40  # the same burst, every day
    plain = unusual(settings(threshold=5), series(values))
    calibrated = unusual(settings(threshold=5, max_per_week=3), series(values))
    assert len(plain) >= 25
    assert len(calibrated) <= len(plain) // 2


def test_the_state_survives_a_restart_as_json() -> None:
    rng = random.Random(6)
    points = series([float(negbin(rng, 6, 0.2)) for _ in range(2 * 288)])
    detector = Detector(settings(windows=["5m", "1h"], max_per_week=10), STEP)
    straight = detector.initial()
    expected = [detector.advance(straight, t, x) for t, x in points]
    state = detector.initial()
    got = [detector.advance(state, t, x) for t, x in points[:300]]
    state = State.from_dict(json.loads(json.dumps(state.to_dict())))
    got += [detector.advance(state, t, x) for t, x in points[300:]]
    assert got == expected


def test_a_replayed_bucket_is_scored_but_not_learned_twice() -> None:
    detector = Detector(settings(warmup="5m"), STEP)
    state = detector.initial()
    for t, x in series([3.0] * 20):
        detector.advance(state, t, x)
    before = json.dumps(state.to_dict())
    detector.evaluate(state, START + 20 * STEP, 50.0)  # a bucket still filling: score only
    detector.advance(state, START + 19 * STEP, 50.0)  # a replay of a learned bucket
    assert json.dumps(state.to_dict()) == before


def test_the_share_detector_sees_more_negatives_at_the_same_volume() -> None:
    rng = random.Random(7)
    detector = ShareDetector(settings(threshold=5), STEP)
    state = detector.initial()
    verdicts = []
    for i in range(2 * 288):
        total = 50
        share = 0.1 if i != 500 else 0.4
        negative = sum(rng.random() < share for _ in range(total))
        verdicts.append(detector.advance(state, START + i * STEP, (float(negative), float(total))))
    assert [v.start for v in verdicts if v.unusual] == [START + 500 * STEP]


# -- incidents ----------------------------------------------------------------------------------


def verdict(minute: int, is_unusual: bool) -> Verdict:
    return Verdict(
        START + minute * timedelta(minutes=1), 1.0, 1.0, 9.0 if is_unusual else 0.0, is_unusual
    )


def replay(
    tracker: Tracker, flags: list[bool], state: IncidentState | None = None
) -> list[tuple[int, str, bool]]:
    state = state or IncidentState()
    out = []
    for i, flag in enumerate(flags):
        v = verdict(5 * i, flag)
        for action in tracker.observe(state, v, v.start + STEP):
            out.append((i, action.kind, action.paged))
    return out


def test_confirmation_waits_for_enough_unusual_buckets() -> None:
    tracker = Tracker(IncidentSettings(confirm=2, confirm_of=3), STEP)
    assert replay(tracker, [True, False, False, False]) == []
    assert replay(tracker, [True, False, True])[0] == (2, "fire", True)


def test_an_incident_resolves_after_a_quiet_spell_and_the_cooldown_holds_the_next() -> None:
    tracker = Tracker(IncidentSettings(resolve_after="15m", cooldown="1h"), STEP)
    flags = [True, True, False, False, False, True, False, False, False] + [False] * 10 + [True]
    assert replay(tracker, flags) == [(0, "fire", True), (4, "resolve", True), (19, "fire", True)]


def test_quiet_hours_hold_the_page_until_they_end() -> None:
    quiet = QuietHours(start=time(0, 0), end=time(0, 20), timezone="UTC")
    tracker = Tracker(IncidentSettings(resolve_after="30m"), STEP, quiet=quiet)
    actions = replay(tracker, [True] * 8)
    assert actions == [(0, "fire", False), (3, "page", True)]
    brief = Tracker(IncidentSettings(resolve_after="10m"), STEP, quiet=quiet)
    short = replay(brief, [True] + [False] * 7)
    assert short == [(0, "fire", False), (2, "resolve", False)]  # over before anyone was paged


def test_an_ongoing_incident_is_paged_again_and_can_stay_silent_on_resolution() -> None:
    tracker = Tracker(
        IncidentSettings(resolve_after="10m"),
        STEP,
        repeat_every=timedelta(minutes=15),
        notify_resolved=False,
    )
    actions = replay(tracker, [True] * 7 + [False] * 3)
    assert actions == [
        (0, "fire", True),
        (3, "repeat", True),
        (6, "repeat", True),
        (8, "resolve", False),
    ]


def test_catching_up_records_without_paging() -> None:
    tracker = Tracker(IncidentSettings(resolve_after="10m"), STEP)
    state = IncidentState()
    held = tracker.observe(state, verdict(0, True), START + STEP, hold=True)
    assert [(a.kind, a.paged) for a in held] == [("fire", False)]
    live = tracker.observe(state, verdict(5, True), START + 2 * STEP)
    assert [(a.kind, a.paged) for a in live] == [("page", True)]
