"""How the alert detector's defaults were chosen: a random search over detector and incident
settings, every candidate replayed over every NAB series and scored by the shared NAB scorer.

Usage: .venv/bin/python -m bench.nab_tune [--candidates 200] [--seed 6] [--jobs 2] [--cache F]

Workload: ``--candidates`` settings drawn at random (plus the current defaults), each replayed
through `alerts.backtest` over the 53 series in ``../shared/data/alerts/nab`` (5-minute buckets).

It prints three honest selections, since tuning on the series one reports is overfitting:

1. tuned on the non-realTweets categories only, reported on realTweets;
2. leave-one-series-out on realTweets: for each of the 5 series, the best candidate on the
   other 4 (with fewer than 0.5 alerts outside windows per series-week) is scored on the one
   left out; the 5 held-out results are summed into one score;
3. the best candidate on all 5 realTweets series under the same constraint: in-sample, the
   figure a default tuned this way reaches, to read next to (2).

``--refine`` then improves (3) one setting at a time (each value of each setting in turn, kept
when the realTweets score rises under the constraint, until nothing does): the defaults. This is
tuning on realTweets, and its figure is in-sample; (1) and (2) are the honest estimates.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from alerts.settings import DetectorSettings, IncidentSettings
from bench.nab import Scorer, SeriesScore, backtest, load_corpus

SPACE: dict[str, list[Any]] = {
    "model": ["negbin", "gaussian"],
    "seasonality": ["none", "day", "week", "week"],
    "trend": [False, True],
    "windows": [["15m"], ["5m", "1h"], ["15m", "3h"], ["15m", "1h", "6h"], ["30m", "6h"]],
    "threshold": [3, 4, 5, 6, 8, 10, 12],
    "min_count": [1, 3, 5],
    "level_half_life": ["1h", "4h", "12h", "1d"],
    "dispersion_half_life": ["2d", "7d", "14d"],
    "winsorize": [2, 3, 5],
    "max_per_week": [None, 5, 10, 20, 40],
    "calibration_half_life": ["7d", "14d", "28d"],
    "confirm": [(1, 1), (2, 2), (2, 3)],
    "cooldown": ["6h", "12h", "24h"],
    "resolve_after": ["30m", "2h", "6h"],
}
INCIDENT_KEYS = {"confirm", "cooldown", "resolve_after"}
MAX_FP_PER_WEEK = 0.5

_worker: dict[str, Any] = {}
"""Each worker process's corpus and scorer, loaded once."""


def _init() -> None:
    _worker["corpus"] = load_corpus()
    _worker["scorer"] = Scorer(_worker["corpus"])


def settings_of(candidate: dict[str, Any]) -> tuple[DetectorSettings, IncidentSettings]:
    detector = {k: v for k, v in candidate.items() if k not in INCIDENT_KEYS}
    incident = {k: v for k, v in candidate.items() if k in INCIDENT_KEYS and k != "confirm"}
    if "confirm" in candidate:
        incident["confirm"], incident["confirm_of"] = candidate["confirm"]
    return DetectorSettings(**detector), IncidentSettings(**incident)


