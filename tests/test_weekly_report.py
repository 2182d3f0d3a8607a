"""The weekly report: written from a store of known mentions on SQLite and Elasticsearch, read
back from each format (the PDF's text and pages, the workbook's cells, the Markdown, the JSON),
its figures equal what was stored and what ``veille report`` says, written the French way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from alerts.db import AlertsDb
from alerts.history import History
from ingest.record import Author, Engagement, Entity, Mention
from tests.support.alerting import sample_record
from tests.support.backends import ELASTICSEARCH_ENV, server_url, unique
from tests.support.mentions import make_mention
from veille.app import App
from veille.cli import cli
from veille.settings import load_settings

# ISO week 2026-W45 runs from Monday 2 November 00:00 in Paris, 1 November 23:00 UTC.
WEEK_START = datetime(2026, 11, 1, 23, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """``day`` days into the week (negative: the week before), at Paris ``hour``."""
    return WEEK_START + day * DAY + timedelta(hours=hour, minutes=minute)


def mention(
    brand: str,
    published: datetime,
    sentiment: str,
    *,
    site: str = "blog.example.fr",
    source: str = "blogs",
    author: str = "Jeanne",
    followers: int | None = None,
    likes: int = 0,
    cluster: str | None = None,
    names: tuple[str, ...] = (),
    text: str = "un avis",
) -> Mention:
    m = make_mention(
        f"{brand} {text}",
        site=site,
        source=source,
        author=author,
        published=published,
        brands=(brand,),
        sentiment=sentiment,
    )
    assert m.enrichment is not None
    enrichment = m.enrichment.model_copy(
        update={
            "cluster": cluster,
            "entities": tuple(Entity(text=n, label="ORG", kb_id=n.lower()) for n in names),
        }
    )
    return m.model_copy(
        update={
            "enrichment": enrichment,
            "author": Author(name=author, followers=followers),
            "engagement": Engagement(likes=likes),
        }
    )


def week_mentions() -> list[Mention]:
    acme = [
        # Monday 00:30 in Paris is still Sunday in UTC: it belongs to this week.
        mention(
            "Acme",
            WEEK_START + timedelta(minutes=30),
            "negative",
            author="Marc",
            followers=1200,
            likes=40,
            text="panne panne colère",
        ),
        mention("Acme", at(0, 9), "positive", author="Lise", followers=50_000, likes=3),
        mention(
            "Acme",
            at(1, 11),
            "negative",
            author="Marc",
            followers=1500,
            site="forum.fr",
            source="forums",
            text="panne colère",
            names=("Initech",),
        ),
        mention(
            "Acme",
            at(1, 12),
            "neutral",
            author="Rédaction",
            site="news-a.fr",
            source="news",
            cluster="c1",
            text="communiqué usine",
        ),
        mention(
            "Acme",
            at(1, 13),
            "neutral",
            author="Rédaction",
            site="news-b.fr",
            source="news",
            cluster="c1",
            text="communiqué usine",
        ),
        mention(
            "Acme",
            at(2, 8),
            "neutral",
            author="Desk",
            site="news-c.fr",
            source="news",
            cluster="c1",
            text="communiqué usine",
        ),
        mention("Acme", at(3, 15), "positive", author="Zoé", names=("Initech",)),
        mention(
            "Acme",
            at(4, 18),
            "negative",
            author="Paul",
            site="forum.fr",
            source="forums",
            likes=12,
            text="panne colère",
        ),
        mention("Acme", at(6, 22), "positive", author="Lise", followers=51_000),
    ]
    before = [mention("Acme", at(-7 + d, 10), "positive", author=f"A{d}") for d in range(7)] + [
        mention("Acme", at(-3, 11), "negative", author="Marc", followers=1000)
    ]
    outside = [
        # Monday 00:30 in Paris the next week: not this week, whatever UTC says.
        mention("Acme", WEEK_START + 7 * DAY + timedelta(minutes=30), "negative"),
        mention("Acme", at(-8), "negative"),
    ]
    globex = [mention("Globex", at(d, 14), "positive", author="G") for d in (0, 2, 4)] + [
        mention("Globex", at(5, 14), "negative", author="H", names=("Initech",))
    ]
    # A feed that gave Globex 5 mentions a day, then stopped on Thursday: four silent days.
    rss = [
        mention("Globex", at(d, h), "neutral", source="flux-rss", author="Flux")
        for d in range(-7, 3)
        for h in (8, 10, 12, 14, 16)
    ]
    return acme + before + outside + globex + rss


@pytest.fixture(params=["sqlite", "elastic"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    settings: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "brands": [
            {"name": "Acme", "query": "acme", "competitors": ["Globex", "Initech"]},
            {"name": "Globex", "query": "globex"},
        ],
        "agency": {"name": "Agence Lumière", "colour": "#224466"},
    }
    if request.param == "elastic":
        url = server_url(ELASTICSEARCH_ENV, "Elasticsearch")
        settings["store"] = {"url": url, "elastic": {"index_prefix": unique("weekly-")}}
    path = tmp_path / "veille.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True))
    with App(load_settings(path)) as app:
        app.store.setup()
        assert not app.store.upsert(week_mentions())
        app.store.refresh()
        record = sample_record()
        why = record.why.__class__(
            **{**record.why.__dict__, "brand": "Acme", "since": at(1, 11), "detected": at(1, 12)}
        )
        db = AlertsDb(app.settings.state_dir / "alerts.db")
        with db.transaction() as conn:
            History(db).open(conn, "acme-panne", why, at(1, 12), paged=True)
        db.close()
    yield path
    if request.param == "elastic":
        with App(load_settings(path)) as app:
            app.store.drop()


def spaces(text: str) -> str:
    """French puts narrow no-break spaces in numbers and before %: read them as spaces."""
    return text.replace("\u202f", " ").replace("\xa0", " ")


def veille(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def weekly(config: Path, fmt: str, out: Path | str = "-", *more: str) -> str:
    return veille(
        config, "report", "weekly", "--week", "2026-W45", "--format", fmt, "--out", str(out), *more
    )


def test_the_figures_are_those_of_the_stored_week_in_paris_time(config: Path) -> None:
    report = json.loads(weekly(config, "json"))
    acme, globex = report["brands"]
    assert acme["brand"] == "Acme"
    assert globex["brand"] == "Globex"
    head = acme["headline"]
    assert head["mentions"] == 9  # the Monday 00:30 in Paris counts; the next Monday's does not
    assert (head["negative"], head["neutral"], head["positive"]) == (3, 3, 3)
    assert head["negative_share"] == pytest.approx(3 / 9)
    assert head["satisfaction"] == pytest.approx(0.5)
    assert head["net_sentiment"] == pytest.approx(0.0)
    # Marc, Lise, Rédaction (one site each: news-a and news-b are two), Desk, Zoé, Paul
    assert head["authors"] == 8
    assert head["reach"] == 51_000 + 1200 + 1500  # Lise at her largest; Marc on two sites
    previous = head["previous"]
    assert (previous["mentions"], previous["negative"], previous["positive"]) == (8, 1, 7)
    days = [d["day"] for d in acme["timeline"]]
    assert days[0] == "2026-11-02"
    assert days[-1] == "2026-11-08"
    assert [d["total"] for d in acme["timeline"]] == [2, 3, 1, 1, 1, 0, 1]
    assert acme["share_of_voice"] == [
        {
            "name": "Acme",
            "kind": "brand",
            "mentions": 9,
            "negative": 3,
            "neutral": 3,
            "positive": 3,
        },
        {
            "name": "Globex",
            "kind": "brand",
            "mentions": 19,
            "negative": 1,
            "neutral": 15,
            "positive": 3,
        },
        {
            "name": "Initech",
            "kind": "named",
            "mentions": 3,
            "negative": 2,
            "neutral": 0,
            "positive": 1,
        },
    ]
    [story] = acme["stories"]
    assert (story["outlets"], story["mentions"], story["first_site"]) == (3, 3, "news-a.fr")
    assert [m["engagement"] for m in acme["most_engaging"]] == [40, 12, 3]
    assert {m["sentiment"] for m in acme["most_negative"]} == {"negative"}
    assert len(acme["most_negative"]) == 3
    assert acme["influencers"][0]["name"] == "Lise"
    assert acme["influencers"][0]["followers"] == 51_000
    # each in 3 of the week's 9 mentions and in none of the weeks before; "avis", in every
    # mention of both weeks, is not new; the brand's name is left out
    assert {t["term"] for t in acme["emerging_terms"][:4]} == {
        "panne",
        "colere",
        "communique",
        "usine",
    }
    assert "acme" not in {t["term"] for t in acme["emerging_terms"]}
    assert {s["source"]: (s["before"], sum(s["days"])) for s in acme["completeness"]} == {
        "blogs": (8, 4),
        "forums": (0, 2),
        "news": (0, 3),
    }
    # one a day the week before: a silent day is no news
    assert all(s["gaps"] == [] for s in acme["completeness"])
    # five a day the week before, then nothing from Thursday: those days are flagged
    rss = next(s for s in globex["completeness"] if s["source"] == "flux-rss")
    assert rss["days"] == [5, 5, 5, 0, 0, 0, 0]
    assert rss["gaps"] == ["2026-11-05", "2026-11-06", "2026-11-07", "2026-11-08"]
    assert [s["source"] for s in acme["sources_grew"]] == ["news", "forums"]
    assert [s["source"] for s in acme["sources_fell"]] == ["blogs"]
    [incident] = acme["incidents"]
    assert incident["started"] == at(1, 11).isoformat()
    assert incident["peak"] == at(1, 11).isoformat()
    assert globex["incidents"] == []


def acme_week(config: Path, *more: str) -> str:
    """``veille report`` of Acme's week 2026-W45 in Paris, as JSON."""
    since, until = "2026-11-02T00:00+01:00", "2026-11-09T00:00+01:00"
    return veille(
        config,
        "report",
        "--brand",
        "Acme",
        "--since",
        since,
        "--until",
        until,
        *more,
        "--format",
        "json",
    )


