"""Settings the spine owns: the bus, the brands every stage works for, and shared value types.

`veille.settings` composes these with each stage's own settings into one tree.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
)

from ingest.errors import QuerySyntaxError
from ingest.query.parser import parse
from ingest.query.tree import Node

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: object) -> object:
    """``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` or a number of seconds."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return timedelta(seconds=value)
        if isinstance(value, str):
            match = _DURATION.match(value)
            if not match:
                raise ValueError(f"expected a duration such as 30s, 15m, 2h or 1d, not '{value}'")
            return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2) or "s"])
    except OverflowError:  # past timedelta's 999,999,999 days, or infinite
        raise ValueError(f"'{value}' is too long a duration") from None
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _time_zone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}' (e.g. Europe/Paris, UTC)") from None
    return value


TimeZone = Annotated[str, AfterValidator(_time_zone)]
"""An IANA time zone name: ``Europe/Paris``, ``UTC``."""


def require_unique(names: list[str], what: str) -> None:
    """A `ValueError` naming the repeated ones, if any of ``names`` (of ``what``: "brand names")
    is given twice."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(repeated)}")


class Strict(BaseModel):
    """Base for settings models: unknown keys are errors (a typo must not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Brand(Strict):
    """A brand to watch, described by a boolean query (see README, "The query language")."""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    name: Annotated[str, Field(min_length=1, max_length=100)]
    query: str
    aliases: list[str] = []
    """Other names of the brand ("Lumen" for "Lumen Télécom"): entities found under an alias are
    counted under the brand's name. Matching is the query's job, not the aliases'."""
    products: list[str] = []
    competitors: list[str] = []
    people: list[str] = []

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except QuerySyntaxError as exc:
            raise ValueError(f"invalid query: {exc}") from None
        return value

    @cached_property
    def tree(self) -> Node:
        return parse(self.query)


class KafkaSecurity(Strict):
    """Connection security for a real Kafka cluster (ignored by the local log)."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    username: str | None = None
    password: SecretStr | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


class BusSettings(Strict):
    """The bus between stages: ``local://PATH`` (embedded) or ``kafka://HOST:PORT``."""

    url: str | None = Field(default=None, description="default: local://<data_dir>/bus.db")
    topic_prefix: str = ""
    partitions: Annotated[int, Field(ge=1, le=1000)] = 4
    replication: Annotated[int, Field(ge=1, le=10)] = 1
    security: KafkaSecurity = KafkaSecurity()


class RunnerSettings(Strict):
    """How stage workers batch and retry."""

    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 500
    poll_timeout: Duration = timedelta(seconds=1)
    retry_max: Duration = timedelta(seconds=30)
