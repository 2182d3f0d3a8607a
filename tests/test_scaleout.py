"""The whole pipeline on both backend sets: the demo's sample web, polled, enriched and indexed,
on the embedded backends (local log + SQLite) and on the scale-out ones (Kafka +
Elasticsearch). Both must store and find the same mentions; and ``veille run`` with ``kafka://``
and ``http://`` URLs in its configuration runs the scenario, after which ``veille search`` and
``veille status`` answer from Elasticsearch and Kafka."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from index.elastic import ElasticStore
from ingest.query import Doc, matches, parse
from ingest.record import Mention
from ingest.store import Filters
from ingest.text import fold
from tests.support.backends import backend_config
from tests.support.waiting import wait_for
from veille.app import App
from veille.demo.scenario import SAMPLE_SEARCHES
from veille.demo.sites import DEMO_BRANDS, DEMO_FEEDS, demo_routes
from veille.demo.web import Web
from veille.settings import load_settings

BACKEND_SETS = ("embedded", "scale-out")
NOW = datetime.now(UTC).replace(microsecond=0)


def demo_config(web: Web, data: Path, backend_set: str) -> dict[str, Any]:
    return {
        "data_dir": str(data),
        "log_level": "WARNING",
        "brands": DEMO_BRANDS,
        "sources": {"feeds": DEMO_FEEDS, "http": {"proxy": web.proxy, "host_delay": "0s"}},
        "runner": {"poll_timeout": "0.2s", "retry_max": "2s"},
        **backend_config(backend_set),
    }


@dataclass
class Run:
    """What one pipeline run stored, read back from its store."""

    mentions: list[Mention]
    counters: dict[str, dict[str, int]]
    searches: dict[str, set[str]]
    timeline: list[tuple[datetime, dict[str, int]]]
    top_sites: list[tuple[str, int]]
    copies: set[frozenset[str]]
    """The near-duplicate clusters of more than one mention."""
    authors: list[tuple[str, int, int, int, tuple[str, ...]]]
    """Each author's key, mentions, reach, engagement and sites."""


def _copies(mentions: list[Mention]) -> set[frozenset[str]]:
    clusters: dict[str, set[str]] = {}
    for m in mentions:
        if m.enrichment and m.enrichment.cluster:
            clusters.setdefault(m.enrichment.cluster, set()).add(m.id)
    return {frozenset(ids) for ids in clusters.values() if len(ids) > 1}


def _authors(mentions: list[Mention]) -> set[str]:
    return {
        m.enrichment.influence.author_key
        for m in mentions
        if m.enrichment and m.enrichment.influence
    }


def _cleanup(app: App) -> None:
    if isinstance(app.store, ElasticStore):
        app.store.drop()


@pytest.fixture(scope="module")
def sample_web() -> Iterator[Web]:
    with Web(demo_routes(NOW)) as web:
        yield web


@pytest.fixture(scope="module")
def runs(sample_web: Web, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Run]:
    """The pipeline run on one backend set, made once per module."""
    done: dict[str, Run] = {}

    def run(backend_set: str) -> Run:
        if backend_set not in done:
            data = tmp_path_factory.mktemp(backend_set)
            path = data / "veille.yaml"
            path.write_text(json.dumps(demo_config(sample_web, data, backend_set)))
            app = App(load_settings(path))
            try:
                app.feed_poller().poll_due(force=True)
                app.drain()
                store = app.store
                hits = store.search(Filters(), size=1000).hits
                everything = Filters(since=NOW - timedelta(hours=12))
                done[backend_set] = Run(
                    mentions=hits,
                    counters=app.counters.read(),
                    searches={
                        q: {m.id for m in store.search(Filters(query=parse(q)), size=100).hits}
                        for q, _ in SAMPLE_SEARCHES
                    },
                    timeline=[
                        (b.start, b.counts) for b in store.timeline(everything, timedelta(hours=1))
                    ],
                    top_sites=[(t.key, t.count) for t in store.top(Filters(), "site")],
                    copies=_copies(hits),
                    authors=[
                        (a.key, a.mentions, a.reach, a.engagement, a.sites)
                        for a in store.authors(sorted(_authors(hits)))
                    ],
                )
                _cleanup(app)
            finally:
                app.close()
        return done[backend_set]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("backend_set", BACKEND_SETS)
