"""The settings tree: one YAML file, environment overrides, validated at start.

Each stage package owns its settings model; this module composes them, loads the YAML file and
turns every problem into a `ConfigError` that names the file (or the environment variable), the
line, the key and what was expected.

- ``VEILLE_<KEY>__<SUBKEY>=value`` overrides a key: ``VEILLE_BUS__URL=kafka://k1:9092``.
  Lists and mappings take JSON.
- In the YAML file, ``${NAME}`` is replaced by the environment variable ``NAME`` (``${NAME:-x}``
  gives a default) and ``${file:/run/secrets/x}`` by that file's content: the way to pass secrets
  without writing them in the file.
- A secret written in clear in the file (a password, a token, a key, a webhook URL, a header
  value, a password inside a URL) is taken, with a warning that names the file, the line and
  the key and gives the ``${NAME}`` form to write instead; never the secret.
- An error never repeats a value given under a key that names a secret, nor a URL's password.
- ``include: [brands.yaml, sources.yaml]`` merges other files' top-level keys.
- Relative paths (``data_dir``, ``local://`` and ``sqlite://`` URLs, the ``file`` alert channel's
  ``path``) are relative to the file.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from alerts.settings import AlertSettings
from crawlers.settings import SourcesSettings
from enrich.settings import EnrichSettings
from index.settings import StoreSettings
from ingest.errors import ConfigError
from ingest.secrets import Masker, leaves, secrets_in, url_password, url_secrets
from ingest.settings import Brand, BusSettings, RunnerSettings, TimeZone, require_unique
from veille import backends
from veille.reports.settings import AgencySettings, ReportSchedule

log = logging.getLogger(__name__)

ROLES: tuple[backends.Role, ...] = ("bus", "store")

DEFAULT_CONFIG = "veille.yaml"
ENV_PREFIX = "VEILLE_"

Path_ = tuple[str | int, ...]


class Settings(BaseSettings):
    """Everything Veille can be told. See configs/veille.yaml for a commented example."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("data")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: TimeZone = "Europe/Paris"
    """Where the people reading Veille's reports and exports are: their dates and times are
    written in this zone, and days and weeks (which start on Monday) begin at its midnight."""
    brands: list[Brand] = []
    sources: SourcesSettings = SourcesSettings()
    bus: BusSettings = BusSettings()
    store: StoreSettings = StoreSettings()
    runner: RunnerSettings = RunnerSettings()
    enrich: EnrichSettings = EnrichSettings()
    alerts: AlertSettings = AlertSettings()
    agency: AgencySettings = AgencySettings()
    reports: list[ReportSchedule] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file (which arrives as init arguments).
        return (env_settings, init_settings)

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        names = [b.name for b in self.brands]
        require_unique(names, "brand names")
        for i, rule in enumerate(self.alerts.rules):
            if rule.brand != "*" and rule.brand.lower() not in {n.lower() for n in names}:
                raise ValueError(
                    f"alerts.rules[{i}].brand: no brand named '{rule.brand}' "
                    f"(brands: {', '.join(names) or 'none'}; '*' means every brand)"
                )
        for i, search in enumerate(self.sources.google_news):
            if search.brand not in names:
                raise ValueError(
                    f"sources.google_news[{i}].brand: no brand named '{search.brand}' "
                    f"(brands: {', '.join(names) or 'none'})"
                )
        self._check_reports(names)
        return self

    def _check_reports(self, names: list[str]) -> None:
        require_unique([r.name for r in self.reports], "report names")
        known = {n.lower() for n in names}
        for i, report in enumerate(self.reports):
            for brand in report.brands:
                if brand.lower() not in known:
                    raise ValueError(
                        f"reports[{i}].brands: no brand named '{brand}' "
                        f"(brands: {', '.join(names) or 'none'})"
                    )
            for channel in report.channels:
                found = self.alerts.channels.get(channel)
                if found is None or found.type not in ("email", "webhook"):
                    usable = [
                        n for n, c in self.alerts.channels.items() if c.type in ("email", "webhook")
                    ]
                    raise ValueError(
                        f"reports[{i}].channels: '{channel}' is not an email or webhook channel "
                        f"of alerts.channels (those: {', '.join(usable) or 'none'})"
                    )

    @property
    def bus_url(self) -> str:
        return self.bus.url or f"local://{self.data_dir / 'bus.db'}"

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite://{self.data_dir / 'veille.db'}"

    @property
    def zone(self) -> ZoneInfo:
        """`timezone` as a `ZoneInfo`."""
        return ZoneInfo(self.timezone)

    @property
    def state_dir(self) -> Path:
        """Where crawlers keep what they have seen, and where counters live."""
        return self.data_dir / "state"

    def brand(self, name: str) -> Brand:
        for brand in self.brands:
            if brand.name.lower() == name.lower():
                return brand
        raise ConfigError(
            f"no brand named '{name}' (brands: {', '.join(b.name for b in self.brands) or 'none'})"
        )


