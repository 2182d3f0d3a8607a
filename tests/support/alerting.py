"""Helpers shared by the alerts tests: a sample alert, an engine on a fake clock, mentions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.channels import build
from alerts.db import AlertsDb
from alerts.delivery import Dispatcher
from alerts.engine import AlertEngine
from alerts.history import AlertRecord
from alerts.notification import (
    AuthorRow,
    Event,
    MentionRow,
    Notification,
    SiteRow,
    TermRow,
    Why,
)
from alerts.settings import AlertSettings
from ingest.clock import FakeClock
from ingest.record import Influence, Mention
from tests.support.mentions import T0, make_mention


def sample_record(**changes: Any) -> AlertRecord:
    """A realistic alert, as the engine would record it."""
    mentions = [
        MentionRow(
            id=f"{i:032x}",
            url=f"https://forum.example.fr/t/panne/{i}",
            site="forum.example.fr",
            title="Panne Lumen ce soir ?!",
            text="Plus d'internet depuis 20 minutes, service client injoignable.",
            author=name,
            handle=None,
            followers=followers,
            influencer=followers is not None and followers >= 10_000,
            influence=None,
            engagement=3,
            published=T0 + timedelta(minutes=i),
            lang="fr",
        )
        for i, (name, followers) in enumerate([("Marc_44", None), ("TechInfluence", 250_000)])
    ]
    why = Why(
        rule="bad-buzz",
        brand="Lumen Télécom",
        kind="spike",
        metric="negative",
        severity="critical",
        headline="Lumen Télécom: 18 negative mentions in 15 min where 0.4 were expected (45x, "
        "p=1e-12), since 2026-11-02 09:00 UTC",
        since=T0,
        detected=T0 + timedelta(minutes=5),
        observed=18,
        expected=0.4,
        window_minutes=15,
        ratio=45,
        score=12.0,
        mentions=mentions,
        authors=[
            AuthorRow(
                name="TechInfluence",
                influencer=True,
                followers=250_000,
                url="https://forum.example.fr/t/panne/1",
                mentions=1,
            ),
            AuthorRow(
                name="Marc_44",
                influencer=False,
                followers=None,
                url="https://forum.example.fr/t/panne/0",
                mentions=1,
            ),
        ],
        terms=[TermRow(term="panne", mentions=12, share=0.6, baseline=0.01, score=9.0)],
        sites=[SiteRow(site="forum.example.fr", mentions=2)],
        search={"command": "veille search --brand 'Lumen Télécom' --sentiment negative"},
    )
    values: dict[str, Any] = {
        "id": "a1b2c3d4",
        "rule": "bad-buzz",
        "brand": "Lumen Télécom",
        "kind": "spike",
        "metric": "negative",
        "severity": "critical",
        "status": "open",
        "opened": T0 + timedelta(minutes=5),
        "since": T0,
        "detected": T0 + timedelta(minutes=5),
        "resolved": None,
        "acked": None,
        "acked_by": None,
        "score": 12.0,
        "observed": 18.0,
        "expected": 0.4,
        "paged": True,
        "dedup": "bad-buzz/Lumen Télécom/2026-11-02T09:00:00+00:00",
        "why": why,
    }
    values.update(changes)
    return AlertRecord(**values)


SAMPLE_JSON: dict[str, Any] = {
    "event": "trigger",
    "alert": {
        "id": "a1b2c3d4",
        "status": "open",
        "rule": "bad-buzz",
        "brand": "Lumen Télécom",
        "kind": "spike",
        "metric": "negative",
        "severity": "critical",
        "opened": "2026-11-02T09:05:00+00:00",
        "resolved": None,
        "acked_by": None,
        "dedup_key": "bad-buzz/Lumen Télécom/2026-11-02T09:00:00+00:00",
    },
    "why": {
        "rule": "bad-buzz",
        "brand": "Lumen Télécom",
        "kind": "spike",
        "metric": "negative",
        "severity": "critical",
        "headline": "Lumen Télécom: 18 negative mentions in 15 min where 0.4 were expected "
        "(45x, p=1e-12), since 2026-11-02 09:00 UTC",
        "since": "2026-11-02T09:00:00+00:00",
        "detected": "2026-11-02T09:05:00+00:00",
        "observed": 18,
        "expected": 0.4,
        "window_minutes": 15,
        "ratio": 45,
        "score": 12.0,
        "per_week": None,
        "mentions": [
            {
                "id": "00000000000000000000000000000000",
                "url": "https://forum.example.fr/t/panne/0",
                "site": "forum.example.fr",
                "title": "Panne Lumen ce soir ?!",
                "text": "Plus d'internet depuis 20 minutes, service client injoignable.",
                "author": "Marc_44",
                "handle": None,
                "followers": None,
                "influencer": False,
                "influence": None,
                "engagement": 3,
                "published": "2026-11-02T09:00:00+00:00",
                "lang": "fr",
            },
            {
                "id": "00000000000000000000000000000001",
                "url": "https://forum.example.fr/t/panne/1",
                "site": "forum.example.fr",
                "title": "Panne Lumen ce soir ?!",
                "text": "Plus d'internet depuis 20 minutes, service client injoignable.",
                "author": "TechInfluence",
                "handle": None,
                "followers": 250000,
                "influencer": True,
                "influence": None,
                "engagement": 3,
                "published": "2026-11-02T09:01:00+00:00",
                "lang": "fr",
            },
        ],
        "authors": [
            {
                "name": "TechInfluence",
                "influencer": True,
                "followers": 250000,
                "url": "https://forum.example.fr/t/panne/1",
                "mentions": 1,
            },
            {
                "name": "Marc_44",
                "influencer": False,
                "followers": None,
                "url": "https://forum.example.fr/t/panne/0",
                "mentions": 1,
            },
        ],
        "terms": [{"term": "panne", "mentions": 12, "share": 0.6, "baseline": 0.01, "score": 9.0}],
        "sites": [{"site": "forum.example.fr", "mentions": 2}],
        "search": {"command": "veille search --brand 'Lumen Télécom' --sentiment negative"},
        "lang": "en",
    },
}
"""``sample("trigger")`` as JSON, written out: what webhook and file receivers have always got,
and the form ``alerts.db`` stores alerts and queued notifications in. Users' integrations parse
it, and state files written by earlier versions hold it: it must not change shape."""


def sample(event: Event = "trigger") -> Notification:
    return sample_record().notification(event)


@dataclass
class Rig:
    """An alert engine with its dispatcher, on a fake clock and a state file in ``path``."""

    engine: AlertEngine
    dispatcher: Dispatcher
    clock: FakeClock
    db: AlertsDb

    def record(self, mentions: Sequence[Mention]) -> None:
        self.engine.record(mentions)

    def tick(self) -> list[Any]:
        changes = self.engine.evaluate()
        self.dispatcher.run_once(wait=True)
        return changes

    def close(self) -> None:
        self.dispatcher.close()
        self.db.close()


def rig(
    path: Path,
    config: dict[str, Any],
    brands: Sequence[str] = ("Acme",),
    clock: FakeClock | None = None,
) -> Rig:
    settings = AlertSettings.model_validate(config)
    clock = clock or FakeClock(T0)
    db = AlertsDb(path / "alerts.db")
    engine = AlertEngine(settings, list(brands), db, clock)
    notifiers = {name: build(name, c) for name, c in settings.channels.items()}
    return Rig(engine, Dispatcher(engine.history, notifiers, settings.delivery, clock), clock, db)


def mention_at(
    when: datetime,
    text: str = "Panne Acme, le service client ne répond pas",
    *,
    sentiment: str = "negative",
    brand: str = "Acme",
    followers: int | None = None,
    influencer: bool = False,
    cluster: str | None = None,
    **extra: Any,
) -> Mention:
    m = make_mention(text, brands=(brand,), sentiment=sentiment, published=when, **extra)
    assert m.enrichment is not None
    enrichment = m.enrichment.model_copy(
        update={
            "cluster": cluster,
            "influence": Influence(author_key="a", score=0.9, is_influencer=True)
            if influencer
            else None,
        }
    )
    if followers is not None and m.author is not None:
        m = m.model_copy(update={"author": m.author.model_copy(update={"followers": followers})})
    return m.with_enrichment(enrichment)


def background(
    r: Rig, days: int, per_hour: int = 2, brand: str = "Acme", negative_every: int = 3
) -> None:
    """Quiet weeks: a few mentions an hour, one in ``negative_every`` negative, evaluated as
    time goes (every 5 minutes)."""
    n = 0
    for _ in range(days * 24):
        batch = []
        for k in range(per_hour):
            n += 1
            sentiment = "negative" if n % negative_every == 0 else "neutral"
            when = r.clock.now() + timedelta(minutes=60 * k / per_hour)
            batch.append(
                mention_at(
                    when, f"Un avis sur {brand} numéro {n}", sentiment=sentiment, brand=brand
                )
            )
        for step in range(12):
            due = [m for m in batch if m.published <= r.clock.now()]
            batch = [m for m in batch if m.published > r.clock.now()]
            r.record(due)
            r.clock.advance(300)
            if step % 3 == 0:
                r.engine.evaluate()
        r.record(batch)


def store(r: Rig, record: AlertRecord, channels: Sequence[str], *events: Event) -> None:
    """Record ``record`` in the rig's history with notifications of ``events`` queued."""
    with r.db.transaction() as conn:
        r.engine.history.open(conn, record.dedup, record.why, record.opened, paged=True)
        for event in events:
            r.engine.history.enqueue(conn, record, list(channels), event, r.clock.now())
