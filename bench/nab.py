"""The NAB benchmark series, replayed through Veille's alert rules and scored by the shared
scorer (``../shared/tools/nab_score.py``): what the NAB benchmark scripts and the realTweets gate
share.

- `load_corpus` reads every series (``<category>/<name>.csv``) and its labelled windows;
- `backtest` replays each series through one rule, with `alerts.backtest` (the code that
  ``veille alerts backtest`` runs), and returns the alert times per series;
- `score_official` runs the shared scorer as a program, on a JSON file of alert times, as
  anyone would; `Scorer` scores in-process with the scorer's own functions, for tuning sweeps.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

from alerts.backtest import read_series, rebucket, replay
from alerts.detectors import Detector
from alerts.incidents import Tracker
from alerts.settings import DetectorSettings, IncidentSettings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
NAB_DATA = SHARED / "data" / "alerts" / "nab"
NAB_SCORER = SHARED / "tools" / "nab_score.py"
STEP = timedelta(minutes=5)
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

Points = list[tuple[datetime, float]]


@dataclass
class Series:
    rel: str
    points: Points

    @property
    def category(self) -> str:
        return self.rel.split("/")[0]


def load_corpus(data: Path = NAB_DATA, only: str | None = None) -> list[Series]:
    """Every series under ``data`` (or only those whose path starts with ``only``)."""
    out = []
    for path in sorted(data.glob("*/*.csv")):
        rel = f"{path.parent.name}/{path.name}"
        if only is None or rel.startswith(only):
            out.append(Series(rel, read_series(path)))
    return out


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def backtest(
    corpus: list[Series], detector: DetectorSettings, incident: IncidentSettings
) -> dict[str, list[str]]:
    """Alert times per series, as the scorer reads them."""
    alerts = {}
    for series in corpus:
        fired = replay(
            rebucket(series.points, STEP), Detector(detector, STEP), Tracker(incident, STEP)
        )
        alerts[series.rel] = [stamp(a.timestamp) for a in fired]
    return alerts


def score_official(
    alerts: dict[str, list[str]], data: Path = NAB_DATA, scorer: Path = NAB_SCORER
) -> dict[str, Any]:
    """The shared scorer's verdict (its JSON output) on ``alerts``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(alerts, handle)
    try:
        done = subprocess.run(
            [
                sys.executable,
                str(scorer),
                "--data",
                str(data),
                "--windows",
                str(data / "combined_windows.json"),
                "--profiles",
                str(data / "profiles.json"),
                "--alerts",
                handle.name,
                "--format",
                "json",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        Path(handle.name).unlink()
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _scorer_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nab_score", NAB_SCORER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class SeriesScore:
    raw: dict[str, float]
    windows: int
    caught: int
    outside: int
    weeks: float


class Scorer:
    """The shared scorer's own functions, run in-process over many candidate rules."""

    def __init__(self, corpus: list[Series], data: Path = NAB_DATA) -> None:
        self.nab = _scorer_module()
        windows = json.loads((data / "combined_windows.json").read_text())
        self.costs = {
            p: c["CostMatrix"] for p, c in json.loads((data / "profiles.json").read_text()).items()
        }
        self.series = {}
        for s in corpus:
            times = [self.nab.parse_ts(stamp(t)) for t, _ in s.points]
            spans = windows.get(s.rel, [])
            self.series[s.rel] = (times, self.nab.point_weights(times, spans), len(spans))

    def per_series(self, alerts: dict[str, list[str]]) -> dict[str, SeriesScore]:
        out = {}
        for rel, fired in alerts.items():
            times, weights, n = self.series[rel]
            at = {self.nab.parse_ts(t) for t in fired}
            detected = [t in at for t in times]
            raw = {}
            for p in PROFILES:
                raw[p], caught, outside = self.nab.score_series(weights, detected, n, self.costs[p])
                if p == "standard":
                    c, o = caught, outside
            weeks = (times[-1] - times[0]).total_seconds() / (7 * 86400)
            out[rel] = SeriesScore(raw, n, c, o, weeks)
        return out

    def total(self, scores: list[SeriesScore]) -> dict[str, Any]:
        """Normalised scores over a set of series, as the scorer computes them."""
        n = sum(s.windows for s in scores)
        result: dict[str, Any] = {}
        for p in PROFILES:
            cost = self.costs[p]
            null, perfect = -cost["fnWeight"] * n, cost["tpWeight"] * n
            raw = sum(s.raw[p] for s in scores)
            result[p] = round(100 * (raw - null) / (perfect - null), 2) if n else None
        weeks = sum(s.weeks for s in scores)
        outside = sum(s.outside for s in scores)
        result.update(
            windows=n,
            windows_caught=sum(s.caught for s in scores),
            alerts_outside_windows=outside,
            alerts_outside_per_series_week=round(outside / weeks, 3) if weeks else None,
        )
        return result
