"""Shared fixtures: mention factories, the local web server, settings in a temporary directory."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.record import Author, Enrichment, Mention, Sentiment, Source, SourceKind, mention_id
from veille.demo.web import Routes, Web
from veille.settings import Settings, load_settings

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

_counter = itertools.count()

MentionFactory = Callable[..., Mention]


def make_mention(
    text: str = "Le service client d'Acme est génial",
    *,
    title: str | None = None,
    url: str | None = None,
    site: str | None = None,
    source: str = "test-feed",
    kind: SourceKind = SourceKind.BLOG,
    author: str | None = "Jeanne Dupont",
    handle: str | None = None,
    published: datetime | None = None,
    lang: str | None = None,
    brands: tuple[str, ...] | None = None,
    sentiment: str | None = None,
    **extra: Any,
) -> Mention:
    """A valid mention; with ``brands`` or ``sentiment``, an enriched one."""
    n = next(_counter)
    url = url or f"https://{site or 'blog.example.fr'}/posts/{n}"
    site = site or url.split("/")[2].removeprefix("www.")
    enrichment = None
    if brands is not None or sentiment is not None:
        enrichment = Enrichment(
            brands=brands or (),
            lang=lang or "fr",
            sentiment=Sentiment(label=sentiment, score=0.0, confidence=0.5, model="test@1")
            if sentiment
            else None,
            enriched=T0,
        )
    return Mention(
        id=mention_id(url=url),
        source=Source(kind=kind, name=source),
        url=url,
        site=site,
        title=title,
        text=text,
        author=Author(name=author, handle=handle) if author or handle else None,
        published=published or T0 + timedelta(minutes=n),
        fetched=T0 + timedelta(days=1),
        lang=lang,
        enrichment=enrichment,
        **extra,
    )


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


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 0.1 s until it holds; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
