"""Enrichment through the real pipeline (local log, stage runner, SQLite store): entities,
clusters, authors and influencers, under redelivery and with several worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ingest.record import Author, Mention
from ingest.store import Filters
from ingest.topics import partition_key
from tests.support.mentions import make_mention
from veille.app import App
from veille.cli import cli
from veille.settings import Settings

RELEASE = (
    "Le fabricant de vélos électriques Velora a inauguré jeudi une usine d'assemblage à Angers. "
    "Le site emploiera 120 personnes et produira 40 000 vélos par an, a déclaré Anne Morel."
)
NEWS = {"actu-eco.example": 900_000, "journal-tech.example": 40_000, "lesnouvelles.example": 5_000}


def config(data: Path, **enrich: Any) -> dict[str, Any]:
    return {
        "data_dir": str(data),
        "log_level": "WARNING",
        "brands": [
            {
                "name": "Velora",
                "query": "velora",
                "products": ["Velora City"],
                "people": ["Anne Morel"],
            }
        ],
        "enrich": {"influence": {"audiences": NEWS}, **enrich},
        "runner": {"poll_timeout": "0.2s"},
    }


def mentions() -> list[Mention]:
    out = [
        make_mention(RELEASE + (" (Avec AFP)" if i else ""), site=site, author="Rédaction")
        for i, site in enumerate(NEWS)
    ]
    for i in range(6):
        post = make_mention(
            f"Mon Velora City numéro {i} roule depuis {i + 2} mois, la batterie tient bien.",
            site="forum.example",
            author=f"Cycliste {i}",
        )
        out.append(post.model_copy(update={"author": Author(name=f"Cycliste {i}", followers=i)}))
    out.append(make_mention("Rien sur la marque ici", site="forum.example"))
    return out


def publish(app: App, batch: list[Mention]) -> None:
    app.bus.publish(app.topics.raw, [(partition_key(m), m.to_json()) for m in batch])


@pytest.mark.slow
def test_enrichment_is_stored_searchable_and_counted_once(
    settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for(config(tmp_path / "data"))
    batch = mentions()
    app = App(settings)
    try:
        publish(app, batch)
        app.drain()
        publish(app, batch[:2])  # redelivered, as after a crash before the commit
        app.drain()
        store = app.store
        everything = Filters()
        assert store.count(everything) == 9
        assert store.count(everything, distinct="cluster") == 7
        stored = {m.id: m for m in store.search(everything, size=50).hits}
        [cluster] = {stored[m.id].enrichment.cluster for m in batch[:3]}  # type: ignore[union-attr]
        assert cluster in {m.id for m in batch[:3]}  # named after the first copy enriched
        entities = {t.key: t.count for t in store.top(everything, "entity", 20)}
        assert entities["Velora"] == 3  # the ruler; the forum posts name the product
        assert entities["Velora City"] == 6
        assert entities["Anne Morel"] == 3
        assert store.count(Filters(entity="velora city")) == 6
        [news_desk] = store.authors(["actu-eco.example/redaction"])
        assert (news_desk.mentions, news_desk.reach) == (1, 900_000)
        influence = stored[batch[0].id].enrichment.influence  # type: ignore[union-attr]
        assert influence is not None
        assert influence.is_influencer
        assert not stored[batch[5].id].enrichment.influence.is_influencer  # type: ignore[union-attr]
    finally:
        app.close()

    config_file = tmp_path / "veille.yaml"
    result = CliRunner().invoke(
        cli,
        ["--config", str(config_file), "authors", "top", "--brand", "Velora", "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert rows[0]["key"] == "actu-eco.example/redaction"
    assert rows[0]["influencer"] is True
    assert rows[0]["reach"] == 900_000
    assert len(rows) == 9  # three news desks, six cyclists

    def cli_json(*args: str) -> Any:
        result = CliRunner().invoke(cli, ["--config", str(config_file), *args])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.output.splitlines()]

    found = cli_json("search", "--entity", "Anne Morel", "--format", "json", "--size", "50")
    assert len(found) == 3
    [report] = cli_json("report", "--since", "3650d", "--format", "json", "--interval", "3650d")
    [collapsed] = cli_json(
        "report", "--since", "3650d", "--format", "json", "--interval", "3650d", "--collapse-copies"
    )
    assert sum(b["total"] for b in report["timeline"]) == 9
    assert sum(b["total"] for b in collapsed["timeline"]) == 7


@pytest.mark.slow
def test_several_enrich_processes_share_the_work_and_the_clusters(
    write_config: Callable[..., Path], tmp_path: Path
) -> None:
    config_file = write_config(config(tmp_path / "data", entities={"enabled": False}))
    batch = mentions()
    more = [
        make_mention(f"Velora essai {i}: un vélo {i} fois recommandé", site=f"blog{i}.example")
        for i in range(40)
    ]
    app = App(Settings.model_validate(config(tmp_path / "data")))
    try:
        publish(app, batch + more)
    finally:
        app.close()
    veille = [sys.executable, "-m", "veille.cli", "--config", str(config_file)]
    enrich = subprocess.run(
        [*veille, "enrich", "--workers", "2", "--once"],
        check=False,
        capture_output=True,
        timeout=300,
    )
    assert enrich.returncode == 0, enrich.stderr.decode()
    index = subprocess.run(
        [*veille, "index", "run", "--once"], check=False, capture_output=True, timeout=300
    )
    assert index.returncode == 0, index.stderr.decode()
    app = App(Settings.model_validate(config(tmp_path / "data")))
    try:
        stored = app.store.search(Filters(), size=100).hits
        assert sorted(m.id for m in stored) == sorted(m.id for m in (batch[:9] + more))
        by_id = {m.id: m for m in stored}
        [cluster] = {by_id[m.id].enrichment.cluster for m in batch[:3]}  # type: ignore[union-attr]
        assert cluster in {m.id for m in batch[:3]}
        assert app.counters.read("enrich")["enrich"]["emitted"] >= len(stored)
    finally:
        app.close()