# -- loading ----------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([^}]+)\}")


class _Source:
    """Remembers, for every key path, the file and line it came from, and the text written
    there before ``${...}`` was expanded."""

    def __init__(self) -> None:
        self.where: dict[Path_, tuple[Path, int]] = {}
        self.written: dict[Path_, str] = {}

    def record(self, node: yaml.Node, path: Path_, file: Path) -> None:
        self.where[path] = (file, node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            self.written[path] = node.value
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.where[(*path, key.value)] = (file, key.start_mark.line + 1)
                self.record(value, (*path, key.value), file)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.record(item, (*path, i), file)

    def locate(self, path: Path_) -> tuple[Path, int] | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.where:
                return self.where[path[:end]]
        return None


def _expand(value: Any, file: Path, env: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, file, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, file, env) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        spec = match.group(1)
        if spec.startswith("file:"):
            target = spec[5:]
            try:
                return Path(target).expanduser().read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{file}: cannot read secret file {target}: {exc.strerror}"
                ) from None
            except (ValueError, RuntimeError):  # not text, a NUL in the name, ~nobody
                raise ConfigError(
                    f"{file}: cannot read secret file {target!r}: not a readable text file"
                ) from None
        name, _, default = spec.partition(":-")
        if name in env:
            return env[name]
        if ":-" in spec:
            return default
        raise ConfigError(
            f"{file}: environment variable {name} is not set (used as ${{{name}}}); set it, or "
            f"write ${{{name}:-default}}"
        )

    return _VAR.sub(substitute, value)


def _read_yaml(
    file: Path, source: _Source, env: Mapping[str, str], depth: int = 0
) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {file}: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"cannot read configuration file {file}: not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
        if isinstance(data, dict) and node is not None:
            source.record(node, (), file)
        data = _expand(data, file, env)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{file}: nested too deep, or a YAML alias refers to itself") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: expected a mapping of settings at the top, not {type(data).__name__}"
        )
    odd = [k for k in data if not isinstance(k, str)]
    if odd:
        raise ConfigError(f"{file}: top-level keys must be names, not {odd[0]!r}")
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise ConfigError(f"{file}: include: expected a file name or a list of file names")
    if depth > 5:
        raise ConfigError(f"{file}: includes nested too deep (a loop?)")
    for name in includes:
        try:
            target = (file.parent / name).resolve()
        except (ValueError, RuntimeError, OSError):
            raise ConfigError(f"{file}: include: cannot use {name!r} as a file name") from None
        included = _read_yaml(target, source, env, depth + 1)
        for key, value in included.items():
            if key in data:
                raise ConfigError(f"{file}: key '{key}' is set both here and in {name}")
            data[key] = value
    return data


