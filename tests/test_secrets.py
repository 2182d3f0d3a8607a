"""No secret ever shows, whatever a server echoes.

A distinct secret is planted in every secret-bearing setting: every `SecretStr` field, found by
walking the settings models (a new one is planted, and swept for, without touching this file),
and every URL that carries credentials (the store, the proxy, a feed's API key). Every channel
and backend is then made to fail against servers that echo what they were sent (path, query,
headers, body; an SMTP server repeating the login it refused), and every output and log, every
stored error (``alerts.db``; the feed state's, through ``veille status``), every command
(``config``, ``status``, ``dead``, ``alerts show/list --format json``, ``feeds``) and every
export (search, report, the file channel, Kibana's saved objects) is searched for any of them,
as given, percent-encoded, and in the Base64 logins travel in. Zero hits.
"""

from __future__ import annotations

import base64
import json
import secrets as random_secrets
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Union
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, SecretStr

from tests.support.echo import Echo, SmtpEcho, free_port, queue_trigger
from veille.cli import cli
from veille.settings import Settings, load_settings

pytestmark = pytest.mark.slow

Path_ = tuple[str | int, ...]


# -- finding every secret field ------------------------------------------------------------------


def _secret_typed(annotation: Any) -> bool:
    """Whether a field's type holds a `SecretStr` directly (``SecretStr | None``,
    ``dict[str, SecretStr]``)."""
    if annotation is SecretStr:
        return True
    return any(_secret_typed(a) for a in typing.get_args(annotation))


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _models_in(typing.get_args(annotation)[0])
        return
    if origin in (Union, types.UnionType, list, dict, tuple) or origin is not None:
        for arg in typing.get_args(annotation):
            yield from _models_in(arg)


