"""What every command shares: the `State` the ``veille`` group hands down (settings loaded on
first use, the `App`), `pass_state`, time parsing, and `filter_options`, which gives a command
its query and filters as one ready `Filters`.

Command modules import this one and never each other. It imports nothing heavy at module level,
so that ``veille --help`` lists every command without loading the pipeline.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from veille.app import App
    from veille.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """The command line's context: which settings file, which log level; the settings are
    loaded (and logging set up with their secrets masked) on first use."""

    def __init__(self, config: str | None, log_level: str | None) -> None:
        self.config = config
        self.log_level = log_level
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from veille.logs import setup_logging
            from veille.settings import load_settings, secret_values

            self._settings = load_settings(self.config)
            setup_logging(self.log_level or self._settings.log_level, secret_values(self._settings))
        return self._settings

    def app(self) -> App:
        """A new `App` on these settings; use it in a ``with`` block so it is closed."""
        from veille.app import App

        return App(self.settings)


pass_state = click.make_pass_decorator(State)
"""Hands a command the `State` that the ``veille`` group made."""


def parse_time(value: str | None) -> datetime | None:
    """An ISO date or time (UTC unless it says otherwise), or a duration back from now: 24h, 7d."""
    if not value:
        return None
    from ingest.settings import parse_duration

    try:
        delta = parse_duration(value)
    except ValueError:
        delta = None
    if isinstance(delta, timedelta):
        return datetime.now(UTC) - delta
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is neither a date (2026-11-01, 2026-11-01T08:00) nor a duration (24h, 7d)"
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_interval(value: str, param_hint: str | None = None) -> timedelta:
    """A positive duration given on the command line (``1h``, ``5m``), or a usage error."""
    from ingest.settings import parse_duration

    try:
        step = parse_duration(value)
    except ValueError:
        step = None
    if not isinstance(step, timedelta) or step <= timedelta(0):
        raise click.BadParameter(
            f"'{value}' is not a duration such as 5m, 1h or 1d", param_hint=param_hint
        )
    return step


_FILTER_OPTIONS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "brand": click.option("--brand", help="Only this brand's mentions."),
    "sentiment": click.option(
        "--sentiment", type=click.Choice(["negative", "neutral", "positive"])
    ),
    "source": click.option("--source", help="Source name or kind (blog, forum, news, social...)."),
    "lang": click.option("--lang", help="Language code: fr, en..."),
    "since": click.option("--since", help="From this date or duration ago: 2026-11-01, 24h, 7d."),
    "until": click.option("--until", help="Up to this date or duration ago."),
    "entity": click.option("--entity", help="Naming this entity: a brand, product, person, place."),
    "undated": click.option(
        "--undated",
        is_flag=True,
        default=None,
        help="Only mentions whose source gave no date Veille could read (placed where first seen).",
    ),
}


def filter_options(
    *,
    query: bool = True,
    only: tuple[str, ...] = tuple(_FILTER_OPTIONS),
    since: str | None = None,
) -> Callable[[F], F]:
    """The query argument (with ``query``) and the filter options ``only``; the command receives
    them as one ``filters: Filters`` argument instead. ``since``: the default of ``--since``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def command(*args: Any, **kwargs: Any) -> Any:
            from ingest.query import parse
            from ingest.store import Filters

            text = kwargs.pop("query", None)
            values = {name: kwargs.pop(name, None) for name in only}
            kwargs["filters"] = Filters(
                query=parse(text) if text else None,
                brand=values.get("brand"),
                sentiment=values.get("sentiment"),
                source=values.get("source"),
                lang=values.get("lang"),
                since=parse_time(values.get("since") or since),
                until=parse_time(values.get("until")),
                entity=values.get("entity"),
                undated=bool(values.get("undated")),
            )
            return func(*args, **kwargs)

        decorated: Callable[..., Any] = command
        for name in reversed(only):
            decorated = _FILTER_OPTIONS[name](decorated)
        if query:
            decorated = click.argument("query", required=False)(decorated)
        return cast(F, decorated)

    return decorate
