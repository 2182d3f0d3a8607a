"""docker/: no Docker engine runs here, so check what can be checked without one: the compose
file's structure, that every worker service runs a real ``veille`` command with valid options,
that the settings it gets load, and that the image holds every package Veille is made of."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from veille.app import STAGES
from veille.cli import cli
from veille.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "docker-compose.yml").read_text())
    return data


def workers(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in compose["services"].items() if s.get("image", "").startswith("veille")}


def resolve(args: list[str]) -> click.Command:
    """The command ``veille ARGS`` runs, its options parsed as click would (nothing is run)."""
    ctx = click.Context(cli, info_name="veille")
    command: click.Command = cli
    rest = list(args)
    while isinstance(command, click.Group):
        if not rest:
            raise AssertionError(f"'veille {' '.join(args)}' names a group, not a command")
        try:
            name, found, rest = command.resolve_command(ctx, rest)
        except click.UsageError as exc:
            raise AssertionError(f"'veille {' '.join(args)}': {exc.format_message()}") from None
        assert name is not None
        assert found is not None
        parent, command = ctx, found
        ctx = click.Context(command, info_name=name, parent=parent)
    command.make_context(ctx.info_name, rest, parent=ctx.parent)  # options and arguments
    return command


def test_the_stack_has_the_servers_and_one_service_per_stage(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"kafka", "elasticsearch", "kibana"} <= set(services)
    commands = {" ".join(s["command"]) for s in workers(compose).values()}
    sources = {"poll", "crawl"}
    # The deletions stage runs beside the index stage, in ``index run``.
    run_by = {"index": "index run", "deletions": "index run", "alerts": "alerts run"}
    stages = {run_by.get(s, s) for s in STAGES}
    assert {"index setup", "kibana setup"} | sources | stages <= commands
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on a missing service {dependency}"
    assert services["kibana"]["environment"]["ELASTICSEARCH_HOSTS"].count("elasticsearch:9200")


def test_every_worker_runs_a_real_veille_command(compose: dict[str, Any]) -> None:
    for name, service in workers(compose).items():
        command = resolve(service["command"])
        assert command.callback is not None, name
    with pytest.raises(AssertionError, match="No such command 'crawler'"):
        resolve(["crawler"])  # the check itself can fail
    with pytest.raises(click.UsageError):
        resolve(["index", "run", "--no-such-option"])


def test_the_workers_settings_load_and_point_at_the_stack(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    service = next(iter(workers(compose).values()))
    environment = service["environment"]
    mount = next(v for v in service["volumes"] if v.endswith(":/etc/veille:ro"))
    configs = (DOCKER / mount.split(":")[0]).resolve()
    config = configs / Path(environment["VEILLE_CONFIG"]).relative_to("/etc/veille")
    for key, value in environment.items():
        if key != "VEILLE_CONFIG":
            monkeypatch.setenv(key, str(value))
    settings = load_settings(config)
    assert settings.bus_url == "kafka://kafka:9092"
    assert settings.store_url == "http://elasticsearch:9200"
    assert str(settings.data_dir) == environment["VEILLE_DATA_DIR"]
    assert settings.brands


def test_the_image_holds_every_package_and_the_scale_out_clients() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.MULTILINE))
    assert set(packages) == copied
    assert re.search(r"^RUN pip install \.$", dockerfile, re.MULTILINE)
    core = " ".join(pyproject["project"]["dependencies"])
    assert "kafka-python" in core
    assert "elasticsearch" in core
    assert re.search(r'^ENTRYPOINT \["veille"\]$', dockerfile, re.MULTILINE)
    assert re.search(r"^USER veille$", dockerfile, re.MULTILINE)
