"""Alert channels against hostile receivers, over loopback.

- Receivers whose error pages echo the request (path, query, headers, body): no secret reaches
  an error, a log line or ``alerts.db``.
- A slow receiver (it answers after 3 s; the channel waits 1 s): the webhook is retried with one
  idempotency key, the same on every attempt, in its header and its body; a channel that cannot
  deduplicate (Slack) is sent again at most ``resend_unknown`` times (1 by default, or 0), then
  marked ``unknown``.
- ``veille alerts run`` killed (SIGKILL) while a send is in flight: the restarted sender sends
  again at most what the README promises: once more for Slack (``resend_unknown: 1``), never
  for ``resend_unknown: 0``, and the webhook with the same idempotency key.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.channels import build
from alerts.channels.base import DeliveryError
from alerts.delivery import Dispatcher
from alerts.history import History
from alerts.settings import AlertSettings
from ingest.clock import FakeClock
from tests.support.alerting import rig, sample, sample_record, store
from tests.support.echo import Echo, Seen, queue_trigger
from veille.app import App
from veille.settings import load_settings

pytestmark = [pytest.mark.hostile, pytest.mark.slow]

HOOK_TOKEN = "hk-T0K3N-a8f3e2d1c0b9"
SIG = "sg-5e1a7c9d3b2f4e6a"
BEARER = "bearer-7c1d0e9f8a2b"
SIGNING_KEY = "signing-k3y-0f9e8d7c"
ROUTING_KEY = "R0ut1ngK3yR0ut1ngK3yR0ut1ngK3y32"
SECRETS = (HOOK_TOKEN, SIG, BEARER, SIGNING_KEY, ROUTING_KEY)


def channels_at(url: str, **common: Any) -> dict[str, Any]:
    """Every HTTP channel, each with its secrets in the URL's path and query."""
    hook = f"{url}/hooks/{HOOK_TOKEN}?sig={SIG}"
    return {
        "slack": {"type": "slack", "url": hook, **common},
        "teams": {"type": "teams", "url": hook, **common},
        "mattermost": {"type": "mattermost", "url": hook, **common},
        "hook": {
            "type": "webhook",
            "url": hook,
            "secret": SIGNING_KEY,
            "headers": {"Authorization": f"Bearer {BEARER}"},
            **common,
        },
        "pager": {
            "type": "pagerduty",
            "routing_key": ROUTING_KEY,
            "url": f"{url}/v2/enqueue",
            **common,
        },
    }


def test_receivers_that_echo_the_request_never_get_a_secret_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Echo(404) as echo:
        channels = channels_at(echo.url)
        r = rig(tmp_path, {"channels": channels})
        record = sample_record(brand="Acme")
        store(r, record, list(channels), "trigger")
        caplog.set_level(logging.INFO)
        r.dispatcher.run_once(wait=True)
        deliveries = r.engine.history.deliveries(record.id)
        errors = {d.channel: d.last_error or "" for d in deliveries}
        direct = []
        for name, options in channels.items():
            settings = AlertSettings.model_validate({"channels": {name: options}})
            with pytest.raises(DeliveryError) as refused:
                build(name, settings.channels[name]).send(sample())
            direct.append(str(refused.value))
        r.close()
    echoed = "".join(s.path + json.dumps(s.headers) + s.body.decode() for s in echo.seen)
    sent = [s for s in SECRETS if s != SIGNING_KEY]  # the signing key never leaves
    assert all(secret in echoed for secret in sent)  # the servers did repeat them...
    assert all(e.startswith("HTTP 404") for e in errors.values()), errors
    assert "The requested URL *** was not found" in errors["slack"]  # ...and what they said
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("alerts"))
    stored = (tmp_path / "alerts.db").read_bytes().decode("latin-1")
    for place, text in [("errors", str(errors)), ("log", logged), ("db", stored)] + [
        ("send", d) for d in direct
    ]:
        assert not [s for s in SECRETS if s in text], (place, text)


def _attempts(r: Any, rounds: int) -> None:
    """Let the dispatcher retry ``rounds`` times: each round sends what is due (a slow receiver
    holds it up to the channel's timeout), then moves the clock past any backoff."""
    for _ in range(rounds):
        r.dispatcher.run_once(wait=True)
        r.clock.advance(120)


