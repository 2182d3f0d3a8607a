"""The settings tree: a bad configuration stops with file, line, key and what was expected;
the environment overrides the file; secrets are never printed."""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

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
    assert settings.timezone == "Europe/Paris"  # the agencies Veille is for read Paris time
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


def test_an_unknown_time_zone_is_named_with_an_example(write_config: WriteConfig) -> None:
    message = config_error(write_config({"brands": BRANDS, "timezone": "Europe/Pariss"}))
    assert "timezone" in message
    assert "unknown time zone 'Europe/Pariss'" in message
    assert load_settings(write_config({"timezone": "America/Montreal"})).zone.key == (
        "America/Montreal"
    )


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
            "blog, forum and review site names",
        ),
    ],
)
def test_names_that_other_keys_refer_to_are_unique(
    write_config: WriteConfig, section: dict[str, Any], named: str, what: str
) -> None:
    message = config_error(write_config({"brands": BRANDS, **section}))
    assert f"{what} must be unique; repeated: {named}" in message


def test_a_secret_written_in_clear_is_taken_with_a_warning_that_never_shows_it(
    write_config: WriteConfig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_URL", "https://hooks.slack.com/services/T0/B0/from-env-1234")
    path = write_config(
        {
            "brands": BRANDS,
            "store": {
                "url": "https://elastic:pw-in-the-url-42@es.example:9200",
                "elastic": {"password": "hunter2-in-clear"},
            },
            "alerts": {
                "channels": {
                    "team": {"type": "slack", "url": "${SLACK_URL}"},
                    "hook": {
                        "type": "webhook",
                        "url": "https://hooks.example/h",
                        "headers": {"Authorization": "Bearer tok-in-clear-7", "X-Env": "${X:-a}"},
                    },
                }
            },
        }
    )
    with caplog.at_level(logging.WARNING, logger="veille.settings"):
        settings = load_settings(path)
    assert settings.store.elastic.password is not None  # taken all the same
    warned = [r.getMessage() for r in caplog.records]
    assert len(warned) == 4, warned
    text = "\n".join(warned)
    assert f"{path}:5: store.url holds a password (in its URL) written in clear" in text
    assert 'write "${STORE_URL}" there' in text
    assert f"{path}:7: store.elastic.password holds a secret written in clear" in text
    assert 'write "${STORE_ELASTIC_PASSWORD}"' in text
    assert "alerts.channels.hook.url holds a secret" in text
    assert "alerts.channels.hook.headers.Authorization holds a secret" in text
    assert "${file:/run/secrets/store_elastic_password}" in text
    for secret in ("pw-in-the-url-42", "hunter2-in-clear", "tok-in-clear-7", "hooks.example/h"):
        assert secret not in text
    assert "team" not in text  # ${...} forms are not warned about
    assert "X-Env" not in text


def test_an_error_never_repeats_a_secret_whatever_key_it_is_about(
    write_config: WriteConfig,
) -> None:
    message = config_error(
        write_config(
            {
                "brands": BRANDS,
                "sources": {
                    "http": {"proxy": "http://u:proxy-pw-12345@proxy:3128", "host_delay": "x"},
                    "feeds": [{"name": "f", "url": "ftp://u:feed-pw-123456@x/feed"}],
                },
                "alerts": {
                    "channels": {
                        "hook": {
                            "type": "webhook",
                            "url": "https://hooks.example/T0K3N-abcdef",
                            "headers": {"Authorization": ["Bearer in-a-list-123"]},
                            "timeout": "T0K3N-abcdef",
                        }
                    }
                },
            }
        )
    )
    assert "sources.feeds[0].url: expected an http:// or https:// URL" in message
    assert "alerts.channels.hook.webhook.headers.Authorization: Input should be" in message
    assert "alerts.channels.hook.webhook.timeout: expected a duration" in message
    for secret in ("feed-pw-123456", "in-a-list-123", "proxy-pw-12345", "T0K3N-abcdef"):
        assert secret not in message
    unknown = config_error(
        write_config({"brands": BRANDS, "bus": {"url": "redis://user:bus-pw-123456@cache:6379"}})
    )
    assert "bus.url: expected local://PATH or kafka://HOST:PORT" in unknown
    assert "bus-pw-123456" not in unknown


# -- property: any document gives Settings or a ConfigError, never a secret -----------------------

MARK = "Zs3cr3t"
"""Every secret the property tests plant starts so; nothing else does."""

secrets_ = st.from_regex(rf"\A{MARK}[A-Za-z0-9]{{6,10}}\Z")
words = st.text(st.characters(codec="utf-8", exclude_characters=MARK), max_size=12)
references = st.sampled_from(
    [
        *("${VEILLE_PROP_SET}", "${VEILLE_PROP_UNSET}", "${VEILLE_PROP_UNSET:-dflt}"),
        *("${file:/nope}", "${file:}", "${}", "${file:~nobody-at-all/x}", "${file:/etc}"),
        "x ${VEILLE_PROP_SET} y",
    ]
)
durations = st.one_of(
    st.sampled_from(["5m", "1s", "0s", "-1s", "99999999999999999999d", "1e400s", "soon"]),
    st.floats(),
    st.integers(-(10**20), 10**20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(),
    words,
    references,
    durations,
)
names = st.sampled_from(
    [
        *("url", "name", "query", "type", "brand", "channels", "rules", "timeout", "interval"),
        *("path", "username", "feeds", "http", "elastic", "kibana", "security", "delivery"),
        *("lang", "include"),
    ]
)
odd_keys = st.one_of(st.integers(-2, 2), st.booleans(), st.none(), st.floats(0, 1))
"""Keys YAML allows and settings do not."""
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(names, words, odd_keys), inner, max_size=4),
    ),
    max_leaves=12,
)
secret_or_not = st.one_of(secrets_, scalars, references, st.lists(secrets_, max_size=2))
secret_url = st.builds(lambda s: f"https://hooks.example/services/{s}?sig={s}x", secrets_)
credentials_url = st.builds(
    lambda scheme, s: f"{scheme}://user:{s}@host.example:9200/p",
    st.sampled_from(["http", "https", "kafka", "redis", "sqlite", "local", "ftp"]),
    secrets_,
)
channel = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            ["slack", "teams", "mattermost", "webhook", "pagerduty", "email", "file", "fax", 3]
        )
    },
    optional={
        "url": st.one_of(secret_url, secrets_, scalars),
        "routing_key": secret_or_not,
        "secret": secret_or_not,
        "password": secret_or_not,
        "username": words,
        "headers": st.one_of(st.dictionaries(words, secret_or_not, max_size=3), scalars),
        "timeout": durations,
        "resend_unknown": scalars,
        "host": words,
        "sender": words,
        "to": st.lists(words, max_size=2),
        "path": st.one_of(words, st.just("a\0b")),
        "extra": trees,
    },
)