def _evaluate(candidate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    detector, incident = settings_of(candidate)
    scores = _worker["scorer"].per_series(backtest(_worker["corpus"], detector, incident))
    return {rel: s.__dict__ for rel, s in scores.items()}


def _init_tweets() -> None:
    _worker["corpus"] = load_corpus(only="realTweets/")
    _worker["scorer"] = Scorer(_worker["corpus"])


def refine(start: dict[str, Any], jobs: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Coordinate ascent on the realTweets score, under the false-alert constraint."""
    scorer = Scorer(load_corpus(only="realTweets/"))

    def judge(result: dict[str, dict[str, Any]]) -> tuple[float, dict[str, Any]]:
        total = scorer.total([SeriesScore(**s) for s in result.values()])
        fp = total["alerts_outside_per_series_week"] or 0.0
        return (total["standard"] if fp < MAX_FP_PER_WEEK else -1.0), total

    best = dict(start)
    with ProcessPoolExecutor(jobs, initializer=_init_tweets) as pool:
        score, total = judge(pool.submit(_evaluate, best).result())
        improved = True
        while improved:
            improved = False
            for key, values in SPACE.items():
                trials = [{**best, key: v} for v in values if v != best.get(key)]
                unique = {json.dumps(t, sort_keys=True): t for t in trials}
                results = pool.map(_evaluate, list(unique.values()))
                for trial, result in zip(unique.values(), results, strict=True):
                    s, t = judge(result)
                    if s > score + 0.01:
                        best, score, total, improved = trial, s, t, True
                        print(line(f"   {key} = {json.dumps(trial[key])}", t), flush=True)
    return best, total


def draw(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """``n`` random candidates. The current defaults are not one of them: they were tuned on
    realTweets, and choosing them in the held-out protocols would leak what is held out."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(out) < n:
        candidate = {k: rng.choice(v) for k, v in SPACE.items()}
        key = json.dumps(candidate, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(candidate)
    return out


def _defaults(cached: dict[str, Any]) -> dict[str, dict[str, Any]]:
    key = json.dumps({}, sort_keys=True)
    if key not in cached:
        _init()
        cached[key] = _evaluate({})
    result: dict[str, dict[str, Any]] = cached[key]
    return result


def best(
    results: list[tuple[dict[str, Any], dict[str, SeriesScore]]],
    scorer: Scorer,
    rels: list[str],
    constrained: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    ranked = []
    for candidate, per in results:
        total = scorer.total([per[r] for r in rels])
        fp = total["alerts_outside_per_series_week"] or 0.0
        if constrained and fp >= MAX_FP_PER_WEEK:
            continue
        ranked.append((total["standard"], candidate, total))
    ranked.sort(key=lambda r: -r[0])
    if not ranked:
        raise SystemExit(
            f"no candidate keeps under {MAX_FP_PER_WEEK} alerts outside windows per series-week "
            "on these series: draw more --candidates"
        )
    return ranked[0][1], ranked[0][2]


def line(name: str, total: dict[str, Any]) -> str:
    return (
        f"{name:<44} standard {total['standard']:6.2f}  low-FP {total['reward_low_FP_rate']:6.2f}"
        f"  low-FN {total['reward_low_FN_rate']:6.2f}  windows {total['windows_caught']:>2}/"
        f"{total['windows']:<3} outside {total['alerts_outside_windows']:>3} "
        f"({total['alerts_outside_per_series_week']:.2f}/series-week)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="keep results here and reuse them")
    parser.add_argument("--refine", action="store_true", help="then refine (3) on realTweets")
    args = parser.parse_args()

    candidates = draw(random.Random(args.seed), args.candidates)
    cached: dict[str, Any] = {}
    if args.cache and args.cache.exists():
        cached = json.loads(args.cache.read_text())
    todo = [c for c in candidates if json.dumps(c, sort_keys=True) not in cached]
    started = time.monotonic()
    if todo:
        with ProcessPoolExecutor(args.jobs, initializer=_init) as pool:
            results = pool.map(_evaluate, todo)
            for i, (candidate, result) in enumerate(zip(todo, results, strict=True)):
                cached[json.dumps(candidate, sort_keys=True)] = result
                if args.cache and i % 10 == 9:
                    args.cache.write_text(json.dumps(cached))
        if args.cache:
            args.cache.write_text(json.dumps(cached))
    print(f"{len(candidates)} candidates x 53 series in {time.monotonic() - started:.0f} s")

    scorer = Scorer(load_corpus())
    results = [
        (c, {r: SeriesScore(**s) for r, s in cached[json.dumps(c, sort_keys=True)].items()})
        for c in candidates
    ]
    rels = sorted(results[0][1])
    tweets = [r for r in rels if r.startswith("realTweets/")]
    others = [r for r in rels if not r.startswith("realTweets/")]

    def tuned_on(on: list[str], label: str, other: list[str], other_label: str, **how: bool) -> Any:
        """The best candidate on the series ``on``, scored there and on ``other``."""
        chosen, total = best(results, scorer, on, **how)
        print(line(f"   {label}", total))
        per = next(p for c, p in results if c is chosen)
        print(line(f"   {other_label}", scorer.total([per[r] for r in other])))
        print(f"   settings: {json.dumps(chosen)}")
        return chosen

    print("\n1. Tuned on the other categories, reported on realTweets")
    tuned_on(
        others, "other categories (in-sample)", tweets, "realTweets (held out)", constrained=False
    )

    print("\n2. Leave one realTweets series out (best on the other 4, scored on the one left out)")
    held: list[SeriesScore] = []
    for rel in tweets:
        rest = [r for r in tweets if r != rel]
        chosen, _ = best(results, scorer, rest, constrained=True)
        per = next(p for c, p in results if c is chosen)
        held.append(per[rel])
        print(f"   {rel}: {json.dumps(chosen)}")
        print(line(f"     held out {rel.split('/')[1]}", scorer.total([per[rel]])))
    print(line("   realTweets, the 5 held-out results", scorer.total(held)))

    print("\n3. Best on all 5 realTweets series (in-sample)")
    chosen = tuned_on(
        tweets,
        "realTweets (in-sample)",
        others,
        "other categories, same settings",
        constrained=True,
    )
    if args.refine:
        print("\n4. Refined on realTweets, one setting at a time (in-sample)")
        refined, total = refine(chosen, args.jobs)
        print(line("   realTweets (in-sample)", total))
        print(f"   settings: {json.dumps(refined)}")
    default = {r: SeriesScore(**s) for r, s in _defaults(cached).items()}
    print("\nThe current defaults")
    print(line("   realTweets", scorer.total([default[r] for r in tweets])))
    print(line("   other categories", scorer.total([default[r] for r in others])))


if __name__ == "__main__":
    main()
