"""Benchmark: the default alert rule on every NAB series, scored by the shared NAB scorer.

Usage: .venv/bin/python -m bench.nab_backtest [--out DIR] [--ablation]

Workload: the 53 series of ``../shared/data/alerts/nab`` (58 in NAB, less 5 of the 10 realTweets),
replayed in 5-minute buckets through the default rule (`alerts.settings.Rule` with no options:
what ``veille alerts backtest --series FILE --format json`` does for each file). The alert times
go to ``../shared/tools/nab_score.py`` as a program, once per category and once for all series.

It prints, per category and overall: the standard, low-FP and low-FN normalised scores, the
windows caught, the alerts outside windows and those per series-week, and the replay time.
``--ablation`` also scores realTweets with each part of the detector changed or switched off
(seasonality, trend, count model, windows, calibration, minimum count, confirmation).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from alerts.settings import DetectorSettings, IncidentSettings, Rule
from bench.nab import backtest, load_corpus, score_official

PUBLISHED = "published realTweets anchors (all 10 series): ARTime about 82, CAD OSE about 74"


def row(name: str, result: dict[str, Any]) -> str:
    per_week = result["alerts_outside_per_series_week"]
    scores = "".join(
        f"{result[p]:>9.2f}" if result[p] is not None else f"{'-':>9}"
        for p in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
    )
    return (
        f"{name:<24}{scores}{result['windows_caught']:>6}/{result['windows']:<4}"
        f"{result['alerts_outside_windows']:>8}{per_week:>10.3f}"
    )


HEADER = (
    f"{'':<24}{'standard':>9}{'low-FP':>9}{'low-FN':>9}{'windows':>11}{'outside':>8}{'/s-week':>10}"
)


def ablations(default: Rule) -> list[tuple[str, DetectorSettings, IncidentSettings]]:
    d, i = default.detector_settings(), default.incident_settings()
    out = [("the defaults", d, i)]
    for name, change in [
        ("seasonality: none", {"seasonality": "none"}),
        ("seasonality: day", {"seasonality": "day"}),
        ("seasonality: week", {"seasonality": "week"}),
        ("trend (Holt)", {"trend": not d.trend}),
        ("model: poisson", {"model": "poisson"}),
        ("model: negbin", {"model": "negbin"}),
        ("model: gaussian", {"model": "gaussian"}),
        ("windows: [5m]", {"windows": ["5m"]}),
        ("windows: [15m]", {"windows": ["15m"]}),
        ("no calibration", {"max_per_week": None}),
        ("min_count: 10", {"min_count": 10}),
    ]:
        values = {**d.model_dump(), **change}
        if values == d.model_dump():
            continue
        out.append((name, DetectorSettings.model_validate(values), i))
    for name, change in [
        ("no confirmation (1 of 1)", {"confirm": 1, "confirm_of": 1}),
        ("confirm 2 of 2", {"confirm": 2, "confirm_of": 2}),
        ("cooldown: 1h", {"cooldown": "1h"}),
    ]:
        values = {**i.model_dump(), **change}
        if values != i.model_dump():
            out.append((name, d, IncidentSettings.model_validate(values)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, help="write the alert times (JSON) here")
    parser.add_argument("--ablation", action="store_true")
    args = parser.parse_args()
    rule = Rule(name="default")
    corpus = load_corpus()
    started = time.monotonic()
    alerts = backtest(corpus, rule.detector_settings(), rule.incident_settings())
    took = time.monotonic() - started
    points = sum(len(s.points) for s in corpus)
    print(f"replayed {len(corpus)} series, {points:,} buckets, in {took:.1f} s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "alerts.json").write_text(json.dumps(alerts, indent=1))
    print("\n" + HEADER)
    for category in sorted({s.category for s in corpus}):
        subset = {k: v for k, v in alerts.items() if k.startswith(category + "/")}
        print(row(category, score_official(subset)))
    others = {k: v for k, v in alerts.items() if not k.startswith("realTweets/")}
    print(row("all but realTweets", score_official(others)))
    print(row("all 53 series", score_official(alerts)))
    print(f"({PUBLISHED})")
    if args.ablation:
        tweets = [s for s in corpus if s.category == "realTweets"]
        print("\nrealTweets, one part changed at a time\n" + HEADER)
        for name, detector, incident in ablations(rule):
            print(row(name, score_official(backtest(tweets, detector, incident))))


if __name__ == "__main__":
    main()