def test_the_report_agrees_with_veille_report_to_the_unit(config: Path) -> None:
    report = json.loads(weekly(config, "json", "-", "--brand", "Acme"))
    [acme] = report["brands"]
    plain = json.loads(acme_week(config))
    assert plain["total"] == acme["headline"]["mentions"]
    assert plain["top_sites"] == acme["top_sites"]
    assert plain["top_authors"] == acme["top_authors"]
    by_day = {b["start"][:10]: b["total"] for b in plain["timeline"] if b["total"]}
    assert by_day == {d["day"]: d["total"] for d in acme["timeline"] if d["total"]}
    assert all(b["start"].endswith("T00:00:00+01:00") for b in plain["timeline"])
    collapsed = json.loads(acme_week(config, "--collapse-copies"))
    # Tuesday's two copies of one story, at 12:00 and 13:00, count once that day; Wednesday's
    # third copy once on Wednesday.
    by_day = {b["start"][:10]: b["total"] for b in collapsed["timeline"] if b["total"]}
    assert by_day["2026-11-03"] == 2
    assert by_day["2026-11-04"] == 1


def test_the_pdf_says_the_figures_the_french_way_and_its_charts_are_drawn(
    config: Path, tmp_path: Path
) -> None:
    import pypdfium2

    path = tmp_path / "out" / "rapport.pdf"
    weekly(config, "pdf", path)
    document = pypdfium2.PdfDocument(path)
    text = "\n".join(page.get_textpage().get_text_range() for page in document)
    flat = spaces(" ".join(text.split()))
    assert "Agence Lumière" in flat
    assert "Rapport hebdomadaire — Acme, Globex" in flat
    assert "Semaine 45 : du 2 novembre 2026 au 8 novembre 2026" in flat
    assert "Part de négatif 33,3 %" in flat
    assert "Audience potentielle 53 700" in flat
    assert "Indice de satisfaction 50,0 %" in flat
    assert "Part de voix" in flat
    assert "Initech" in flat
    assert "lun. 02/11" in flat
    assert "03/11/2026 11:00" in flat  # the incident, in Paris time
    # The charts are drawn: the first page's timeline in the sentiments' colours, and every
    # page that names a chart holds coloured pixels beyond its text.
    for page in document:
        pixels = np.asarray(page.render(scale=1).to_pil().convert("RGB")).astype(int)
        r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
        coloured = (abs(r - g) + abs(g - b)) > 80
        titles = page.get_textpage().get_text_range()
        if "Mentions par jour et par tonalité" in titles or "Principales sources" in titles:
            assert coloured.sum() > 2000, titles[:80]
    first = np.asarray(document[0].render(scale=1).to_pil().convert("RGB")).astype(int)
    assert ((first[..., 0] > 190) & (first[..., 1] < 90) & (first[..., 2] < 90)).sum() > 500
    assert ((first[..., 1] > 130) & (first[..., 0] < 90) & (first[..., 2] < 120)).sum() > 500


