"""Scheduled reports on an injected clock: each period's report is produced and sent once at its
time, never again after a restart, and after a downtime that covered its time it is produced when
Veille comes back; the email with its attachments reaches a local SMTP server."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from click.testing import CliRunner

from ingest.clock import FakeClock
from tests.support.echo import SmtpEcho
from tests.support.mentions import make_mention
from veille.app import App
from veille.cli import cli
from veille.reports.schedule import due_periods, parse_period
from veille.reports.settings import ReportSchedule, parse_at
from veille.settings import load_settings

PARIS = ZoneInfo("Europe/Paris")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("period", "at", "now", "after", "expected"),
    [
        # weekly on Monday 08:00 in Paris: the week before is due then, not a minute earlier
        ("weekly", "monday 08:00", paris(2026, 11, 9, 7, 59), None, ["2026-W44"]),
        ("weekly", "lundi 08:00", paris(2026, 11, 9, 8, 0), None, ["2026-W45"]),
        ("weekly", "wednesday 10:30", paris(2026, 11, 10, 12), None, ["2026-W44"]),
        # after a downtime: every period since the last one produced, oldest first
        ("weekly", "monday 08:00", paris(2026, 11, 18, 9), "2026-W44", ["2026-W45", "2026-W46"]),
        ("weekly", "monday 08:00", paris(2026, 11, 18, 9), "2026-W46", []),
        ("daily", "07:00", paris(2026, 11, 3, 6, 59), None, ["2026-11-01"]),
        ("daily", "07:00", paris(2026, 11, 3, 7), "2026-11-01", ["2026-11-02"]),
        ("monthly", "1 08:00", paris(2026, 12, 1, 8), None, ["2026-11"]),
        ("monthly", "3 08:00", paris(2027, 1, 2), None, ["2026-11"]),
    ],
)
def test_which_periods_are_due(
    period: str, at: str, now: datetime, after: str | None, expected: list[str]
) -> None:
    schedule = ReportSchedule(name="r", period=period, at=at)  # type: ignore[arg-type]
    assert [p.label for p in due_periods(schedule, now, PARIS, after)] == expected


def test_a_period_is_parsed_and_bad_times_are_explained() -> None:
    weekly = ReportSchedule(name="r")
    assert parse_period(weekly, "2026-W45", PARIS).start == paris(2026, 11, 2)
    with pytest.raises(ValueError, match="write it 2026-W48"):
        parse_period(weekly, "2026-11-02", PARIS)
    with pytest.raises(ValueError, match="write 'monday 08:00'"):
        parse_at("08:00", "weekly")
    with pytest.raises(ValueError, match="write '1 08:00'"):
        parse_at("31 08:00", "monthly")
    with pytest.raises(ValueError, match="write '08:00'"):
        parse_at("25:00", "daily")


@pytest.fixture
def smtp() -> Any:
    with SmtpEcho(accept=True) as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, smtp: SmtpEcho) -> Path:
    settings = {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Acme", "query": "acme"}],
        "alerts": {
            "channels": {
                "agency-mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp.port,
                    "tls": "none",
                    "allow_plaintext": True,
                    "sender": "veille@agence.example",
                    "to": ["client@marque.example"],
                }
            }
        },
        "reports": [
            {
                "name": "hebdo-acme",
                "brands": ["Acme"],
                "period": "weekly",
                "at": "monday 08:00",
                "formats": ["pdf", "xlsx"],
                "channels": ["agency-mail"],
                "directory": str(tmp_path / "partage"),
            }
        ],
    }
    path = tmp_path / "veille.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True))
    with App(load_settings(path)) as app:
        app.store.setup()
        day = datetime(2026, 10, 26, 9, tzinfo=UTC)
        mentions = [
            make_mention(
                f"Acme avis {i}",
                published=day + timedelta(hours=20 * i),
                brands=("Acme",),
                sentiment=("negative", "positive")[i % 2],
            )
            for i in range(30)
        ]
        assert not app.store.upsert(mentions)
    return path


def tick(config: Path, clock: FakeClock) -> int:
    """A fresh start of the reports worker (a restart) and one check."""
    with App(load_settings(config), clock=clock) as app:
        worker = app.reports_worker()
        try:
            return worker.tick()
        finally:
            worker.close()


def mails(smtp: SmtpEcho) -> list[EmailMessage]:
    return [email.message_from_bytes(m, policy=default) for m in smtp.messages]  # type: ignore[misc]


def test_each_week_is_sent_once_at_its_time_after_restarts_and_downtimes(
    config: Path, smtp: SmtpEcho, tmp_path: Path
) -> None:
    clock = FakeClock(paris(2026, 11, 2, 8, 30).astimezone(UTC))
    assert tick(config, clock) == 1  # first start: the latest due week, W44
    clock.advance(timedelta(days=6, hours=23, minutes=29).total_seconds())  # Monday 07:59
    assert tick(config, clock) == 0
    clock.advance(60)  # Monday 08:00 in Paris: W45 is due
    assert tick(config, clock) == 1
    assert tick(config, clock) == 0  # restarted at once: nothing again
    clock.advance(timedelta(days=9).total_seconds())  # down over Monday 16 November
    assert tick(config, clock) == 1  # back on Wednesday: W46, once
    assert tick(config, clock) == 0

    sent = mails(smtp)
    assert [m["X-Veille-Report"] for m in sent] == [
        "hebdo-acme 2026-W44",
        "hebdo-acme 2026-W45",
        "hebdo-acme 2026-W46",
    ]
    w45 = sent[1]
    assert w45["Message-ID"] == "<report-hebdo-acme-2026-W45@veille.local>"
    assert w45["Subject"] == (
        "Rapport hebdomadaire — Acme — Semaine 45 : du 2 novembre 2026 au 8 novembre 2026"
    )
    body = w45.get_body(("plain",))
    assert body is not None
    assert "Veille de Acme" in body.get_content()
    attached = {a.get_filename(): a.get_content_type() for a in w45.iter_attachments()}
    assert attached == {
        "hebdo-acme-acme-2026-W45.pdf": "application/pdf",
        "hebdo-acme-acme-2026-W45.xlsx": XLSX,
    }
    pdf = next(a for a in w45.iter_attachments() if a.get_filename().endswith(".pdf"))
    assert pdf.get_content().startswith(b"%PDF")
    kept = tmp_path / "data" / "reports" / "hebdo-acme"
    assert sorted(p.name for p in kept.iterdir())[:2] == [
        "hebdo-acme-acme-2026-W44.pdf",
        "hebdo-acme-acme-2026-W44.xlsx",
    ]
    assert len(list((tmp_path / "partage").glob("*.pdf"))) == 3

    runner = CliRunner()
    listed = runner.invoke(cli, ["--config", str(config), "reports", "list", "--format", "json"])
    row = json.loads(listed.output)
    assert row["last"] == "2026-W46"
    assert row["deliveries"] == {"channel:agency-mail": "sent", "directory": "sent"}


def test_a_failed_delivery_is_tried_again_and_resend_is_on_demand(
    config: Path, smtp: SmtpEcho
) -> None:
    clock = FakeClock(paris(2026, 11, 9, 9).astimezone(UTC))
    smtp.busy = True  # the mail server refuses mail for now when W45 is due
    assert tick(config, clock) == 1
    assert smtp.messages == []
    runner = CliRunner()
    shown = runner.invoke(cli, ["--config", str(config), "reports", "show", "hebdo-acme"])
    assert "channel:agency-mail" in shown.output
    assert "failed" in shown.output
    smtp.busy = False
    clock.advance(60)
    assert tick(config, clock) == 0  # not produced again, only delivered
    assert len(smtp.messages) == 1
    assert tick(config, clock) == 0
    assert len(smtp.messages) == 1
    resent = runner.invoke(
        cli, ["--config", str(config), "reports", "send", "hebdo-acme", "--period", "2026-W45"]
    )
    assert resent.exit_code == 0, resent.output
    assert "channel:agency-mail: sent" in resent.output
    assert len(smtp.messages) == 2


def test_a_schedule_that_names_an_unknown_brand_or_channel_is_refused(
    config: Path, tmp_path: Path
) -> None:
    data = yaml.safe_load(config.read_text())
    data["reports"][0]["channels"] = ["nope"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["--config", str(bad), "reports", "list"])
    assert result.exit_code == 2
    assert "'nope' is not an email or webhook channel" in result.output


def test_a_webhook_receives_the_report_signed_with_its_files(config: Path, tmp_path: Path) -> None:
    import base64

    from veille.demo.receiver import Receiver, webhook_check

    with Receiver(webhook_check("clé-partagée")) as receiver:
        data = yaml.safe_load(config.read_text())
        data["alerts"]["channels"]["client-hook"] = {
            "type": "webhook",
            "url": f"{receiver.url}/rapports",
            "secret": "clé-partagée",
        }
        data["reports"][0]["channels"] = ["client-hook"]
        data["reports"][0]["formats"] = ["md", "json"]
        hooked = tmp_path / "hook.yaml"
        hooked.write_text(yaml.safe_dump(data, allow_unicode=True))
        assert tick(hooked, FakeClock(paris(2026, 11, 9, 9).astimezone(UTC))) == 1
        [request] = receiver.received
    assert request.headers["x-veille-event"] == "report"
    assert request.headers["idempotency-key"] == "report-hebdo-acme-2026-W45"
    body = request.json
    assert body["period"] == "2026-W45"
    files = {f["name"]: base64.b64decode(f["content_base64"]) for f in body["files"]}
    report = json.loads(files["hebdo-acme-acme-2026-W45.json"])
    assert report["brands"][0]["headline"]["mentions"] > 0
    assert files["hebdo-acme-acme-2026-W45.md"].decode().startswith("# Rapport hebdomadaire")