def test_a_slow_webhook_is_retried_with_one_idempotency_key(tmp_path: Path) -> None:
    with Echo(200, delay=3) as slow:
        r = rig(
            tmp_path,
            {"channels": {"hook": {"type": "webhook", "url": f"{slow.url}/h", "timeout": "1s"}}},
        )
        record = sample_record(brand="Acme")
        store(r, record, ["hook"], "trigger")
        _attempts(r, 3)
        (delivery,) = r.engine.history.deliveries(record.id)
        r.close()
    assert len(slow.seen) == 3  # at least once: the receiver deduplicates on the key
    keys = {s.headers["idempotency-key"] for s in slow.seen}
    assert keys == {delivery.payload.key}
    assert {json.loads(s.body)["idempotency_key"] for s in slow.seen} == keys
    assert delivery.status == "pending"
    assert delivery.unknown == 3
    assert "may have arrived" in (delivery.last_error or "")


@pytest.mark.parametrize(("resend_unknown", "copies"), [(None, 2), (1, 2), (0, 1), (3, 4)])
def test_a_slow_chat_channel_is_never_paged_again_beyond_resend_unknown(
    tmp_path: Path, resend_unknown: int | None, copies: int
) -> None:
    options: dict[str, Any] = {"type": "slack", "url": f"/services/{HOOK_TOKEN}", "timeout": "1s"}
    if resend_unknown is not None:
        options["resend_unknown"] = resend_unknown
    with Echo(200, delay=3) as slow:
        options["url"] = slow.url + options["url"]
        r = rig(tmp_path, {"channels": {"chat": options}})
        record = sample_record(brand="Acme")
        store(r, record, ["chat"], "trigger")
        _attempts(r, copies + 2)
        (delivery,) = r.engine.history.deliveries(record.id)
        r.close()
    assert len(slow.seen) == copies
    assert delivery.status == "unknown"
    assert delivery.unknown == copies


def _wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_kill_during_a_send_re_sends_at_most_what_the_readme_promises(tmp_path: Path) -> None:
    with Echo(200, delay=60) as slow:
        config = tmp_path / "veille.yaml"
        channels = {
            "chat": {"type": "slack", "url": f"{slow.url}/chat", "timeout": "50s"},
            "chat0": {
                "type": "slack",
                "url": f"{slow.url}/chat0",
                "timeout": "50s",
                "resend_unknown": 0,
            },
            "hook": {"type": "webhook", "url": f"{slow.url}/hook", "timeout": "50s"},
        }
        config.write_text(
            yaml.safe_dump(
                {
                    "data_dir": "data",
                    "brands": [{"name": "Acme", "query": "acme"}],
                    "alerts": {
                        "rules": [{"name": "everywhere", "channels": list(channels)}],
                        "channels": channels,
                    },
                }
            )
        )
        ident = queue_trigger(config)
        worker = subprocess.Popen(
            [sys.executable, "-m", "veille.cli", "--config", str(config), "alerts", "run"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=os.environ,
        )
        try:
            _wait_for(lambda: len(slow.seen) == 3)  # every channel's send is in flight
        finally:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        slow.delay = 0
        settings = load_settings(config)
        with App(settings) as app:
            history = History(app.alerts_db)
            interrupted = {d.channel: d.interrupted for d in history.deliveries(ident)}
            # The restarted worker, once the dead one's claim has lapsed.
            later = FakeClock(datetime.now(UTC) + timedelta(minutes=10))
            dispatcher = Dispatcher(history, app.notifiers(), settings.alerts.delivery, later)
            dispatcher.run_once(wait=True)
            dispatcher.close()
            after = {d.channel: d for d in history.deliveries(ident)}
    assert interrupted == {"chat": True, "chat0": True, "hook": True}
    sent: dict[str, list[Seen]] = {name: [] for name in channels}
    for seen in slow.seen:
        sent[seen.path.lstrip("/")].append(seen)
    assert {name: len(copies) for name, copies in sent.items()} == {
        "chat": 2,  # 1 + resend_unknown (1, the default)
        "chat0": 1,  # resend_unknown: 0: at most once
        "hook": 2,  # again, with the same key
    }
    assert len({s.headers["idempotency-key"] for s in sent["hook"]}) == 1
    assert after["chat"].status == "sent"
    assert after["hook"].status == "sent"
    assert after["chat0"].status == "unknown"
    assert "stopped while sending" in (after["chat0"].last_error or "")
