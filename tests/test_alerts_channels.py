"""Every notification channel against a local server that enforces its service's contract, and
delivery: retries with backoff, one channel down never holding up the others, no secret leaked."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import ssl
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from alerts.channels import build
from alerts.channels.base import DeliveryError
from alerts.delivery import Dispatcher
from alerts.settings import AlertSettings
from tests.support.alerting import SAMPLE_JSON, rig, sample, sample_record, store
from tests.support.channel_servers import PagerDuty, mattermost, slack, teams
from tests.support.echo import free_port
from veille.demo.receiver import Receiver, webhook_check

SLACK_TOKEN = "T000/B000/XXXXsecretXXXX"
ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y32"


@pytest.fixture
def serve() -> Iterator[Any]:
    with ExitStack() as servers:
        yield lambda check: servers.enter_context(Receiver(check))


def channel(kind: str, **options: Any) -> Any:
    settings = AlertSettings.model_validate({"channels": {"c": {"type": kind, **options}}})
    return build("c", settings.channels["c"])


def test_slack_gets_blocks_it_accepts_with_the_why(serve: Any) -> None:
    server = serve(slack)
    channel("slack", url=f"{server.url}/services/{SLACK_TOKEN}").send(sample())
    (request,) = server.received
    body = request.json
    assert body["text"].startswith("[CRITICAL] Lumen Télécom: 18 negative mentions")
    text = str(body["blocks"])
    assert "https://forum.example.fr/t/panne/0" in text  # the top mentions, with their links
    authors = text[text.index("*Authors*") :]
    assert authors.index("TechInfluence (influencer)") < authors.index("Marc_44")
    assert "panne (12)" in text  # emerging terms
    assert "veille search" in text


def test_teams_gets_an_adaptive_card(serve: Any) -> None:
    server = serve(teams)
    channel("teams", url=f"{server.url}/workflows/xyz").send(sample())
    card = server.received[0].json["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Brand"] == "Lumen Télécom"
    assert facts["Observed / expected"].startswith("18 / 0.4 in 15 min")


def test_mattermost_gets_markdown(serve: Any) -> None:
    server = serve(mattermost)
    channel("mattermost", url=f"{server.url}/hooks/abc", channel="crise").send(sample("resolve"))
    body = server.received[0].json
    assert body["channel"] == "crise"
    assert body["text"].startswith("**[RESOLVED] Lumen Télécom: back to normal")


def test_a_payload_the_service_refuses_is_not_retried(serve: Any) -> None:
    server = serve(lambda request: (400, "invalid_blocks"))
    with pytest.raises(DeliveryError) as refused:
        channel("slack", url=f"{server.url}/services/{SLACK_TOKEN}").send(sample())
    assert not refused.value.retryable
    assert SLACK_TOKEN not in str(refused.value)


def test_the_webhook_is_signed_and_a_wrong_key_is_refused(serve: Any) -> None:
    server = serve(webhook_check("the-shared-key"))
    channel("webhook", url=f"{server.url}/hook", secret="the-shared-key").send(sample())
    assert server.received[0].json["alert"]["id"] == "a1b2c3d4"
    with pytest.raises(DeliveryError, match="401"):
        channel("webhook", url=f"{server.url}/hook", secret="another-key").send(sample())
    assert len(server.received) == 1


def test_the_webhook_and_the_file_send_the_json_receivers_have_always_parsed(
    serve: Any, tmp_path: Path
) -> None:
    server = serve(webhook_check("the-shared-key"))
    channel("webhook", url=f"{server.url}/hook", secret="the-shared-key").send(sample())
    (request,) = server.received
    key = sample().key
    sent = SAMPLE_JSON | {"idempotency_key": key}
    assert request.body == json.dumps(sent, ensure_ascii=False, sort_keys=True).encode()
    assert request.headers["x-veille-event"] == "trigger"
    assert request.headers["idempotency-key"] == key
    lines = tmp_path / "alerts.jsonl"
    channel("file", path=str(lines)).send(sample())
    assert lines.read_text(encoding="utf-8") == json.dumps(SAMPLE_JSON, ensure_ascii=False) + "\n"


def test_pagerduty_triggers_acknowledges_and_resolves_one_incident(serve: Any) -> None:
    service = PagerDuty(ROUTING_KEY)
    server = serve(service)
    pd = channel("pagerduty", routing_key=ROUTING_KEY, url=f"{server.url}/v2/enqueue")
    pd.send(sample("trigger"))
    pd.send(sample("trigger"))  # paged again (a replay): still one incident
    assert list(service.incidents.values()) == ["triggered"]
    pd.send(sample("acknowledge"))
    pd.send(sample("resolve"))
    assert list(service.incidents.values()) == ["resolved"]
    trigger = server.received[0].json
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["timestamp"] == "2026-11-02T09:05:00+00:00"
    assert trigger["payload"]["custom_details"]["top mentions"] == [
        "https://forum.example.fr/t/panne/0",
        "https://forum.example.fr/t/panne/1",
    ]
    assert trigger["links"][0]["href"] == "https://forum.example.fr/t/panne/0"
    with pytest.raises(DeliveryError, match="invalid event"):
        channel("pagerduty", routing_key="x" * 32, url=f"{server.url}/v2/enqueue").send(sample())


# -- email --------------------------------------------------------------------------------------


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=default))  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[tuple[int, _Inbox, Path]]:
    """A real SMTP server on loopback that requires STARTTLS, then a login."""
    trustme = pytest.importorskip("trustme")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox = _Inbox()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"veille",
            b"smtp-pa55word",
        )
        if isinstance(data, LoginPassword):
            inbox.logins.append(data.login)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    yield port, inbox, ca_file
    controller.stop()
    asyncio.set_event_loop(None)


def email_channel(port: int, ca_file: Path | None, password: str = "smtp-pa55word") -> Any:
    return channel(
        "email",
        host="127.0.0.1",
        port=port,
        username="veille",
        password=password,
        sender="veille@agence.example",
        to=["astreinte@agence.example"],
        ca_file=str(ca_file) if ca_file else None,
    )


def test_email_goes_over_starttls_with_a_login(smtp: tuple[int, _Inbox, Path]) -> None:
    port, inbox, ca_file = smtp
    email_channel(port, ca_file).send(sample())
    (mail,) = inbox.messages
    assert mail["Subject"].startswith("[CRITICAL] Lumen Télécom")
    assert mail["To"] == "astreinte@agence.example"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "https://forum.example.fr/t/panne/1" in text
    assert "<a href='https://forum.example.fr/t/panne/0'>" in html


def test_a_refused_login_is_a_clear_error_without_the_password(
    smtp: tuple[int, _Inbox, Path],
) -> None:
    port, inbox, ca_file = smtp
    with pytest.raises(DeliveryError) as refused:
        email_channel(port, ca_file, password="wrong-password").send(sample())
    assert not refused.value.retryable
    assert "login refused" in str(refused.value)
    assert "wrong-password" not in str(refused.value)
    assert inbox.messages == []


def test_the_password_never_goes_to_a_server_without_tls(tmp_path: Path) -> None:
    from aiosmtpd.controller import Controller

    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        with pytest.raises(DeliveryError, match="STARTTLS"):
            email_channel(port, None).send(sample())
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
    assert inbox.logins == []
    assert inbox.messages == []


# -- delivery -----------------------------------------------------------------------------------


def test_one_channel_down_never_holds_up_the_others_and_delivers_when_back(
    tmp_path: Path, serve: Any, caplog: pytest.LogCaptureFixture
) -> None:
    up = serve(slack)
    down = serve(webhook_check("hmac-key-123"))
    down.down = True
    r = rig(
        tmp_path,
        {
            "rules": [{"name": "bad-buzz", "brand": "Acme", "channels": ["chat", "hook"]}],
            "channels": {
                "chat": {"type": "slack", "url": f"{up.url}/services/{SLACK_TOKEN}"},
                "hook": {"type": "webhook", "url": f"{down.url}/x", "secret": "hmac-key-123"},
            },
            "delivery": {"retry_initial": "10s", "retry_max": "1m"},
        },
    )
    caplog.set_level(logging.INFO)
    record = sample_record(brand="Acme")
    store(r, record, ["chat", "hook"], "trigger", "resolve")
    r.dispatcher.run_once(wait=True)
    assert [x.json["text"][:10] for x in up.received] == ["[CRITICAL]", "[RESOLVED]"]
    assert len(down.attempts) == 1  # tried once; the resolve waits behind the trigger
    for _ in range(4):  # still down: retried
        before = len(down.attempts)
        while len(down.attempts) == before:
            r.clock.advance(1)
            r.dispatcher.run_once(wait=True)
    statuses = {d.event: d for d in r.engine.history.deliveries(record.id) if d.channel == "hook"}
    assert statuses["trigger"].attempts == 5
    assert statuses["trigger"].status == "pending"
    down.down = False
    r.clock.advance(120)
    r.dispatcher.run_once(wait=True)
    assert [x.json["event"] for x in down.received] == ["trigger", "resolve"]  # in order
    assert all(d.status == "sent" for d in r.engine.history.deliveries(record.id))
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("alerts"))
    assert "trigger of alert a1b2c3d4 to hook failed (attempt 1: HTTP 503" in ours
    assert SLACK_TOKEN not in ours
    assert "hmac-key-123" not in ours
    r.close()


def test_backoff_grows_and_is_capped(tmp_path: Path, serve: Any) -> None:
    down = serve(slack)
    down.down = True
    r = rig(
        tmp_path,
        {
            "rules": [{"name": "bad-buzz", "brand": "Acme", "channels": ["chat"]}],
            "channels": {"chat": {"type": "slack", "url": f"{down.url}/services/{SLACK_TOKEN}"}},
            "delivery": {
                "retry_initial": "5s",
                "retry_max": "40s",
                "give_up_after": "5m",
                "retry_jitter": 0,
            },
        },
    )
    record = sample_record(brand="Acme")
    store(r, record, ["chat"], "trigger")
    times = []
    while True:
        n = r.dispatcher.run_once(wait=True)
        if n:
            times.append(r.clock.now())
        (d,) = r.engine.history.deliveries(record.id)
        if d.status == "failed":
            break
        r.clock.advance(1)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps[:4] == [5, 10, 20, 40]
    assert max(gaps) == 40
    assert d.last_error is not None
    assert SLACK_TOKEN not in d.last_error
    assert timedelta(minutes=5) <= times[-1] - times[0] <= timedelta(minutes=6)
    r.close()


def test_backoff_is_jittered_below_the_exponential_delay(tmp_path: Path, serve: Any) -> None:
    down = serve(slack)
    down.down = True
    r = rig(
        tmp_path,
        {
            "rules": [{"name": "bad-buzz", "brand": "Acme", "channels": ["chat"]}],
            "channels": {"chat": {"type": "slack", "url": f"{down.url}/services/{SLACK_TOKEN}"}},
            "delivery": {"retry_initial": "64s", "retry_max": "1h", "retry_jitter": 0.5},
        },
    )
    settings, notifiers = r.dispatcher.settings, r.dispatcher.notifiers
    dispatcher = Dispatcher(r.engine.history, notifiers, settings, r.clock, random.Random(7))
    record = sample_record(brand="Acme")
    store(r, record, ["chat"], "trigger")
    waits = []
    for attempt in range(1, 6):
        dispatcher.run_once(wait=True)
        (d,) = r.engine.history.deliveries(record.id)
        waits.append((d.next_attempt - r.clock.now()).total_seconds())
        full = 64 * 2 ** (attempt - 1)
        assert full / 2 <= waits[-1] <= full
        r.clock.advance(full)
    assert len({w / 2**i for i, w in enumerate(waits)}) > 1  # drawn, not fixed
    dispatcher.close()
    r.close()
