"""``veille alerts ...`` and the demo's alert, as a user meets them."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support.channel_servers import slack
from veille.cli import cli
from veille.demo.content import BURST_MINUTES
from veille.demo.receiver import Receiver


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result, datetime]:
    data = tmp_path_factory.mktemp("alerts-demo") / "veille-demo"
    started = datetime.now(UTC)
    result = run("demo", "--data", str(data))
    return data, result, started


def test_the_demo_pages_the_outage_within_one_bucket(demo: tuple[Path, Result, datetime]) -> None:
    result = demo[1]
    assert result.exit_code == 0, result.output
    section = result.output[result.output.index("8. Alerts") :]
    assert "trigger of alert" in section
    assert "within one bucket: True" in section
    assert "Lumen Télécom\u202f: " in section  # written in French, as the demo asks
    assert "panne" in section  # an emerging term
    # Top mentions, linked: the outage started on Mastodon (and Bluesky), before the forum.
    assert "http://mastodon.example/@" in section
    assert "Velora" not in section.split("Explore:")[0]  # the quiet brand stays quiet


def test_alerts_list_show_ack_and_resolve(demo: tuple[Path, Result, datetime]) -> None:
    config = str(demo[0] / "veille.yaml")
    listed = run("--config", config, "alerts", "list", "--format", "json")
    (alert,) = [json.loads(line) for line in listed.output.splitlines()]
    assert alert["brand"] == "Lumen Télécom"
    assert alert["severity"] == "critical"
    assert alert["status"] == "open"
    shown = run("--config", config, "alerts", "show", alert["id"][:5])
    assert "Principales mentions négatives" in shown.output
    assert "demo-webhook  trigger  sent" in shown.output
    acked = run("--config", config, "alerts", "ack", alert["id"], "--by", "camille")
    assert f"acknowledged {alert['id']}" in acked.output
    resolved = run("--config", config, "alerts", "resolve", alert["id"])
    assert f"resolved {alert['id']}" in resolved.output
    # The demo's webhook is gone: the notice waits for the worker to deliver it.
    assert "demo-webhook: not delivered yet" in resolved.output
    again = CliRunner().invoke(cli, ["--config", config, "alerts", "resolve", alert["id"]])
    assert again.exit_code == 1
    assert "already resolved" in again.output


def test_backtest_from_the_store_finds_the_outage(demo: tuple[Path, Result, datetime]) -> None:
    config = str(demo[0] / "veille.yaml")
    result = run(
        "--config",
        config,
        "alerts",
        "backtest",
        "--from-store",
        "--brand",
        "lumen télécom",
        "--since",
        "8d",
        "--rule",
        "bad-buzz",
        "--format",
        "json",
    )
    (alert,) = [json.loads(line) for line in result.output.splitlines()]
    fired = datetime.fromisoformat(alert["timestamp"]).replace(tzinfo=UTC)
    # The demo dates its outage from a "now" moved up to one bucket back (so that the outage
    # begins 30 s into a bucket): the outage began when the demo says, about BURST_MINUTES
    # before the test started.
    said = re.search(r"The bad buzz started on .* at (\d\d):(\d\d):(\d\d) UTC", demo[1].output)
    assert said, demo[1].output
    about = demo[2] - timedelta(minutes=BURST_MINUTES)
    began = min(
        (
            datetime.combine(day, time(*map(int, said.groups())), UTC)
            for day in (
                about.date() - timedelta(days=1),
                about.date(),
                about.date() + timedelta(days=1),
            )
        ),
        key=lambda t: abs(t - about),
    )
    assert about - timedelta(minutes=6) <= began <= about + timedelta(minutes=6)
    assert began - timedelta(minutes=5) <= fired <= began + timedelta(minutes=5)
    assert alert["severity"] == "critical"
    assert alert["score"] > 6


def test_backtest_prints_one_json_object_per_alert(tmp_path: Path) -> None:
    start = datetime(2015, 3, 1, tzinfo=UTC)
    rows = ["timestamp,value"]
    for i in range(3 * 288):
        value = 40 if i == 700 else 4 + (i % 3)
        rows.append(f"{(start + timedelta(minutes=5 * i)):%Y-%m-%d %H:%M:%S},{value}")
    series = tmp_path / "series.csv"
    series.write_text("\n".join(rows) + "\n")
    result = run(
        "alerts", "backtest", "--series", str(series), "--bucket", "5m", "--format", "json"
    )
    alerts = [json.loads(line) for line in result.output.splitlines()]
    assert [a["timestamp"] for a in alerts] == [
        f"{start + timedelta(minutes=5 * 700):%Y-%m-%d %H:%M:%S}"
    ]
    assert set(alerts[0]) >= {"timestamp", "score", "severity", "observed", "expected"}
    table = run("alerts", "backtest", "--series", str(series))
    assert "1 alert(s) over 864 buckets" in table.output


def test_a_bad_series_file_is_a_clear_error(tmp_path: Path) -> None:
    series = tmp_path / "bad.csv"
    series.write_text("timestamp,value\n2015-03-01 00:00:00,4\n2015-03-01 00:05:00,lots\n")
    result = CliRunner().invoke(cli, ["alerts", "backtest", "--series", str(series)])
    assert result.exit_code == 2
    assert f"{series}:3: bad row" in result.output


@pytest.fixture
def chat() -> Iterator[Receiver]:
    with Receiver(slack) as receiver:
        yield receiver


def test_alerts_test_sends_on_every_channel_and_says_which_failed(
    write_config: object, chat: Receiver, tmp_path: Path
) -> None:
    config = {
        "data_dir": str(tmp_path / "data"),
        "brands": [{"name": "Acme", "query": "acme"}],
        "alerts": {
            "rules": [{"name": "bad-buzz", "brand": "Acme", "channels": ["chat", "broken"]}],
            "channels": {
                "chat": {"type": "slack", "url": f"{chat.url}/services/T1/B1/sekret-token"},
                "broken": {"type": "slack", "url": "http://127.0.0.1:9/services/T1/B1/other-token"},
            },
        },
    }
    path = write_config(config)  # type: ignore[operator]
    result = CliRunner().invoke(
        cli, ["--config", str(path), "alerts", "test", "--rule", "bad-buzz"]
    )
    assert result.exit_code == 1
    assert "chat: sent" in result.output
    assert "broken: FAILED" in result.output
    assert "other-token" not in result.output
    assert (
        chat.received[0].json["text"].startswith("[TEST] Test from Veille: rule bad-buzz on Acme")
    )


def test_a_rule_naming_an_unknown_channel_stops_at_start(
    write_config: object, tmp_path: Path
) -> None:
    config = {
        "data_dir": str(tmp_path / "data"),
        "alerts": {"rules": [{"name": "r", "channels": ["nowhere"]}]},
    }
    path = write_config(config)  # type: ignore[operator]
    result = CliRunner().invoke(cli, ["--config", str(path), "alerts", "list"])
    assert result.exit_code == 2
    assert "alerts: rule 'r': unknown channel(s) nowhere" in result.output


def test_alerts_link_to_the_kibana_that_veille_set_up(write_config: object, tmp_path: Path) -> None:
    from veille.app import App
    from veille.settings import load_settings

    path = write_config(  # type: ignore[operator]
        {
            "data_dir": str(tmp_path / "data"),
            "brands": [{"name": "Lumen Télécom", "query": "lumen"}],
            "store": {
                "kibana": {"url": "https://analyst:pw@kibana.agence.example:5601", "space": "crise"}
            },
        }
    )
    app = App(load_settings(path))
    try:
        from alerts.why import search_link

        link = search_link(
            "Lumen Télécom", datetime(2026, 11, 2, 9, tzinfo=UTC), app.alerts_settings().kibana
        )
    finally:
        app.close()
    url = link["kibana"]
    assert url.startswith("https://kibana.agence.example:5601/s/crise/app/discover#/?_g=")
    assert "pw" not in url.split("#")[0]  # no credentials in a notification
    assert "veille-mentions" in url
    assert "enrichment.brands" in url
