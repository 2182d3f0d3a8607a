"""The settings tree: one YAML file, environment overrides, validated at start.

Each stage package owns its settings model; this module composes them, loads the YAML file and
turns every problem into a `ConfigError` that names the file (or the environment variable), the
line, the key and what was expected.

- ``VEILLE_<KEY>__<SUBKEY>=value`` overrides a key: ``VEILLE_BUS__URL=kafka://k1:9092``.
  Lists and mappings take JSON.
- In the YAML file, ``${NAME}`` is replaced by the environment variable ``NAME`` (``${NAME:-x}``
  gives a default) and ``${file:/run/secrets/x}`` by that file's content: the way to pass secrets
  without writing them in the file.
- ``include: [brands.yaml, sources.yaml]`` merges other files' top-level keys.
- Relative paths (``data_dir``, ``local://`` and ``sqlite://`` URLs, the ``file`` alert channel's
  ``path``) are relative to the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from alerts.settings import AlertSettings
from crawlers.settings import SourcesSettings
from enrich.settings import EnrichSettings
from index.settings import StoreSettings
from ingest.errors import ConfigError
from ingest.secrets import secrets_in
from ingest.settings import Brand, BusSettings, RunnerSettings, require_unique
from veille import backends

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
    brands: list[Brand] = []
    sources: SourcesSettings = SourcesSettings()
    bus: BusSettings = BusSettings()
    store: StoreSettings = StoreSettings()
    runner: RunnerSettings = RunnerSettings()
    enrich: EnrichSettings = EnrichSettings()
    alerts: AlertSettings = AlertSettings()

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
        return self

    @property
    def bus_url(self) -> str:
        return self.bus.url or f"local://{self.data_dir / 'bus.db'}"

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite://{self.data_dir / 'veille.db'}"

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
    """Remembers, for every key path, the file and line it came from."""

    def __init__(self) -> None:
        self.where: dict[Path_, tuple[Path, int]] = {}

    def record(self, node: yaml.Node, path: Path_, file: Path) -> None:
        self.where[path] = (file, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
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
            target = Path(spec[5:]).expanduser()
            try:
                return target.read_text().strip()
            except OSError as exc:
                raise ConfigError(
                    f"{file}: cannot read secret file {target}: {exc.strerror}"
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
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark else str(file)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{file}: expected a mapping of settings at the top, not {type(data).__name__}"
        )
    if node is not None:
        source.record(node, (), file)
    expanded: dict[str, Any] = _expand(data, file, env)
    data = expanded
    includes = data.pop("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if depth > 5:
        raise ConfigError(f"{file}: includes nested too deep (a loop?)")
    for name in includes:
        included = _read_yaml((file.parent / name).resolve(), source, env, depth + 1)
        for key, value in included.items():
            if key in data:
                raise ConfigError(f"{file}: key '{key}' is set both here and in {name}")
            data[key] = value
    return data


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    data_dir = Path(str(data.get("data_dir", "data"))).expanduser()
    data["data_dir"] = str(data_dir if data_dir.is_absolute() else (base / data_dir).resolve())
    for role in ROLES:
        url = (data.get(role) or {}).get("url")
        found = backends.find(role, url) if isinstance(url, str) else None
        if isinstance(url, str) and found is not None and found.path:
            scheme, location = url.split("://", 1)
            file = Path(location).expanduser()
            if not file.is_absolute():
                data[role]["url"] = f"{scheme}://{(base / file).resolve()}"
    sentiment = (data.get("enrich") or {}).get("sentiment") or {}
    if isinstance(sentiment, dict) and isinstance(sentiment.get("model"), str):
        model = Path(sentiment["model"]).expanduser()
        sentiment["model"] = str(model if model.is_absolute() else (base / model).resolve())
    channels = (data.get("alerts") or {}).get("channels") or {}
    for channel in channels.values() if isinstance(channels, dict) else ():
        if isinstance(channel, dict) and channel.get("type") == "file":
            path = Path(str(channel.get("path", "-"))).expanduser()
            if str(path) != "-" and not path.is_absolute():
                channel["path"] = str((base / path).resolve())


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_SECRET_WORDS = ("password", "secret", "token", "api_key", "apikey", "key", "webhook", "url")


def _secret_key(path: Path_) -> bool:
    """Whether a key may hold a secret: its value is never repeated in an error."""
    return any(word in str(part).lower() for part in path for word in _SECRET_WORDS)


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
        file = file.expanduser().resolve()
        data = _read_yaml(file, source, env)
    base = file.parent if file else Path.cwd()
    data.update(overrides or {})
    _resolve_paths(data, base)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format(exc, file, source, env)) from None
    unknown = [
        f"{_where((role, 'url'), file, source, env)}: {role}.url: expected "
        f"{backends.expected(role)}, not '{url}'"
        for role in ROLES
        if (url := getattr(settings, role).url) is not None and backends.find(role, url) is None
    ]
    if unknown:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(unknown))
    return settings


def secret_values(model: BaseModel) -> set[str]:
    """Every secret in a settings tree, so that logs, channels' errors and outputs can mask them
    wherever they appear: each `SecretStr` (and, for a secret URL, its path, query and token-like
    parts), each password inside a URL (see `ingest.secrets.secrets_in`)."""
    return secrets_in(model)