def mapping(**optional: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping with some of these keys."""
    return st.fixed_dictionaries({}, optional=optional)


def section(**optional: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A section with some of these keys, or anything at all in its place."""
    return st.one_of(mapping(**optional), trees)


documents = mapping(
    data_dir=st.one_of(words, scalars, st.just("~nobody-at-all/d"), st.just("a\0b")),
    log_level=st.one_of(st.sampled_from(["DEBUG", "LOUD"]), scalars),
    brands=st.one_of(
        st.lists(
            st.fixed_dictionaries(
                {"name": words, "query": st.one_of(words, st.just("acme OR"), scalars)}
            ),
            max_size=2,
        ),
        trees,
    ),
    sources=section(
        http=mapping(proxy=st.one_of(credentials_url, scalars), total_timeout=durations),
        feeds=st.lists(
            st.fixed_dictionaries(
                {"name": words, "url": st.one_of(credentials_url, words)},
                optional={"interval": durations},
            ),
            max_size=2,
        ),
    ),
    bus=section(
        url=st.one_of(credentials_url, words, scalars),
        security=mapping(password=secret_or_not, protocol=words),
    ),
    store=section(
        url=st.one_of(credentials_url, words, scalars),
        elastic=mapping(password=secret_or_not, api_key=secret_or_not),
        kibana=mapping(url=st.one_of(credentials_url, words), api_key=secret_or_not),
    ),
    alerts=section(
        channels=st.one_of(st.dictionaries(words, channel, max_size=3), trees),
        rules=st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"name": words},
                    optional={"channels": st.lists(words, max_size=2), "brand": words},
                ),
                max_size=2,
            ),
            trees,
        ),
        delivery=st.dictionaries(names, durations, max_size=2),
    ),
    include=st.one_of(words, st.lists(words, max_size=2), scalars, trees),
    runner=section(retry_max=durations, poll_timeout=durations),
    enrich=trees,
).flatmap(
    lambda doc: st.builds(lambda extra: {**doc, **extra}, st.dictionaries(words, trees, max_size=2))
)


def planted(value: Any) -> set[str]:
    """The secrets planted in a document."""
    if isinstance(value, dict):
        return {s for v in value.values() for s in planted(v)}
    if isinstance(value, list):
        return {s for v in value for s in planted(v)}
    if isinstance(value, str) and MARK in value:
        return set(re.findall(rf"{MARK}[A-Za-z0-9]+", value))
    return set()


def load_text(text: str) -> Settings | str:
    """Load ``text`` as a configuration file: the settings, or the `ConfigError`'s message."""
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as env:
        env.setenv("VEILLE_PROP_SET", "from-the-environment")
        env.delenv("VEILLE_PROP_UNSET", raising=False)
        path = Path(tmp) / "veille.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return load_settings(path)
        except ConfigError as exc:
            return str(exc)


@given(documents)
def test_any_document_gives_settings_or_a_config_error_that_shows_no_secret(
    document: dict[str, Any],
) -> None:
    outcome = load_text(yaml.safe_dump(document, allow_unicode=True))
    if isinstance(outcome, str):
        shown = [s for s in planted(document) if s in outcome]
        assert shown == [], outcome


@given(st.one_of(st.text(max_size=200), trees.map(yaml.safe_dump)))
def test_any_text_gives_settings_or_a_config_error(text: str) -> None:
    load_text(text)