def _section(data: dict[str, Any], *keys: str) -> dict[str, Any] | None:
    """``data[k1][k2]...`` if each level is a mapping (what is not is pydantic's to refuse)."""
    node: Any = data
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def _absolute(value: str, base: Path, key: str) -> str:
    """The path ``value`` (``~`` expanded) made absolute against ``base``."""
    try:
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())
    except (ValueError, RuntimeError, OSError):  # a NUL byte, ~nobody, a loop of links
        raise ConfigError(f"invalid configuration: {key}: cannot use {value!r} as a path") from None


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    data_dir = data.get("data_dir", "data")
    if isinstance(data_dir, str):
        data["data_dir"] = _absolute(data_dir, base, "data_dir")
    for role in ROLES:
        section = _section(data, role)
        url = section.get("url") if section else None
        found = backends.find(role, url) if isinstance(url, str) else None
        if section and isinstance(url, str) and found is not None and found.path:
            scheme, location = url.split("://", 1)
            section["url"] = f"{scheme}://{_absolute(location, base, f'{role}.url')}"
    sentiment = _section(data, "enrich", "sentiment")
    if sentiment and isinstance(sentiment.get("model"), str):
        sentiment["model"] = _absolute(sentiment["model"], base, "enrich.sentiment.model")
    channels = _section(data, "alerts", "channels") or {}
    for name, channel in channels.items():
        if isinstance(channel, dict) and channel.get("type") == "file":
            path = channel.get("path", "-")
            if isinstance(path, str) and path != "-":
                channel["path"] = _absolute(path, base, f"alerts.channels.{name}.path")
    for i, report in enumerate(data.get("reports") or []):
        if isinstance(report, dict) and isinstance(report.get("directory"), str):
            report["directory"] = _absolute(report["directory"], base, f"reports[{i}].directory")
    agency = _section(data, "agency")
    if agency and isinstance(agency.get("logo"), str):
        agency["logo"] = _absolute(agency["logo"], base, "agency.logo")


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_SECRET_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "key",
    "auth",
    "credential",
    "header",
    "webhook",
    "proxy",
    "url",
)


def _secret_key(path: Path_) -> bool:
    """Whether a key may hold a secret: its value is never repeated in an error."""
    return any(word in str(part).lower() for part in path for word in _SECRET_WORDS)


_SECRET_NAMES = re.compile(r"pass(word|wd)?|secret|token|key|auth|credential", re.IGNORECASE)


def _given_secrets(data: Any, path: Path_ = (), secret: bool = False) -> set[str]:
    """What the configuration gave under a key that may name a secret (``password``,
    ``routing_key``, a header, a channel's URL), and the credentials in any URL: the texts an
    error about the configuration must not repeat, wherever a validator quoted them."""
    if isinstance(data, dict):
        found: set[str] = set()
        for key, value in data.items():
            named = bool(_SECRET_NAMES.search(str(key))) or (path[-1:] == ("headers",))
            channel_url = key == "url" and path[:2] == ("alerts", "channels")
            found |= _given_secrets(value, (*path, str(key)), secret or named or channel_url)
        return found
    if isinstance(data, list):
        return {s for i, item in enumerate(data) for s in _given_secrets(item, (*path, i), secret)}
    if isinstance(data, str):
        return url_secrets(data, secret=secret) | ({data} if secret else set())
    if secret and data is not None and not isinstance(data, bool):
        return {str(data)}
    return set()