def test_the_workbook_holds_typed_figures(config: Path, tmp_path: Path) -> None:
    import openpyxl

    weekly(config, "xlsx", tmp_path)
    [path] = tmp_path.glob("weekly-*.xlsx")
    assert path.name == "weekly-acme-globex-2026-W45.xlsx"
    book = openpyxl.load_workbook(path)
    key = book["Synthèse"]
    rows = {(r[0], r[1]): r[2] for r in key.iter_rows(min_row=2, values_only=True)}
    assert rows[("Acme", "Mentions")] == 9
    assert rows[("Acme", "Part de négatif")] == pytest.approx(3 / 9)
    assert key.freeze_panes == "A2"
    daily = book["Jours"]
    first = next(daily.iter_rows(min_row=2, values_only=True))
    assert first[:2] == ("Acme", datetime(2026, 11, 2))
    assert first[5] == 2
    assert daily.auto_filter.ref is not None


def test_markdown_and_html_are_written_in_the_language_asked(config: Path) -> None:
    french = spaces(weekly(config, "md"))
    assert "## Acme" in french
    assert "| Mentions | 9 | 8 | +12 % |" in french  # 12.5 %, rounded half to even
    english = spaces(weekly(config, "md", "-", "--lang", "en"))
    assert "Week 45: 2 November 2026 to 8 November 2026" in english
    assert "| Negative share | 33.3% |" in english
    page = weekly(config, "html")
    assert page.startswith("<!DOCTYPE html>")
    assert "data:image/png;base64," in page  # charts inside: one file to send


def test_a_bad_week_or_brand_is_a_clear_usage_error(config: Path) -> None:
    runner = CliRunner()
    for args, message in (
        (["--week", "2026-W60"], "2026 has no week 60"),
        (["--week", "soon"], "is not an ISO week"),
        (["--brand", "Nope"], "no brand named 'Nope'"),
        (["--week", "2026-W45", "--since", "7d"], "either --week or --since"),
    ):
        result = runner.invoke(cli, ["--config", str(config), "report", "weekly", *args])
        assert result.exit_code == 2, result.output
        assert message in result.output


def test_the_pdf_leaves_out_symbols_no_font_can_draw_but_keeps_letters() -> None:
    from veille.reports.render import drawable

    text_fonts = frozenset(map(ord, "Manon ★▼✓é王"))
    assert drawable("Manon 🚀 ★★★★☆ ▼ ✓ 🇫🇷", text_fonts) == "Manon  ★★★★ ▼ ✓ "
    assert drawable("王小明 é", text_fonts) == "王小明 é"  # letters stay, even undrawable
    with_emoji = text_fonts | {ord("🚀")}
    assert drawable("Manon 🚀", with_emoji) == "Manon 🚀"  # an emoji font draws them
