"""The command line as a user meets it: the demo, then search, status, config and errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import get_args

import pytest
from click.testing import CliRunner, Result

from enrich.settings import SentimentBackendName
from veille.cli import cli
from veille.cli.sentiment import BACKENDS

WriteConfig = Callable[..., Path]


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    data = tmp_path_factory.mktemp("demo") / "veille-demo"
    result = CliRunner().invoke(cli, ["demo", "--data", str(data)], catch_exceptions=False)
    return data, result


def test_the_demo_collects_tags_stores_and_finds_mentions(demo_dir: tuple[Path, Result]) -> None:
    data, result = demo_dir
    assert result.exit_code == 0, result.output
    out = result.output
    for section in (
        "1. Polling the feeds",
        "2. Enriching",
        "3. What Veille collected",
        "4. veille search",
        "5. Negative mentions of Lumen Télécom",
    ):
        assert section in out
    config = str(data / "veille.yaml")
    counts = json.loads(invoke("--config", config, "status", "--format", "json").output)
    assert counts["store"]["brands"]["Lumen Télécom"] > counts["store"]["brands"]["Velora"] > 5
    assert counts["store"]["sentiment"]["negative"] >= 15
    sources = {f["name"]: f["status"] for f in counts["feeds"]}
    assert set(sources.values()) == {"ok"}
    assert counts["stages"]["enrich"]["dropped:no_brand"] >= 3  # homonyms and torches


def test_the_demo_shows_influencers_and_collapses_duplicates(
    demo_dir: tuple[Path, Result],
) -> None:
    data, result = demo_dir
    out = result.output
    assert "6. Who matters" in out
    assert "7. Near-duplicates" in out
    assert '"Velora inaugure une usine d\'assemblage à Angers": 3 copies' in out
    config = str(data / "veille.yaml")
    top = invoke("--config", config, "authors", "top", "--format", "json", "--limit", "3").output
    first = json.loads(top.splitlines()[0])
    assert first["influencer"] is True
    assert first["reach"] == 1_200_000  # the audience configured for actu-eco.example


def test_the_demo_bad_buzz_starts_on_mastodon_and_bluesky(demo_dir: tuple[Path, Result]) -> None:
    """The demo serves a local Mastodon and a local Jetstream beside its web: what their users
    post is stored as `social` mentions, every one its connector published (and counted in
    `veille status`), and the demo shows the outage on them before the forum."""
    data, result = demo_dir
    config = str(data / "veille.yaml")
    query = "source:mastodon OR source:bluesky"
    lines = invoke("--config", config, "search", query, "--all").output.splitlines()
    social = [json.loads(line) for line in lines]
    stored = Counter(m["source"]["name"] for m in social)
    status = json.loads(invoke("--config", config, "status", "--format", "json").output)
    connectors = {c["name"]: c for c in status["networks"]}
    assert set(stored) == set(connectors) == {"mastodon", "bluesky"}
    for name, count in stored.items():
        assert connectors[name]["status"] == "ok", connectors[name]
        assert connectors[name]["mentions"] == count  # published by the connector, all stored
    assert {m["source"]["kind"] for m in social} == {"social"}
    toots = [m for m in social if m["source"]["name"] == "mastodon"]
    posts = [m for m in social if m["source"]["name"] == "bluesky"]
    assert len(toots) >= 3
    assert len(posts) >= 3
    for toot in toots:  # the instance's own accounts, with their followers and engagement
        assert toot["url"].startswith("http://mastodon.example/@")
        assert toot["author"]["handle"].endswith("@mastodon.example")
        assert toot["author"]["followers"] > 0
        assert toot["engagement"]["likes"] > 0
    for post in posts:  # handles from the stream's identity events
        assert post["url"].startswith("https://bsky.app/profile/did:plc:")
        assert post["author"]["handle"].endswith(".bsky.social")
    # The stream also carried posts that name no brand (a market, a torch): none was kept.
    assert not any("lumens" in m["text"] or "marché" in m["text"] for m in posts)
    lumen = [m for m in social if m["enrichment"]["brands"] == ["Lumen Télécom"]]
    assert sum(m["enrichment"]["sentiment"]["label"] == "negative" for m in lumen) >= 6

    out = result.output
    assert "1c. Reading the social networks" in out
    started = out[out.index("Where it started") : out.index("6. Who matters")]
    kinds = [line.split()[1] for line in started.splitlines()[3:] if line[:2].isdigit()]
    assert kinds[0] == "social"
    assert kinds.index("forum") > 1  # the forum picked it up after several social posts
    assert "The bad buzz started on the social networks" in started
    for name in ("mastodon", "bluesky"):
        # section 3's table counts them
        assert re.search(rf"^{name} +social +{stored[name]}$", out, re.MULTILINE), out


def test_the_demo_ends_with_the_weekly_report_of_its_two_brands(
    demo_dir: tuple[Path, Result],
) -> None:
    import openpyxl
    import pypdfium2

    data, result = demo_dir
    assert "9. The weekly report of both brands" in result.output
    written = [Path(line.strip()) for line in result.output.splitlines() if "/reports/" in line]
    assert sorted(p.suffix for p in written) == [".pdf", ".xlsx"]
    pdf = next(p for p in written if p.suffix == ".pdf")
    assert pdf.parent == data / "data" / "reports"  # under the demo's data_dir
    text = " ".join(page.get_textpage().get_text_range() for page in pypdfium2.PdfDocument(pdf))
    assert "Rapport hebdomadaire — Velora, Lumen Télécom" in " ".join(text.split())
    book = openpyxl.load_workbook(next(p for p in written if p.suffix == ".xlsx"))
    totals = {
        r[0]: r[2]
        for r in book["Synthèse"].iter_rows(min_row=2, values_only=True)
        if r[1] == "Mentions"
    }
    config = str(data / "veille.yaml")
    counts = json.loads(invoke("--config", config, "status", "--format", "json").output)
    assert totals == counts["store"]["brands"]  # the demo's mentions are all of the last week


def test_search_prints_json_lines_with_enrichment(demo_dir: tuple[Path, Result]) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    result = invoke(
        "--config", config, "search", "panne NEAR/3 lumen", "--format", "json", "--size", "50"
    )
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert len(lines) >= 5
    for mention in lines:
        assert mention["enrichment"]["brands"] == ["Lumen Télécom"]
        assert mention["enrichment"]["sentiment"]["label"] in {"negative", "neutral", "positive"}
        assert mention["url"].startswith("http")
    published = [datetime.fromisoformat(m["published"]) for m in lines]  # not as strings:
    assert published == sorted(published, reverse=True)  # "…30.1Z" sorts before "…30Z"


def test_search_all_exports_every_match_oldest_first(demo_dir: tuple[Path, Result]) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    status = json.loads(invoke("--config", config, "status", "--format", "json").output)
    lines = invoke("--config", config, "search", "--brand", "Velora", "--all").output.splitlines()
    exported = [json.loads(line) for line in lines]
    assert len(exported) == len({m["id"] for m in exported}) == status["store"]["brands"]["Velora"]
    published = [datetime.fromisoformat(m["published"]) for m in exported]
    assert published == sorted(published)


def test_search_filters_and_accents(demo_dir: tuple[Path, Result]) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    folded = invoke("--config", config, "search", "reseau", "--format", "json", "--size", "100")
    accented = invoke("--config", config, "search", "réseau", "--format", "json", "--size", "100")
    assert folded.output == accented.output
    assert folded.output.count("\n") >= 2
    negative = invoke(
        "--config",
        config,
        "search",
        "--brand",
        "Lumen Télécom",
        "--sentiment",
        "negative",
        "--since",
        "2h",
        "--format",
        "json",
        "--size",
        "100",
    )
    assert all(
        json.loads(line)["enrichment"]["sentiment"]["label"] == "negative"
        for line in negative.output.splitlines()
    )
    assert negative.output.count("\n") >= 15


def test_search_table_is_readable(demo_dir: tuple[Path, Result]) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    result = invoke("--config", config, "search", "velora", "--size", "3")
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "published",
        "brands",
        "sentiment",
        "lang",
        "source",
        "author",
        "text",
    ]
    assert set(lines[1]) <= {"-", " "}
    assert "Velora" in lines[2]
    assert lines[-1].startswith("1-3 of ")
    assert "next page: --page 2" in lines[-1]


def test_a_malformed_query_exits_2_and_points_at_the_problem(demo_dir: tuple[Path, Result]) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    result = CliRunner().invoke(cli, ["--config", config, "search", "lumen AND (panne"])
    assert result.exit_code == 2
    assert "invalid query: the '(' at position 10 is never closed" in result.output
    assert "^" in result.output


def test_a_bad_configuration_exits_2_with_the_file_and_key(write_config: WriteConfig) -> None:
    path = write_config({"brands": [{"name": "A", "query": "a"}], "store": {"url": "mysql://x"}})
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert f"{path}:5: store.url: expected sqlite://PATH or http(s)://HOST:PORT" in result.output


def test_config_prints_the_settings_with_secrets_masked(
    write_config: WriteConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEILLE_STORE__ELASTIC__API_KEY", "key-abcdef-123456")
    path = write_config({"brands": [{"name": "A", "query": "a"}]})
    result = invoke("--config", str(path), "config")
    assert "key-abcdef-123456" not in result.output
    shown = json.loads(result.output)
    assert shown["store"]["elastic"]["api_key"] == "**********"
    assert shown["bus"]["url"].startswith("local://")


def test_report_gives_the_timeline_by_sentiment_and_top_sites_and_authors(
    demo_dir: tuple[Path, Result],
) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    result = invoke(
        "--config",
        config,
        "report",
        "--brand",
        "Lumen Télécom",
        "--interval",
        "1h",
        "--since",
        "3h",
        "--format",
        "json",
    )
    report = json.loads(result.output)
    assert sum(b.get("negative", 0) for b in report["timeline"]) >= 15
    assert report["timeline"][-1]["total"] == sum(
        report["timeline"][-1].get(k, 0) for k in ("negative", "neutral", "positive")
    )
    assert report["top_sites"][0] == {
        "key": "forum.parlonsbox.example",
        "count": report["top_sites"][0]["count"],
    }
    assert report["top_authors"]


def test_authors_top_takes_the_same_query_and_filters_as_search(
    demo_dir: tuple[Path, Result],
) -> None:
    config = str(demo_dir[0] / "veille.yaml")
    selection = ["panne OR coupure", "--brand", "Lumen Télécom", "--sentiment", "negative"]
    found = [
        json.loads(line)
        for line in invoke("--config", config, "search", *selection, "--all").output.splitlines()
    ]
    by_author = Counter(m["enrichment"]["influence"]["author_key"] for m in found)
    top = invoke(
        "--config", config, "authors", "top", *selection, "--limit", "1000", "--format", "json"
    )
    ranked = [json.loads(line) for line in top.output.splitlines()]
    assert ranked
    assert {a["key"]: a["mentions"] for a in ranked} == dict(by_author)
    assert sum(a["mentions"] for a in ranked) < sum(a["all_mentions"] for a in ranked)


def test_help_and_version_load_none_of_the_pipeline() -> None:
    heavy = ("elasticsearch", "kafka", "spacy", "scrapy", "twisted", "torch", "numpy", "pydantic")
    code = (
        "import sys\n"
        "from veille.cli import cli\n"
        "for args in (['--version'], ['--help'], ['alerts', '--help'], ['search', '--help']):\n"
        "    try:\n"
        "        cli(args, prog_name='veille')\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print([m for m in sys.modules if m.split('.')[0] in {heavy!r}], file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "[]"
    assert "Usage: veille search [OPTIONS] [QUERY]" in done.stdout


def test_the_sentiment_commands_offer_every_backend() -> None:
    assert get_args(SentimentBackendName) == BACKENDS
