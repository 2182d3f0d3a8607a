"""The alerts state file across versions: an alert, a queued notification and the negative
mentions an alert shows, as an earlier Veille wrote them in ``alerts.db``, load, render, and go
out as they were written."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from alerts.buckets import BucketStore
from alerts.channels import build
from alerts.db import SCHEMA, AlertsDb
from alerts.delivery import Dispatcher
from alerts.history import History
from alerts.notification import AuthorRow, MentionRow, SiteRow, TermRow
from alerts.render import message, plain
from alerts.settings import DeliverySettings, FileChannel, SlackChannel
from alerts.why import authors_of
from ingest.clock import FakeClock
from tests.support.alerting import SAMPLE_JSON
from tests.support.mentions import T0

OLD_WHY = json.dumps(SAMPLE_JSON["why"], ensure_ascii=False)
OLD_PAYLOAD = json.dumps(SAMPLE_JSON, ensure_ascii=False)
OLD_MENTION = json.dumps(SAMPLE_JSON["why"]["mentions"][1], ensure_ascii=False)
BRAND = "Lumen Télécom"


def old_state(path: Path) -> AlertsDb:
    """A state file with the rows an earlier version wrote for the sample alert."""
    db = AlertsDb(path / "alerts.db")
    opened, since = int((T0 + timedelta(minutes=5)).timestamp()), int(T0.timestamp())
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO alerts VALUES ('a1b2c3d4', 'bad-buzz', ?, 'spike', 'negative',"
            " 'critical', 'open', ?, ?, ?, NULL, NULL, NULL, 12.0, 18.0, 0.4, 1, ?, ?)",
            (BRAND, opened, since, opened, SAMPLE_JSON["alert"]["dedup_key"], OLD_WHY),
        )
        conn.execute(
            "INSERT INTO deliveries (alert, channel, event, created, status, next_attempt,"
            " payload) VALUES ('a1b2c3d4', 'out', 'trigger', ?, 'pending', ?, ?)",
            (opened, opened, OLD_PAYLOAD),
        )
        conn.execute(
            "INSERT INTO negatives VALUES (?, ?, ?, 6.4, ?)",
            (BRAND, "0" * 31 + "1", since + 60, OLD_MENTION),
        )
    return db


def test_an_alert_an_earlier_version_stored_loads_renders_and_is_stored_the_same(
    tmp_path: Path,
) -> None:
    db = old_state(tmp_path)
    history = History(db)
    record = history.get("a1b2")
    assert record is not None
    assert (record.since, record.detected) == (T0, T0 + timedelta(minutes=5))
    why = record.why
    assert (why.since, why.detected) == (T0, T0 + timedelta(minutes=5))  # aware times again
    assert why.mentions[1] == MentionRow(
        **{**SAMPLE_JSON["why"]["mentions"][1], "published": T0 + timedelta(minutes=1)}
    )
    assert why.authors[0] == AuthorRow(
        name="TechInfluence",
        influencer=True,
        followers=250_000,
        url="https://forum.example.fr/t/panne/1",
        mentions=1,
    )
    assert why.terms == [TermRow(term="panne", mentions=12, share=0.6, baseline=0.01, score=9.0)]
    assert why.sites == [SiteRow(site="forum.example.fr", mentions=2)]
    text = plain(message(record.notification("trigger")))
    assert text.startswith("Lumen Télécom: 18 negative mentions in 15 min where 0.4 were")
    assert "Observed / expected  18 / 0.4 in 15 min (45x)" in text
    assert "TechInfluence (influencer), 250,000 followers: 1 mention" in text
    assert "https://forum.example.fr/t/panne/1" in text
    assert "Since                2026-11-02 09:00 UTC" in text
    # Written again (a repeat refreshes the why), it keeps the very same JSON.
    with db.transaction() as conn:
        history.open(conn, "another", record.why, record.opened, paged=False)
    (stored,) = db.query("SELECT why FROM alerts WHERE dedup = 'another'")
    assert stored[0] == OLD_WHY
    db.close()


def test_a_notification_an_earlier_version_queued_goes_out_as_it_was_written(
    tmp_path: Path,
) -> None:
    db = old_state(tmp_path)
    out = tmp_path / "out.jsonl"
    notifiers = {"out": build("out", FileChannel(type="file", path=str(out)))}
    clock = FakeClock(T0 + timedelta(minutes=6))
    dispatcher = Dispatcher(History(db), notifiers, DeliverySettings(), clock)
    assert dispatcher.run_once(wait=True) == 1
    dispatcher.close()
    assert out.read_text(encoding="utf-8") == OLD_PAYLOAD + "\n"
    (delivery,) = History(db).deliveries("a1b2c3d4")
    assert delivery.status == "sent"
    db.close()


def test_the_negative_mentions_an_earlier_version_kept_still_explain_alerts(
    tmp_path: Path,
) -> None:
    db = old_state(tmp_path)
    (mention,) = BucketStore(db, timedelta(minutes=5)).negatives(BRAND, T0)
    assert mention.url == "https://forum.example.fr/t/panne/1"
    assert mention.published == T0 + timedelta(minutes=1)
    assert mention.published.tzinfo is not None
    (author,) = authors_of([mention], 5)
    assert author == AuthorRow(
        name="TechInfluence",
        influencer=True,
        followers=250_000,
        url="https://forum.example.fr/t/panne/1",
        mentions=1,
    )
    db.close()


def test_a_state_file_from_before_delivery_outcomes_gets_their_columns(tmp_path: Path) -> None:
    path = tmp_path / "alerts.db"
    first = SCHEMA.replace(",\n    unknown INTEGER NOT NULL DEFAULT 0, sending INTEGER", "")
    assert first != SCHEMA
    with sqlite3.connect(path) as conn:
        conn.executescript(first)
        conn.execute(
            "INSERT INTO deliveries (alert, channel, event, created, status, next_attempt,"
            " payload) VALUES ('a1b2c3d4', 'out', 'trigger', 1, 'pending', 1, ?)",
            (OLD_PAYLOAD,),
        )
    conn.close()
    db = AlertsDb(path)
    (delivery,) = History(db).deliveries("a1b2c3d4")
    assert (delivery.unknown, delivery.interrupted) == (0, False)
    db.close()


def test_errors_an_earlier_version_stored_with_a_secret_in_them_are_masked(
    tmp_path: Path,
) -> None:
    db = old_state(tmp_path)
    token = "T000/B000/0ldS3cr3tT0k3n"
    leaked = f"HTTP 404: The requested URL /services/{token} was not found"
    with db.transaction() as conn:
        conn.execute("UPDATE deliveries SET last_error = ?", (leaked,))
    url = f"https://hooks.slack.example/services/{token}"
    notifiers = {"out": build("out", SlackChannel(type="slack", url=SecretStr(url)))}
    Dispatcher(History(db), notifiers, DeliverySettings(), FakeClock(T0)).close()
    (delivery,) = History(db).deliveries("a1b2c3d4")
    assert delivery.last_error == "HTTP 404: The requested URL *** was not found"
    db.close()
