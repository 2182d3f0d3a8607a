"""The alerts worker's engine, on a fake clock: counting (once per mention, once per cluster,
late mentions), latency from a spike's first mention to the page, restarts in the middle of an
incident, single-mention and emerging-terms rules, acknowledgement and manual resolution."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.buckets import reach_weight
from index.sqlite import SqliteStore
from ingest.clock import FakeClock
from tests.support.alerting import Rig, background, mention_at, rig
from tests.support.channel_servers import PagerDuty
from veille.demo.receiver import Receiver, webhook_check

KEY = "hook-signing-key"
ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y32"
BUCKET = timedelta(minutes=5)


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with Receiver(webhook_check(KEY)) as receiver:
        yield receiver


def config(hook: Receiver, **rule: Any) -> dict[str, Any]:
    return {
        "rules": [{"name": "bad-buzz", "brand": "Acme", "channels": ["hook"], **rule}],
        "channels": {"hook": {"type": "webhook", "url": f"{hook.url}/veille", "secret": KEY}},
    }


def events(hook: Receiver) -> list[str]:
    return [r.json["event"] for r in hook.received]


def spike(r: Rig, minutes: int, every: int = 20, text: str = "Panne Acme, c'est nul") -> None:
    """Negative mentions, one every ``every`` seconds, the worker ticking every 5 s."""
    for second in range(0, minutes * 60, 5):
        if second % every == 0:
            r.record([mention_at(r.clock.now(), f"{text} ({second})")])
        r.tick()
        r.clock.advance(5)


def quiet(r: Rig, minutes: int) -> None:
    for _ in range(minutes // 5):
        r.tick()
        r.clock.advance(300)


def test_counting_is_once_per_mention_and_once_per_cluster(tmp_path: Path, hook: Receiver) -> None:
    r = rig(tmp_path, config(hook))
    now = r.clock.now()
    a = mention_at(now, "Panne chez Acme", cluster="c1", followers=100_000)
    copy = mention_at(now, "Panne chez Acme (reprise)", cluster="c1", followers=10)
    other = mention_at(now, "Acme au top", sentiment="positive")
    r.record([a, copy, other])
    r.record([a, other])  # the bus delivers again after a crash
    (counts,) = r.engine.buckets.series(
        "Acme", r.engine.buckets.bucket_of(now), r.engine.buckets.bucket_of(now) + 300
    )
    assert (counts.total, counts.negative) == (2, 1)
    assert counts.reach == pytest.approx(reach_weight(a)) == pytest.approx(6.0, abs=0.01)
    r.close()


def test_a_late_mention_counts_in_the_first_open_bucket(tmp_path: Path, hook: Receiver) -> None:
    r = rig(tmp_path, config(hook))
    buckets = r.engine.buckets
    r.tick()
    r.clock.advance(600)
    r.tick()  # the two buckets before this one are closed
    late = mention_at(r.clock.now() - timedelta(minutes=8), "Panne Acme vue tard")
    r.record([late])
    now_bucket = buckets.bucket_of(r.clock.now())
    series = buckets.series("Acme", now_bucket - 600, now_bucket + 300)
    assert [c.negative for c in series] == [0, 0, 1]
    r.close()


def test_a_spike_is_paged_within_one_bucket_and_ten_seconds_of_its_first_mention(
    tmp_path: Path, hook: Receiver
) -> None:
    r = rig(tmp_path, config(hook, severity="critical"))
    background(r, days=3)
    worst = timedelta(0)
    for offset in (10, 150, 290):  # the spike starts early, mid-way, or late in a bucket
        start = r.clock.now()
        bucket_start = r.engine.buckets.bucket_of(start)
        r.clock.advance(
            bucket_start + offset - int(start.timestamp()) + (300 if offset < 60 else 0)
        )
        first = r.clock.now()
        paged = len(hook.received)
        for second in range(0, 15 * 60, 5):
            if second % 20 == 0:
                r.record([mention_at(r.clock.now(), f"Panne Acme encore ({offset}, {second})")])
            r.tick()
            if len(hook.received) > paged:
                break
            r.clock.advance(5)
        assert len(hook.received) == paged + 1, f"no page for the spike starting at +{offset}s"
        assert hook.received[-1].json["event"] == "trigger"
        worst = max(worst, r.clock.now() - first)
        quiet(r, 24 * 60)  # let it resolve and the cooldown pass
    assert worst <= BUCKET + timedelta(seconds=10), worst
    r.close()


def test_the_page_says_why(tmp_path: Path, hook: Receiver) -> None:
    r = rig(tmp_path, config(hook, severity="critical"))
    background(r, days=2)
    r.record([mention_at(r.clock.now(), "Acme en panne", followers=500_000, influencer=True)])
    spike(r, 3)
    (page,) = hook.received
    why = page.json["why"]
    assert why["observed"] > why["expected"]
    assert why["score"] > 0
    assert why["headline"].startswith("Acme: ")
    assert why["authors"][0]["influencer"] is True
    assert why["authors"][0]["followers"] == 500_000
    assert all(m["url"].startswith("https://") for m in why["mentions"])
    assert "panne" in [t["term"] for t in why["terms"]]
    assert why["search"]["command"].startswith("veille search --brand Acme --sentiment negative")
    r.close()


def test_restarting_mid_incident_pages_once_and_still_resolves(
    tmp_path: Path, hook: Receiver
) -> None:
    clock = FakeClock()
    cfg = config(hook, severity="critical", incident={"resolve_after": "15m"})
    r = rig(tmp_path, cfg, clock=clock)
    background(r, days=2)
    spike(r, 4)
    assert events(hook) == ["trigger"]
    r.close()  # the worker stops (killed) in the middle of the incident

    clock.advance(120)
    r = rig(tmp_path, cfg, clock=clock)  # and starts again, from its state file
    spike(r, 4)
    assert events(hook) == ["trigger"]  # no second page for the same incident
    r.close()

    clock.advance(30 * 60)  # it stops again; the incident ends while it is down
    r = rig(tmp_path, cfg, clock=clock)
    r.tick()
    assert events(hook) == ["trigger", "resolve"]  # the resolution is not missed
    (alert,) = r.engine.history.select()
    assert alert.status == "resolved"
    assert alert.resolved is not None
    r.close()


def test_acknowledging_stops_repeats_and_resolving_by_hand_sends_the_notice(
    tmp_path: Path, hook: Receiver
) -> None:
    r = rig(tmp_path, config(hook, repeat_every="10m", incident={"resolve_after": "1h"}))
    background(r, days=2)
    spike(r, 25)
    assert events(hook)[:3] == ["trigger", "repeat", "repeat"]
    (alert,) = r.engine.history.select()
    assert r.engine.acknowledge(alert.id, "camille") is not None
    count = len(hook.received)
    spike(r, 25)
    assert len(hook.received) == count  # acknowledged: no more repeats
    r.engine.resolve(alert.id)
    r.tick()
    assert events(hook)[-1] == "resolve"
    assert r.engine.history.get(alert.id).status == "resolved"  # type: ignore[union-attr]
    spike(r, 2)
    assert events(hook)[-1] == "resolve"  # the cooldown holds a new page back
    r.close()


def test_one_negative_post_by_an_influencer_pages_at_once(tmp_path: Path) -> None:
    service = PagerDuty(ROUTING_KEY)
    with Receiver(service) as pd:
        r = rig(
            tmp_path,
            {
                "rules": [
                    {
                        "name": "vip",
                        "brand": "Acme",
                        "kind": "influencer",
                        "channels": ["pd"],
                        "min_followers": 50_000,
                        "severity": "critical",
                    }
                ],
                "channels": {
                    "pd": {
                        "type": "pagerduty",
                        "routing_key": ROUTING_KEY,
                        "url": f"{pd.url}/v2/enqueue",
                    }
                },
            },
        )
        now = r.clock.now()
        r.record([mention_at(now, "Acme, je suis déçu", followers=1_000)])
        r.record([mention_at(now, "Acme c'est génial", sentiment="positive", followers=900_000)])
        star = mention_at(
            now, "Acme m'a vraiment déçu, je résilie", followers=900_000, handle="star"
        )
        r.record([star])
        r.record([star])  # delivered twice
        r.tick()
        assert len(pd.received) == 1
        trigger = pd.received[0].json
        assert "influential author star" in trigger["payload"]["summary"]
        assert trigger["links"][0]["href"] == star.url
        r.close()


def test_words_that_suddenly_come_up_raise_an_emerging_terms_alert(
    tmp_path: Path, hook: Receiver
) -> None:
    r = rig(tmp_path, config(hook, kind="emerging_terms", sensitivity=4, min_count=4))
    background(r, days=3)
    spike(r, 4, every=30, text="Acme: fuite de données clients, scandale")
    assert events(hook) == ["trigger"]
    why = hook.received[0].json["why"]
    terms = [t["term"] for t in why["terms"]]
    assert {"fuite", "donnees", "scandale"} <= set(terms)
    assert "acme" not in terms  # always there: not news
    r.close()


def test_the_buckets_can_be_rebuilt_from_the_store(tmp_path: Path, hook: Receiver) -> None:
    r = rig(tmp_path, config(hook))
    start = r.clock.now()
    mentions = [
        mention_at(
            start + timedelta(minutes=7 * i),
            f"Acme {i}",
            sentiment="negative" if i % 3 else "neutral",
            cluster=f"c{i // 2}",
        )
        for i in range(40)
    ]
    r.clock.advance(6 * 3600)
    r.record(mentions)
    live = r.engine.buckets.series(
        "Acme", r.engine.buckets.bucket_of(start), r.engine.buckets.bucket_of(start) + 300 * 60
    )
    store = SqliteStore(tmp_path / "store.db")
    store.setup()
    store.upsert(mentions)
    counted = r.engine.buckets.rebuild(
        store, ["Acme"], start - timedelta(days=1), start + timedelta(days=1)
    )
    assert counted == {"Acme": 40}
    rebuilt = r.engine.buckets.series(
        "Acme", r.engine.buckets.bucket_of(start), r.engine.buckets.bucket_of(start) + 300 * 60
    )
    assert rebuilt == live
    store.close()
    r.close()


@pytest.mark.parametrize(
    ("down", "heard"), [(timedelta(hours=1), ["trigger", "resolve"]), (timedelta(hours=3), [])]
)
def test_an_incident_missed_while_down_is_paged_late_only_if_recent(
    tmp_path: Path, hook: Receiver, down: timedelta, heard: list[str]
) -> None:
    r = rig(tmp_path, config(hook, incident={"resolve_after": "10m"}))
    background(r, days=2)
    now = r.clock.now()
    r.record([mention_at(now + timedelta(seconds=s), f"Panne Acme {s}") for s in range(0, 300, 10)])
    r.clock.advance(down.total_seconds())  # the incident began and ended while the worker was down
    r.tick()
    assert events(hook) == heard  # paged late (with its end) if recent, else only recorded
    (alert,) = r.engine.history.select()
    assert alert.status == "resolved"
    assert alert.paged == bool(heard)
    r.close()


def test_channel_secrets_are_masked_in_logs(write_config: Any, tmp_path: Path) -> None:
    from veille.logs import redact
    from veille.settings import load_settings, secret_values

    path = write_config(
        {
            "data_dir": str(tmp_path / "data"),
            "alerts": {
                "channels": {
                    "chat": {"type": "slack", "url": "https://hooks.slack.com/services/T/B/s3cr3t"},
                    "pager": {"type": "pagerduty", "routing_key": "k" * 32},
                }
            },
        }
    )
    secrets = secret_values(load_settings(path))
    line = "POST https://hooks.slack.com/services/T/B/s3cr3t failed; key " + "k" * 32
    assert "s3cr3t" not in redact(line, secrets)
    assert "k" * 32 not in redact(line, secrets)


def test_a_new_rule_learns_the_past_without_alerting_on_it(tmp_path: Path, hook: Receiver) -> None:
    r = rig(tmp_path, config(hook))
    start = r.clock.now()
    history = [
        mention_at(start + timedelta(minutes=5 * i), f"Acme {i}", sentiment="neutral")
        for i in range(3 * 288)
    ]
    history += [
        mention_at(start + timedelta(days=2, seconds=s), f"Panne Acme {s}")
        for s in range(0, 600, 20)
    ]
    r.clock.advance(3 * 86400)
    r.record(history)  # a rebuild, or a rule added after the fact: the past is known at once
    r.tick()
    assert r.engine.history.select() == []
    assert hook.received == []
    r.close()