def _env_variable(path: Path_) -> str:
    """A name for the environment variable that should hold the secret at ``path``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(map(str, path))).strip("_").upper()


def _warn_literal_secrets(settings: Settings, source: _Source) -> None:
    """Warn about each secret written in clear in a file rather than as ``${NAME}`` or
    ``${file:...}``: the file, its line, the key and the form to use, never the secret."""
    for path, value in leaves(settings):
        if isinstance(value, SecretStr):
            what = "a secret"
            secret: str | None = value.get_secret_value()
        elif isinstance(value, str):
            what = "a password (in its URL)"
            secret = url_password(value)
        else:
            continue
        written = source.written.get(path)
        if not secret or written is None or "${" in written or secret not in written:
            continue
        file, line = source.where[path]
        name = _env_variable(path)
        log.warning(
            '%s:%d: %s holds %s written in clear in the file; write "${%s}" there (or '
            '"${file:/run/secrets/%s}") and set %s in the environment',
            file,
            line,
            _dotted(path),
            what,
            name,
            name.lower(),
            name,
        )


def _env_name(path: Path_, env: Mapping[str, str]) -> str | None:
    for end in range(len(path), 0, -1):
        name = ENV_PREFIX + "__".join(str(p).upper() for p in path[:end])
        if name in env:
            return name
    return None


def _where(path: Path_, file: Path | None, source: _Source, env: Mapping[str, str]) -> str:
    """Where the value at ``path`` came from: ``file:line`` or an environment variable."""
    env_name = _env_name(path, env)
    if env_name:
        return f"environment variable {env_name}"
    located = source.locate(path)
    return f"{located[0]}:{located[1]}" if located else str(file or "settings")


def _format(
    exc: ValidationError, file: Path | None, source: _Source, env: Mapping[str, str]
) -> str:
    lines = []
    for error in exc.errors():
        path = tuple(p for p in error["loc"])
        key = _dotted(path)
        where = _where(path, file, source, env)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (a typo?)"
        elif (
            error["type"] not in ("value_error", "assertion_error")
            and "input" in error
            and not _secret_key(path)
        ):
            shown = error["input"]
            if not isinstance(shown, dict | list):
                message += f" (got {shown!r})"
        lines.append(f"{where}: {key}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def find_config(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    """The configuration file to use: ``--config``, else ``VEILLE_CONFIG``, else ./veille.yaml."""
    if explicit:
        return Path(explicit)
    if env.get("VEILLE_CONFIG"):
        return Path(env["VEILLE_CONFIG"])
    default = Path(DEFAULT_CONFIG)
    return default if default.exists() else None


def load_settings(
    path: str | os.PathLike[str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> Settings:
    """Load and validate the settings; raise `ConfigError` with every problem found.

    Reads the environment (``os.environ``) for overrides and ``${NAME}`` references.
    """
    env = os.environ
    file = find_config(path, env)
    source = _Source()
    data: dict[str, Any] = {}
    if file is not None:
        try:
            file = file.expanduser().resolve()
        except (ValueError, RuntimeError, OSError):
            raise ConfigError(f"cannot use {str(file)!r} as a configuration file") from None
        data = _read_yaml(file, source, env)
    base = file.parent if file else Path.cwd()
    data.update(overrides or {})
    # Whatever a validator quotes, an error never repeats a secret it was given.
    mask = Masker(_given_secrets(data))
    _resolve_paths(data, base)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(mask(_format(exc, file, source, env))) from None
    except SettingsError as exc:  # an override that is not the JSON a list or mapping takes
        raise ConfigError(
            f"invalid configuration: {exc}: lists and mappings take JSON, e.g. "
            f'VEILLE_BRANDS=\'[{{"name": "Acme", "query": "acme"}}]\''
        ) from None
    unknown = [
        f"{_where((role, 'url'), file, source, env)}: {role}.url: expected "
        f"{backends.expected(role)}, not '{url}'"
        for role in ROLES
        if (url := getattr(settings, role).url) is not None and backends.find(role, url) is None
    ]
    if unknown:
        raise ConfigError(mask("invalid configuration:\n  " + "\n  ".join(unknown)))
    _warn_literal_secrets(settings, source)
    return settings


def secret_values(model: BaseModel) -> set[str]:
    """Every secret in a settings tree, so that logs, channels' errors and outputs can mask them
    wherever they appear: each `SecretStr` (and, for a secret URL, its path, query and token-like
    parts), each password inside a URL (see `ingest.secrets.secrets_in`)."""
    return secrets_in(model)