def models_with_secrets(root: type[BaseModel]) -> set[type[BaseModel]]:
    """Every settings model reachable from ``root`` that has a secret-typed field."""
    found: set[type[BaseModel]] = set()
    seen: set[type[BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for field in model.model_fields.values():
            if _secret_typed(field.annotation):
                found.add(model)
            todo.extend(_models_in(field.annotation))
    return found


def secret_paths(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, type[BaseModel]]]:
    """The path of every secret-typed field of a loaded settings tree, set or not (a header
    mapping gives one path per header), with the model that holds it."""
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if _secret_typed(field.annotation):
                if isinstance(item, dict):
                    for key in item:
                        yield (*path, name, key), type(value)
                else:
                    yield (*path, name), type(value)
            else:
                yield from secret_paths(item, (*path, name))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from secret_paths(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from secret_paths(item, (*path, key))


def put(tree: dict[str, Any], path: Path_, value: Any) -> None:
    node: Any = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


# -- the planted configuration -------------------------------------------------------------------


class Planted:
    """The secrets planted in one configuration, and what to search for."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.where: dict[str, str] = {}
        """Each secret, and the setting it was planted in."""
        self.logins: list[tuple[str, str]] = []

    @property
    def secrets(self) -> list[str]:
        return list(self.where)

    def add(self, where: str) -> str:
        """A new secret, planted in ``where``."""
        secret = f"Zq{len(self.where):02d}s3cr3t{random_secrets.token_hex(8)}"
        self.where[secret] = where
        return secret

    def variable(self, value: str) -> str:
        name = f"VEILLE_TEST_SECRET_{len(self.env)}"
        self.env[name] = value
        return f"${{{name}}}"

    def needles(self) -> set[str]:
        """Each secret as given, percent-encoded, and in the Base64 logins carry it in."""
        found: set[str] = set()
        for secret in self.secrets:
            found |= {secret, quote(secret, safe="")}
        for user, password in self.logins:
            for login in (f"{user}:{password}", f"\0{user}\0{password}", password):
                found.add(base64.b64encode(login.encode()).decode())
        return found


def base_config(echo: str, smtp_port: int) -> dict[str, Any]:
    """A configuration that sets every model holding a secret, with placeholders."""
    filler = "placeholder-0000"
    return {
        "data_dir": "data",
        "brands": [{"name": "Acme", "query": "acme"}],
        "sources": {
            "http": {
                "proxy": echo,
                "total_timeout": "5s",
                "connect_timeout": "2s",
                "read_timeout": "3s",
            },
            "feeds": [{"name": "acme-feed", "url": "http://news.acme.example/feed.xml"}],
            "blogs": [{"name": "acme-blog", "start_urls": ["http://blog.acme.example/"]}],
            "networks": [
                {
                    "type": "mastodon",
                    "name": "acme-masto",
                    "instances": [{"url": "http://masto.acme.example", "token": filler}],
                    "search": ["acme"],
                },
                {
                    "type": "reddit",
                    "name": "acme-reddit",
                    "client_id": "acme-app",
                    "client_secret": filler,
                    "search": ["acme"],
                    "api_url": echo,
                    "www_url": echo,
                },
                {
                    "type": "bluesky",
                    "name": "acme-bsky",
                    "jetstream": f"ws://127.0.0.1:{free_port()}/subscribe",
                    "handle": "veille.bsky.social",
                    "app_password": filler,
                    "service": echo,
                    "search": {"queries": ["acme"]},
                },
                {
                    "type": "youtube",
                    "name": "acme-youtube",
                    "key": filler,
                    "search": ["acme"],
                    "api": echo,
                },
                {
                    "type": "x",
                    "name": "acme-x",
                    "token": filler,
                    "search": ["acme"],
                    "api": echo,
                },
            ],
        },
        "store": {
            "elastic": {"username": "elastic", "password": filler, "api_key": filler},
            "kibana": {"url": echo, "username": "kibana", "password": filler, "api_key": filler},
        },
        "bus": {
            "security": {
                "protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "username": "kafka-user",
                "password": filler,
            }
        },
        "alerts": {
            "rules": [{"name": "everywhere", "channels": []}],
            "delivery": {"retry_initial": "1s", "give_up_after": "1m"},
            "channels": {
                "slack": {"type": "slack", "url": filler, "timeout": "3s"},
                "teams": {"type": "teams", "url": filler, "timeout": "3s"},
                "mattermost": {"type": "mattermost", "url": filler, "timeout": "3s"},
                "hook": {
                    "type": "webhook",
                    "url": filler,
                    "secret": filler,
                    "headers": {"Authorization": filler, "X-Api-Key": filler},
                    "timeout": "3s",
                },
                "pager": {
                    "type": "pagerduty",
                    "routing_key": filler,
                    "url": f"{echo}/v2/enqueue",
                    "timeout": "3s",
                },
                "mail": {
                    "type": "email",
                    "host": "127.0.0.1",
                    "port": smtp_port,
                    "tls": "none",
                    "allow_plaintext": True,
                    "username": "veille-smtp",
                    "password": filler,
                    "sender": "veille@agence.example",
                    "to": ["astreinte@agence.example"],
                    "timeout": "3s",
                },
                "jsonl": {"type": "file", "path": "alerts.jsonl"},
            },
        },
    }


def plant(tmp_path: Path, echo: str, smtp_port: int, scale_out: bool = False) -> Planted:
    """Write ``veille.yaml`` with a distinct secret in every secret-bearing setting."""
    config = base_config(echo, smtp_port)
    config["alerts"]["rules"][0]["channels"] = list(config["alerts"]["channels"])
    probe = tmp_path / "probe.yaml"
    probe.write_text(yaml.safe_dump(config))
    loaded = load_settings(probe)
    probe.unlink()
    planted = Planted()
    paths = list(secret_paths(loaded))
    # Every model with a secret field is in the configuration, so each of its fields is planted.
    assert {model for _, model in paths} == models_with_secrets(Settings)
    for path, _ in paths:
        where = ".".join(map(str, path))
        secret = planted.add(where)
        if path[-1] == "url":  # a webhook's URL is its key: its path and its query
            query = planted.add(f"{where} (query)")
            value = f"{echo}/hooks/{secret}?sig={query}"
        elif path[-2:] == ("headers", "Authorization"):
            value = f"Bearer {secret}"
        else:
            value = secret
        put(config, path, planted.variable(value))
        if path[-1] == "password":
            owner: Any = config
            for part in path[:-1]:
                owner = owner[part]
            planted.logins.append((owner["username"], secret))
    # URLs that carry credentials, not typed as secrets: the proxy, a feed's key, the store.
    proxy_pw = planted.add("sources.http.proxy (password)")
    planted.logins.append(("proxy-user", proxy_pw))
    config["sources"]["http"]["proxy"] = planted.variable(
        echo.replace("http://", f"http://proxy-user:{proxy_pw}@")
    )
    feed_key = planted.add("sources.feeds[0].url (api_key)")
    config["sources"]["feeds"][0]["url"] = planted.variable(
        f"http://news.acme.example/feed.xml?api_key={feed_key}"
    )
    if scale_out:
        store_pw = planted.add("store.url (password)")
        planted.logins.append(("es-user", store_pw))
        config["store"]["url"] = planted.variable(
            echo.replace("http://", f"http://es-user:{store_pw}@")
        )
        config["bus"]["url"] = f"kafka://127.0.0.1:{free_port()}"
    (tmp_path / "veille.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return planted


# -- the sweep -----------------------------------------------------------------------------------


class Sweep:
    """Runs commands as a user would and keeps everything they printed."""

    def __init__(self, config: Path, monkeypatch: pytest.MonkeyPatch, planted: Planted) -> None:
        self.config = config
        self.outputs: dict[str, str] = {}
        for name, value in planted.env.items():
            monkeypatch.setenv(name, value)

    def run(self, *args: str) -> str:
        result = CliRunner().invoke(cli, ["--config", str(self.config), *args])
        shown = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            shown += f"\n{type(result.exception).__name__}: {result.exception}"
        self.outputs[" ".join(args)] = shown
        return shown

    def files(self, root: Path) -> None:
        """Every file written under ``root``: state, stores, logs, exports. Not the
        configuration, nor the feed state, which keys each feed by its URL as configured (its
        errors are swept through ``veille status``)."""
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.name not in ("veille.yaml", "feeds.db"):
                self.outputs[str(path)] = path.read_bytes().decode("latin-1")


def hits(outputs: dict[str, str], needles: set[str]) -> list[str]:
    return [
        f"{where}: {needle!r} in {text!r}"
        for where, text in outputs.items()
        for needle in needles
        if needle.lower() in text.lower()
    ]


@pytest.fixture
def echo() -> Iterator[Echo]:
    with Echo(404) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpEcho]:
    with SmtpEcho() as server:
        yield server


def test_every_planted_secret_is_masked_everywhere(
    tmp_path: Path, echo: Echo, smtp: SmtpEcho, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = plant(tmp_path, echo.url, smtp.port)
    config = tmp_path / "veille.yaml"
    sweep = Sweep(config, monkeypatch, planted)
    monkeypatch.chdir(tmp_path)

    shown = sweep.run("config")
    assert json.loads(shown)["alerts"]["channels"]["hook"]["headers"]["Authorization"] == (
        "**********"
    )
    assert "FAILED" in sweep.run("alerts", "test", "--rule", "everywhere")
    ident = queue_trigger(config)
    sweep.run("--log-level", "DEBUG", "alerts", "run", "--once")
    shown = sweep.run("alerts", "show", ident, "--format", "json")
    errors = {d["channel"]: d["last_error"] for d in json.loads(shown)["deliveries"]}
    assert "HTTP 404" in errors["slack"]  # they did fail against the echoing servers...
    assert "535" in errors["mail"]
    sweep.run("alerts", "show", ident)
    sweep.run("alerts", "list", "--format", "json")
    sweep.run("alerts", "ack", ident)
    sweep.run("alerts", "resolve", ident)
    sweep.run("--log-level", "DEBUG", "poll", "--once")
    sweep.run("--log-level", "DEBUG", "crawl", "--once", "all")
    sweep.run("--log-level", "DEBUG", "networks", "run", "--once")
    sweep.run("--log-level", "DEBUG", "sources", "test", "acme-masto")
    sweep.run("--log-level", "DEBUG", "sources", "test", "acme-reddit")
    sweep.run("--log-level", "DEBUG", "sources", "test", "acme-youtube")
    sweep.run("--log-level", "DEBUG", "sources", "test", "acme-x")
    sweep.run("status")
    sweep.run("status", "--format", "json")
    sweep.run("dead")
    sweep.run("feeds")
    sweep.run("search", "--all")
    sweep.run("report", "--format", "json")
    sweep.run("kibana", "setup")
    sweep.run("kibana", "setup", "--export", str(tmp_path / "kibana.ndjson"))
    sweep.files(tmp_path)
    # ...and echoed every secret they were sent (a server that repeats nothing proves nothing).
    echoed = "\n".join(s.path + str(s.headers) + s.body.decode() for s in echo.seen)
    sent = {where for secret, where in planted.where.items() if secret in echoed}
    assert {
        "alerts.channels.slack.url",
        "alerts.channels.hook.headers.Authorization",
        "sources.networks.0.instances.0.token",
        "sources.networks.3.key",  # in the URL, as YouTube's API wants it
        "sources.networks.4.token",
    } <= sent
    through_proxy = [s for s in echo.seen if s.path.startswith("http://")]
    assert {s.path.split("/")[2] for s in through_proxy} >= {
        "news.acme.example",
        "blog.acme.example",
        "masto.acme.example",
    }
    assert all("proxy-authorization" in s.headers for s in through_proxy)

    found = hits(sweep.outputs, planted.needles())
    assert found == [], "\n".join(found)
    assert len(planted.secrets) >= 15, planted.where


def test_the_scale_out_backends_never_show_their_credentials(
    tmp_path: Path, echo: Echo, smtp: SmtpEcho, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = plant(tmp_path, echo.url, smtp.port, scale_out=True)
    sweep = Sweep(tmp_path / "veille.yaml", monkeypatch, planted)
    monkeypatch.chdir(tmp_path)
    for command in (
        ("config",),
        ("status",),
        ("status", "--format", "json"),
        ("dead",),
        ("search", "acme"),
        ("index", "setup"),
        ("--log-level", "DEBUG", "index", "run", "--once"),
        ("kibana", "setup"),
    ):
        sweep.run(*command)
    sweep.files(tmp_path)
    assert any("authorization" in s.headers for s in echo.seen)  # it was sent credentials
    found = hits(sweep.outputs, planted.needles())
    assert found == [], "\n".join(found)
