"""The quality gate of the bad-buzz detector: the default rule on NAB's realTweets series (tweet
volumes about large companies, the closest public data to brand mentions), scored by the shared
NAB scorer run as a program. Floors are the measured figures (``bench/nab_backtest.py``) less a
small margin; a change that makes the detector worse fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.settings import Rule
from bench.nab import backtest, load_corpus, score_official

# Measured by `python -m bench.nab_backtest` (see the README, "How the detector was chosen").
REALTWEETS_STANDARD_FLOOR = 84.0
REALTWEETS_LOW_FP_FLOOR = 79.5
MAX_FALSE_ALERTS_PER_SERIES_WEEK = 0.5


@pytest.mark.slow
@pytest.mark.shared_data
def test_realtweets_scores_hold_their_floor(shared_data: Path) -> None:
    nab = shared_data / "alerts" / "nab"
    corpus = load_corpus(nab, only="realTweets/")
    assert len(corpus) == 5
    rule = Rule(name="default")
    alerts = backtest(corpus, rule.detector_settings(), rule.incident_settings())
    result = score_official(alerts, nab, scorer=shared_data.parent / "tools" / "nab_score.py")
    assert result["standard"] >= REALTWEETS_STANDARD_FLOOR, result
    assert result["reward_low_FP_rate"] >= REALTWEETS_LOW_FP_FLOOR, result
    assert result["alerts_outside_per_series_week"] < MAX_FALSE_ALERTS_PER_SERIES_WEEK, result


@pytest.mark.slow
@pytest.mark.shared_data
def test_every_nab_series_replays_without_error(shared_data: Path) -> None:
    corpus = load_corpus(shared_data / "alerts" / "nab")
    assert len(corpus) == 53
    rule = Rule(name="default")
    alerts = backtest(corpus, rule.detector_settings(), rule.incident_settings())
    stamps = {s.rel: {f"{t:%Y-%m-%d %H:%M:%S}" for t, _ in s.points} for s in corpus}
    for rel, fired in alerts.items():
        assert set(fired) <= stamps[rel], rel  # alert times are times of the series
