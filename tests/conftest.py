"""Shared fixtures: mention factories, the local web server, settings in a temporary directory.
Helpers that tests import live in `tests.support`."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from tests.support.mentions import MentionFactory, make_mention
from veille.demo.web import Routes, Web
from veille.logs import RedactingFilter
from veille.settings import Settings, load_settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# Property-based tests: a bounded number of examples, the same ones on every run (a failure in CI
# reproduces at a developer's desk), and no per-example deadline (these machines are shared and
# noisy; speed is measured under bench/, never asserted). HYPOTHESIS_PROFILE=deep searches more.
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("deep", max_examples=5_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _veille_logging_stays_in_its_test() -> Iterator[None]:
    """A command a test runs sets up Veille's logging (`veille.logs.setup_logging`), whose
    handler masks that run's secrets; it must not outlive the test, or a later test's output is
    masked with secrets that are not its own (a path holding "veille" turned into "***")."""
    root = logging.getLogger()
    before, level = set(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        ours = any(isinstance(f, RedactingFilter) for f in handler.filters)
        if ours and handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def mention() -> MentionFactory:
    return make_mention


@pytest.fixture
def web() -> Iterator[Callable[[Routes], Web]]:
    """Start a local web (see `veille.demo.web`) with the given routes; stopped after the test."""
    with ExitStack() as servers:
        yield lambda routes: servers.enter_context(Web(routes))


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a veille.yaml in a temporary directory and return its path."""

    def write(config: dict[str, Any], name: str = "veille.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
        return path

    return write


@pytest.fixture
def settings_for(write_config: Callable[..., Path]) -> Callable[..., Settings]:
    def build(config: dict[str, Any]) -> Settings:
        return load_settings(write_config(config))

    return build


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or a skip that says why."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs the development data at {SHARED_DATA}")
        pytest.skip(f"development data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA
