"""Rules, applied: which series each rule watches, and the detector and tracker it runs.

A rule names a brand (or ``*``: every brand, each on its own series), so one rule makes one
`Watch` per brand. A watch's detector and incident tracker are built from the rule here, and
nowhere else: the live worker and the backtest both call `detector_for` and `tracker_for`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from alerts.detectors import Detector, ShareDetector
from alerts.incidents import Tracker
from alerts.settings import Rule
from ingest.errors import ConfigError


@dataclass(frozen=True)
class Watch:
    """One rule on one brand's series."""

    rule: Rule
    brand: str

    @property
    def key(self) -> str:
        return f"{self.rule.name}/{self.brand}"


def watches(rules: Iterable[Rule], brands: Iterable[str]) -> list[Watch]:
    """Every (rule, brand) pair to evaluate; a rule naming an unknown brand is a config error."""
    names = list(brands)
    out = []
    for rule in rules:
        if rule.brand == "*":
            out += [Watch(rule, b) for b in names]
            continue
        match = [b for b in names if b.lower() == rule.brand.lower()]
        if not match:
            raise ConfigError(
                f"alerts rule '{rule.name}': no brand named '{rule.brand}' "
                f"(brands: {', '.join(names) or 'none'})"
            )
        out.append(Watch(rule, match[0]))
    return out


def detector_for(rule: Rule, step: timedelta) -> Detector | ShareDetector:
    if rule.metric == "negative_share":
        return ShareDetector(rule.detector_settings(), step)
    return Detector(rule.detector_settings(), step)


def tracker_for(rule: Rule, step: timedelta) -> Tracker:
    return Tracker(
        rule.incident_settings(),
        step,
        quiet=rule.quiet_hours,
        repeat_every=rule.repeat_every,
        notify_resolved=rule.notify_resolved,
    )


def fingerprint(rule: Rule, step: timedelta) -> str:
    """What a watch's learned state depends on: change it and the state is rebuilt."""
    basis = {
        "metric": rule.metric,
        "kind": rule.kind,
        "detector": rule.detector_settings().model_dump(mode="json"),
        "step": step.total_seconds(),
    }
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:16]
