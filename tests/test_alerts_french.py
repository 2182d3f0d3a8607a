"""Alerts in French (``alerts.language: fr``): the headline the engine writes, and every channel's
message, say it all in French, with French numbers; the two phrase books say the same things."""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alerts.channels.email import html
from alerts.channels.teams import adaptive_card
from alerts.notification import Event, Notification, from_json
from alerts.phrases import NARROW_NBSP, PHRASES, number, say
from alerts.render import markdown, message, plain
from tests.support.alerting import background, mention_at, rig, sample_record
from veille.demo.receiver import Receiver, webhook_check

KEY = "hook-signing-key"
ENGLISH = ("Top negative mentions", "Authors", "Open in Kibana", "Brand", "followers", "Since")


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with Receiver(webhook_check(KEY)) as receiver:
        yield receiver


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_phrase_books_have_every_phrase_with_the_same_blanks() -> None:
    english, french = PHRASES["en"], PHRASES["fr"]
    assert set(english) == set(french)
    for key, text in english.items():
        assert _fields(text) == _fields(french[key]), key


def test_french_numbers() -> None:
    assert number(1_200_000, "fr") == f"1{NARROW_NBSP}200{NARROW_NBSP}000"
    assert number(2.5, "fr") == "2,5"
    assert number(1_200_000, "en") == "1,200,000"
    assert say("fr", "fact.brand") == "Marque"


def test_a_french_installation_is_paged_in_french(tmp_path: Path, hook: Receiver) -> None:
    r = rig(
        tmp_path,
        {
            "language": "fr",
            "rules": [
                {"name": "bad-buzz", "brand": "Acme", "channels": ["hook"], "severity": "critical"}
            ],
            "channels": {"hook": {"type": "webhook", "url": f"{hook.url}/veille", "secret": KEY}},
        },
    )
    background(r, days=2)
    r.record([mention_at(r.clock.now(), "Acme en panne", followers=500_000, influencer=True)])
    for second in range(0, 3 * 60, 5):
        if second % 20 == 0:
            r.record([mention_at(r.clock.now(), f"Panne Acme, c'est nul ({second})")])
        r.tick()
        r.clock.advance(5)
    (page,) = hook.received
    why = page.json["why"]
    assert why["lang"] == "fr"
    assert why["headline"].startswith(f"Acme{NARROW_NBSP}: ")
    assert "mentions négatives en" in why["headline"]
    assert "depuis le" in why["headline"]
    text = plain(message(from_json(Notification, page.json)))
    assert f"500{NARROW_NBSP}000 abonnés" in text
    assert "Principales mentions négatives" in text
    assert "Gravité" in text
    assert not [w for w in ENGLISH if w in text]
    r.close()


@pytest.mark.parametrize(
    ("event", "title"),
    [
        ("trigger", "[CRITIQUE] "),
        ("repeat", "[CRITIQUE, toujours en cours] "),
        ("resolve", f"[RÉSOLU] Lumen Télécom{NARROW_NBSP}: retour à la normale (bad-buzz)"),
        ("acknowledge", f"[PRIS EN CHARGE] Lumen Télécom{NARROW_NBSP}: par quelqu'un"),
    ],
)
def test_every_channel_speaks_french(event: Event, title: str) -> None:
    record = sample_record()
    record = replace(record, why=replace(record.why, lang="fr"))
    msg = message(record.notification(event))
    assert msg.title.startswith(title)
    card = str(adaptive_card(msg))
    for text in (plain(msg), markdown(msg, "slack"), markdown(msg, "markdown"), html(msg), card):
        assert not [w for w in ENGLISH if w in text], text
        assert "Marque" in text
    if event == "trigger":
        assert "Observé / attendu" in plain(msg)
        assert "18 / 0,4 en 15 min (45x)" in plain(msg)
        assert "TechInfluence (influenceur), 250\u202f000 abonnés\u202f: 1 mention" in plain(msg)
