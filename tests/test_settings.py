"""The settings tree: a bad configuration stops with file, line, key and what was expected;
the environment overrides the file; secrets are never printed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import ConfigError
from veille.logs import RedactingFilter, redact
from veille.settings import Settings, load_settings, secret_values

WriteConfig = Callable[..., Path]
SettingsFor = Callable[[dict[str, Any]], Settings]

BRANDS = [{"name": "Acme", "query": 'acme OR "acme corp"'}]


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    return str(caught.value)


def test_a_minimal_config_gets_embedded_defaults_next_to_the_file(
    settings_for: SettingsFor, tmp_path: Path
) -> None:
    settings = settings_for({"brands": BRANDS})
    assert settings.data_dir == tmp_path / "data"
    assert settings.bus_url == f"local://{tmp_path / 'data' / 'bus.db'}"
    assert settings.store_url == f"sqlite://{tmp_path / 'data' / 'veille.db'}"
    assert settings.brand("acme").tree is not None


def test_every_problem_is_reported_with_file_line_key_and_expectation(
    write_config: WriteConfig,
) -> None:
    path = write_config(
        {
            "brands": [
                {"name": "Acme", "query": "(acme OR"},
                {"name": "B", "query": "b", "colour": "red"},
            ],
            "sources": {"feeds": [{"name": "x", "url": "ftp://x", "interval": "soon"}]},
            "bus": {"partitions": "many"},
        }
    )
    message = config_error(path)
    lines = message.splitlines()
    assert lines[0] == "invalid configuration:"
    assert f"{path}:3: brands[0].query: invalid query: the query ends after 'OR'" in message
    assert f"{path}:6: brands[1].colour: unknown key (a typo?)" in message
    assert f"{path}:10: sources.feeds[0].url: expected an http:// or https:// URL" in message
    assert "sources.feeds[0].interval: expected a duration such as 30s, 15m, 2h or 1d" in message
    assert "bus.partitions: Input should be a valid integer" in message
    assert "(got 'many')" in message


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "veille.yaml"
    path.write_text("brands:\n  - name: Acme\n    query: [unclosed\n")
    assert config_error(path).startswith(f"{path}:")
    assert "not valid YAML" in config_error(path)


def test_an_unknown_backend_url_names_where_it_was_set(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_BUS__URL", "redis://cache:6379")
    path = write_config({"brands": BRANDS, "store": {"url": "elastic://es:9200"}})
    message = config_error(path)
    assert (
        "environment variable VEILLE_BUS__URL: bus.url: expected local://PATH or "
        "kafka://HOST:PORT, not 'redis://cache:6379'"
    ) in message
    assert f"{path}:" in message
    assert "store.url: expected sqlite://PATH or http(s)://HOST:PORT" in message


def test_the_environment_overrides_the_file(
    settings_for: SettingsFor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_BUS__URL", "kafka://k1:9092,k2:9092")
    monkeypatch.setenv("VEILLE_BUS__PARTITIONS", "12")
    monkeypatch.setenv("VEILLE_ENRICH__LANGUAGE__LANGUAGES", '["fr", "en", "de"]')
    settings = settings_for({"brands": BRANDS, "bus": {"partitions": 3}})
    assert settings.bus_url == "kafka://k1:9092,k2:9092"
    assert settings.bus.partitions == 12
    assert settings.enrich.language.languages == ["fr", "en", "de"]


def test_a_bad_environment_value_names_the_variable(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_RUNNER__BATCH_SIZE", "-3")
    message = config_error(write_config({"brands": BRANDS}))
    assert "environment variable VEILLE_RUNNER__BATCH_SIZE: runner.batch_size:" in message


def test_variables_and_secret_files_are_expanded(
    write_config: WriteConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret_file = tmp_path / "es_password"
    secret_file.write_text("s3cr3t-from-file\n")
    monkeypatch.setenv("ES_USER", "veille")
    path = write_config(
        {
            "brands": BRANDS,
            "store": {
                "url": "https://es.example:9200",
                "elastic": {
                    "username": "${ES_USER}",
                    "password": f"${{file:{secret_file}}}",
                    "index_prefix": "${PREFIX:-veille}",
                },
            },
        }
    )
    settings = load_settings(path)
    elastic = settings.store.elastic
    assert elastic.username == "veille"
    assert elastic.password is not None
    assert elastic.password.get_secret_value() == "s3cr3t-from-file"
    assert elastic.index_prefix == "veille"


def test_a_missing_variable_is_an_error(write_config: WriteConfig) -> None:
    path = write_config({"brands": BRANDS, "store": {"elastic": {"username": "${NOPE_X}"}}})
    assert "environment variable NOPE_X is not set" in config_error(path)


def test_secrets_are_masked_when_printed_logged_or_rejected(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("ES_PW", "hunter2-very-secret")
    settings = load_settings(
        write_config({"brands": BRANDS, "store": {"elastic": {"password": "${ES_PW}"}}})
    )
    assert "hunter2-very-secret" not in repr(settings)
    assert "hunter2-very-secret" not in settings.model_dump_json()
    assert secret_values(settings) == {"hunter2-very-secret"}

    logger = logging.getLogger("test.secrets")
    logger.addFilter(RedactingFilter(secret_values(settings)))
    with caplog.at_level(logging.INFO, logger="test.secrets"):
        logger.info(
            "connecting with %s to %s", "hunter2-very-secret", "https://user:pw123@es:9200/"
        )
    assert caplog.records[0].getMessage() == "connecting with *** to https://user:***@es:9200/"
    assert redact("kafka://u:p@k:9092") == "kafka://u:***@k:9092"

    bad = write_config(
        {"brands": BRANDS, "store": {"elastic": {"password": 123456789}}}, name="bad.yaml"
    )
    assert "123456789" not in config_error(bad)


def test_includes_merge_other_files_and_refuse_conflicts(write_config: WriteConfig) -> None:
    write_config({"brands": BRANDS}, name="brands.yaml")
    main = write_config({"include": ["brands.yaml"], "log_level": "DEBUG"})
    assert [b.name for b in load_settings(main).brands] == ["Acme"]
    clash = write_config({"include": ["brands.yaml"], "brands": []}, name="clash.yaml")
    assert "key 'brands' is set both here and in brands.yaml" in config_error(clash)


def test_cross_references_are_checked(write_config: WriteConfig) -> None:
    path = write_config(
        {"brands": BRANDS + BRANDS, "sources": {"google_news": [{"brand": "Nope"}]}}
    )
    message = config_error(path)
    assert "brand names must be unique; repeated: Acme" in message


@pytest.mark.parametrize(
    ("section", "named", "what"),
    [
        ({"alerts": {"rules": [{"name": "spike"}, {"name": "spike"}]}}, "spike", "rule names"),
        (
            {
                "sources": {
                    "blogs": [{"name": "b", "start_urls": ["https://b.example/"]}],
                    "forums": [
                        {"name": "b", "engine": "phpbb", "start_urls": ["https://f.example/"]}
                    ],
                }
            },
            "b",
            "blog and forum names",
        ),
    ],
)
def test_names_that_other_keys_refer_to_are_unique(
    write_config: WriteConfig, section: dict[str, Any], named: str, what: str
) -> None:
    message = config_error(write_config({"brands": BRANDS, **section}))
    assert f"{what} must be unique; repeated: {named}" in message