def test_the_pipeline_stores_and_finds_every_mention(
    runs: Callable[[str], Run], backend_set: str
) -> None:
    run = runs(backend_set)
    enrich, index = run.counters["enrich"], run.counters["index"]
    assert len(run.mentions) == enrich["emitted"] == index["consumed"] > 20
    assert enrich.get("dead", 0) == index.get("dead", 0) == 0
    assert len({m.id for m in run.mentions}) == len(run.mentions)
    # Each stored mention carries the brands whose query it matches, and only those.
    brands = {b["name"]: parse(str(b["query"])) for b in DEMO_BRANDS}
    for mention in run.mentions:
        assert mention.enrichment is not None
        found = {n for n, q in brands.items() if matches(q, Doc.of(mention))}
        assert set(mention.enrichment.brands) == found
    for query, ids in run.searches.items():
        tree = parse(query)
        assert ids == {m.id for m in run.mentions if matches(tree, Doc.of(m))}
        # This run polls the feeds only: reviews (rated) come from a crawl of the review site.
        assert ids or "rating:" in query, f"the demo's sample search {query!r} finds something"


@pytest.mark.slow
def test_both_backend_sets_hold_the_same_mentions(runs: Callable[[str], Run]) -> None:
    embedded, scale_out = (runs(name) for name in BACKEND_SETS)

    def view(run: Run) -> set[tuple[str, tuple[str, ...], str | None]]:
        return {
            (
                m.id,
                m.enrichment.brands if m.enrichment else (),
                m.enrichment.sentiment.label if m.enrichment and m.enrichment.sentiment else None,
            )
            for m in run.mentions
        }

    assert view(scale_out) == view(embedded)
    assert scale_out.searches == embedded.searches
    assert scale_out.timeline == embedded.timeline
    assert scale_out.top_sites == embedded.top_sites
    assert scale_out.copies == embedded.copies
    assert embedded.copies, "the demo has syndicated copies and retweets"
    assert scale_out.authors == embedded.authors
    assert len(embedded.authors) > 10


def _veille(config: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "veille.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,
    )


@pytest.mark.slow
def test_veille_run_on_kafka_and_elasticsearch_then_search_answers(
    sample_web: Web, tmp_path: Path, runs: Callable[[str], Run]
) -> None:
    expected = {m.id for m in runs("embedded").mentions}
    path = tmp_path / "veille.yaml"
    config = demo_config(sample_web, tmp_path / "data", "scale-out")
    path.write_text(json.dumps(config))
    log_path = tmp_path / "run.log"
    app = App(load_settings(path))
    try:
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "veille.cli", "--config", str(path), "run"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_for(lambda: app.store.count(Filters()) >= len(expected), 120, "veille run")
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(60) == 0, log_path.read_text()[-3000:]
            finally:
                if worker.poll() is None:
                    worker.kill()
                    worker.wait(10)

        found = _veille(path, "search", "panne NEAR/3 lumen", "--format", "json", "--size", "100")
        assert found.returncode == 0, found.stderr
        lines = [json.loads(line) for line in found.stdout.splitlines()]
        tree = parse("panne NEAR/3 lumen")
        stored = app.store.search(Filters(), size=1000).hits
        assert {m["id"] for m in lines} == {m.id for m in stored if matches(tree, Doc.of(m))}
        assert lines
        assert all("lumen" in m["enrichment"]["brands"][0].lower() for m in lines)
        assert {m.id for m in stored} == expected

        # What enrich added answers too: an entity's mentions, copies counted once.
        [entity] = app.store.top(Filters(), "entity", 1)
        found = _veille(path, "search", "--entity", entity.key, "--format", "json", "--size", "100")
        assert found.returncode == 0, found.stderr
        naming = {
            m.id
            for m in stored
            if m.enrichment
            and any(fold(e.kb_id or e.text) == fold(entity.key) for e in m.enrichment.entities)
        }
        assert {json.loads(line)["id"] for line in found.stdout.splitlines()} == naming
        assert len(naming) == entity.count < len(stored)
        totals = {}
        for collapse in ((), ("--collapse-copies",)):
            shown = _veille(path, "report", *collapse, "--since", "30d", "--format", "json")
            assert shown.returncode == 0, shown.stderr
            totals[collapse] = sum(b["total"] for b in json.loads(shown.stdout)["timeline"])
        assert _copies(stored)
        # Collapsed per day of the timeline (days in Paris, the default timezone): copies
        # published on two days count once a day.
        days: dict[date, list[Mention]] = {}
        for m in stored:
            days.setdefault(m.published.astimezone(ZoneInfo("Europe/Paris")).date(), []).append(m)
        copies = sum(
            len(day) - len({(m.enrichment and m.enrichment.cluster) or m.id for m in day})
            for day in days.values()
        )
        assert totals[()] - totals[("--collapse-copies",)] == copies

        status = _veille(path, "status", "--format", "json")
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["store"]["mentions"] == len(expected)
        assert report["store"]["url"].startswith("http://")
        lags = [lag for t in report["bus"]["topics"].values() for lag in t["lag"].values()]
        assert lags == [0, 0, 0, 0]  # enrich, index, deletions and alerts are all caught up
    finally:
        _cleanup(app)
        app.close()
