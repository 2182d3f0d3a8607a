"""Exports read back: every mention once, with the right fields and types, in each format, from
SQLite and Elasticsearch alike; filters; dates in the configured zone; streaming across scan
pages; no half file after a failure; and ``--format csv`` on the commands that print tables."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from openpyxl.utils import get_column_letter

from index.export import (
    COLUMNS,
    FORMATS,
    Format,
    ParquetRows,
    XlsxRows,
    csv_cell,
    mention_json,
    write_file,
    write_stream,
)
from index.sqlite import SqliteStore
from ingest.errors import VeilleError
from ingest.query import parse
from ingest.record import (
    Author,
    Engagement,
    Entity,
    Influence,
    Mention,
    Sentiment,
    SourceKind,
    Thread,
)
from ingest.store import Filters, Store
from tests.support.backends import STORES
from tests.support.mentions import T0, make_mention
from veille.cli import cli

PARIS = ZoneInfo("Europe/Paris")
LAST_COLUMN = get_column_letter(len(COLUMNS))
"""The last column of a sheet: its filters span the columns."""
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 14:00 in Paris, where November is UTC+1


def _mention(i: int) -> Mention:
    """A mention with every field an export has, varied by ``i``."""
    brand = ("Acme", "Globex")[i % 2]
    m = make_mention(
        f"panne chez {brand} numéro {i}" if i % 3 == 0 else f"{brand} va bien ({i})",
        title=f"=titre {i}" if i == 1 else None,
        site=("forum.fr", "blog.fr")[i % 2],
        kind=(SourceKind.FORUM, SourceKind.BLOG)[i % 2],
        brands=(brand,),
        sentiment=("negative", "positive", "neutral")[i % 3],
        published=(SUMMER if i == 0 else T0) + timedelta(minutes=i),
        lang="fr",
    )
    assert m.enrichment is not None
    assert m.enrichment.sentiment is not None
    enrichment = m.enrichment.model_copy(
        update={
            "sentiment": Sentiment(
                label=m.enrichment.sentiment.label,
                score=-0.25 if i % 3 == 0 else 0.5,
                confidence=0.75,
                model="lexicon@2",
            ),
            "entities": (Entity(text="Lyon", label="LOC"), Entity(text=brand, label="ORG")),
            "influence": Influence(author_key=f"{m.site}/jo", score=12.5, is_influencer=i % 2 == 0),
            "cluster": f"c{i % 4}",
        }
    )
    return m.model_copy(
        update={
            "author": Author(name="Jo Ñoël", handle=f"jo{i}", url="https://x.fr/jo", followers=i),
            "engagement": Engagement(likes=i, shares=2, replies=None, views=1000 + i),
            "thread": Thread(id=f"t{i % 5}", title="Fil ; général", url="https://forum.fr/t"),
            "parent": "ab" * 16 if i % 2 == 0 else None,
            "enrichment": enrichment,
        }
    )


MENTIONS = [_mention(i) for i in range(23)]
BY_ID = {m.id: m for m in MENTIONS}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A store of each kind holding `MENTIONS`."""
    opened = STORES[request.param](tmp_path)
    assert opened.upsert(MENTIONS) == []
    opened.refresh()
    yield opened
    opened.close()


def _scan(store: Store, filters: Filters | None = None) -> Iterator[list[Mention]]:
    return store.scan(filters or Filters(), batch=5)  # pages smaller than the export: several


def read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data[3:].decode(), newline=""), delimiter=";"))


def read_xlsx(path: Path) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def read_parquet(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return rows


def test_csv_holds_every_mention_once_for_french_excel(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "mentions.csv"
    assert write_file(_scan(store), "csv", out, zone=PARIS) == len(MENTIONS)
    data = out.read_bytes()
    assert b"\r\n" in data
    assert data.count(b"\r\n") >= len(MENTIONS) + 1
    rows = read_csv(data)
    assert [c.name if c.kind != "time" else "published (Europe/Paris)" for c in COLUMNS] == list(
        rows[0]
    )
    assert sorted(r["id"] for r in rows) == sorted(BY_ID)
    first = next(r for r in rows if r["id"] == MENTIONS[0].id)
    assert first["published (Europe/Paris)"] == "2026-07-01 14:00:00"  # summer time: UTC+2
    third = next(r for r in rows if r["id"] == MENTIONS[3].id)
    assert third["published (Europe/Paris)"] == "2026-11-02 10:03:00"  # winter time: UTC+1
    assert third["sentiment_score"] == "-0,25"  # French Excel's decimal comma
    assert third["sentiment_confidence"] == "0,75"
    assert third["influence"] == "12,5"
    assert third["is_influencer"] == "0"
    assert third["likes"] == "3"
    assert third["replies"] == ""
    assert third["views"] == "1003"
    assert third["author_name"] == "Jo Ñoël"
    assert third["author_followers"] == "3"
    assert third["brands"] == "Globex"
    assert third["entities"] == "Lyon, Globex"
    assert third["thread_title"] == "Fil ; général"
    assert third["cluster"] == "c3"
    assert third["source_kind"] == "blog"
    assert third["sentiment_model"] == "lexicon@2"
    second = next(r for r in rows if r["id"] == MENTIONS[1].id)
    assert second["title"] == "'=titre 1"  # never run as a formula


def test_xlsx_has_typed_cells_a_frozen_header_and_filters(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "mentions.xlsx"
    assert write_file(_scan(store), "xlsx", out, zone=PARIS) == len(MENTIONS)
    sheet = openpyxl.load_workbook(out).active
    assert sheet is not None
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{LAST_COLUMN}{len(MENTIONS) + 1}"
    assert sheet.column_dimensions["H"].width > sheet.column_dimensions["C"].width  # text, kind
    rows = read_xlsx(out)
    assert sorted(r["id"] for r in rows) == sorted(BY_ID)
    first = next(r for r in rows if r["id"] == MENTIONS[0].id)
    assert first["published (Europe/Paris)"] == datetime(2026, 7, 1, 14, 0)
    third = next(r for r in rows if r["id"] == MENTIONS[3].id)
    assert third["published (Europe/Paris)"] == datetime(2026, 11, 2, 10, 3)
    assert third["sentiment_score"] == -0.25
    assert isinstance(third["sentiment_score"], float)
    assert third["likes"] == 3
    assert third["replies"] is None
    assert third["is_influencer"] is False
    assert third["text"] == "panne chez Globex numéro 3"
    second = next(r for r in rows if r["id"] == MENTIONS[1].id)
    assert second["title"] == "=titre 1"  # a string cell, not a formula
    date_cell = sheet.cell(row=2, column=2)
    assert date_cell.is_date
    assert "yyyy" in date_cell.number_format


def test_parquet_has_a_fixed_schema_and_zoned_times(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "mentions.parquet"
    assert write_file(_scan(store), "parquet", out, zone=PARIS) == len(MENTIONS)
    schema = pq.read_schema(out)
    assert schema.names == [c.name for c in COLUMNS]
    assert str(schema.field("published").type) == "timestamp[us, tz=Europe/Paris]"
    assert str(schema.field("likes").type) == "int64"
    assert str(schema.field("is_influencer").type) == "bool"
    rows = read_parquet(out)
    assert sorted(r["id"] for r in rows) == sorted(BY_ID)
    third = next(r for r in rows if r["id"] == MENTIONS[3].id)
    assert third["published"] == MENTIONS[3].published
    assert third["published"].utcoffset() == timedelta(hours=1)
    assert third["sentiment_score"] == -0.25
    assert third["replies"] is None


def test_jsonl_holds_the_stored_mentions_in_utc(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "mentions.jsonl"
    assert write_file(_scan(store), "jsonl", out, zone=PARIS) == len(MENTIONS)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert sorted(Mention.model_validate_json(line).id for line in lines) == sorted(BY_ID)
    for line in lines:
        mention = Mention.model_validate_json(line)
        assert mention == BY_ID[mention.id]
        assert line == mention_json(BY_ID[mention.id])
    assert json.loads(lines[-1])["published"].endswith("Z")  # the summer one is last: UTC


def test_filters_apply(store: Store, tmp_path: Path) -> None:
    filters = Filters(query=parse("panne"), brand="Acme")
    out = tmp_path / "acme.csv"
    write_file(_scan(store, filters), "csv", out, zone=PARIS)
    expected = {m.id for i, m in enumerate(MENTIONS) if i % 3 == 0 and i % 2 == 0}
    assert {r["id"] for r in read_csv(out.read_bytes())} == expected


def test_both_stores_export_the_same_bytes(tmp_path: Path) -> None:
    made = {}
    for kind, build in STORES.items():
        with build(tmp_path) as opened:
            opened.upsert(MENTIONS)
            opened.refresh()
            out = tmp_path / f"{kind}.csv"
            write_file(_scan(opened), "csv", out, zone=PARIS)
            made[kind] = out.read_bytes()
    assert made["sqlite"] == made["elastic"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_interrupted_export_leaves_no_file(fmt: Format, tmp_path: Path) -> None:
    def failing() -> Iterator[list[Mention]]:
        yield MENTIONS[:5]
        raise KeyboardInterrupt

    out = tmp_path / f"mentions.{fmt}"
    with pytest.raises(KeyboardInterrupt):
        write_file(failing(), fmt, out, zone=PARIS)
    assert list(tmp_path.iterdir()) == []
    out.write_bytes(b"last week's")  # and a file already there stays as it was
    with pytest.raises(KeyboardInterrupt):
        write_file(failing(), fmt, out, zone=PARIS)
    assert list(tmp_path.iterdir()) == [out]
    assert out.read_bytes() == b"last week's"


def test_an_unwritable_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(VeilleError, match=r"cannot write .*missing/x\.csv: No such file"):
        write_file(iter([MENTIONS]), "csv", tmp_path / "missing" / "x.csv", zone=PARIS)
    with pytest.raises(VeilleError, match="is a directory"):
        write_file(iter([MENTIONS]), "csv", tmp_path, zone=PARIS)


def test_xlsx_goes_on_in_a_new_sheet_when_one_is_full(tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    writer = XlsxRows(out, PARIS, sheet_rows=5)  # a header and 4 mentions per sheet
    writer.write(MENTIONS[:10])
    writer.close()
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["mentions", "mentions 2", "mentions 3"]
    ids = [r[0] for s in book.worksheets for r in s.iter_rows(min_row=2, values_only=True)]
    assert ids == [m.id for m in MENTIONS[:10]]
    assert book["mentions 3"].auto_filter.ref == f"A1:{LAST_COLUMN}3"


def test_parquet_writes_a_row_group_every_n_mentions(tmp_path: Path) -> None:
    out = tmp_path / "m.parquet"
    writer = ParquetRows(out, PARIS, row_group=4)
    for start in range(0, len(MENTIONS), 3):
        writer.write(MENTIONS[start : start + 3])
    writer.close()
    assert pq.ParquetFile(out).metadata.num_row_groups == 6  # 5 of 4, then the last 3
    assert [r["id"] for r in read_parquet(out)] == [m.id for m in MENTIONS]


def test_streams_take_csv_without_bom_and_jsonl_only() -> None:
    stream = io.BytesIO()
    assert write_stream(iter([MENTIONS[:2]]), "csv", stream, zone=PARIS) == 2
    assert stream.getvalue().startswith(b"id;published (Europe/Paris);")
    with pytest.raises(ValueError, match="needs a file"):
        write_stream(iter([MENTIONS]), "xlsx", io.BytesIO(), zone=PARIS)


def test_csv_cells() -> None:
    assert csv_cell(0.1) == "0,1"
    assert csv_cell(-1.0) == "-1,0"
    assert csv_cell(3) == "3"
    assert csv_cell(True) == "1"
    assert csv_cell(None) == ""
    assert csv_cell("+33 6 12") == "'+33 6 12"
    assert csv_cell("@jo") == "'@jo"
    assert csv_cell(T0, PARIS) == "2026-11-02 10:00:00"
    assert csv_cell(T0) == "2026-11-02 09:00:00"


# The command line, on a SQLite store under a configuration's data_dir.

BIG = 1234  # more than a scan page (500)


@pytest.fixture
def config(tmp_path: Path, write_config: Callable[..., Path]) -> Path:
    path = write_config({"data_dir": str(tmp_path / "data"), "timezone": "Europe/Paris"})
    (tmp_path / "data").mkdir()
    mentions = [*MENTIONS]
    for i in range(BIG - len(MENTIONS)):
        mentions.append(make_mention(f"Acme encore {i}", brands=("Acme",), sentiment="neutral"))
    with SqliteStore(tmp_path / "data" / "veille.db") as store:
        store.setup()
        assert store.upsert(mentions) == []
    return path


def invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def test_export_command_writes_every_format(config: Path, tmp_path: Path) -> None:
    for fmt in FORMATS:
        out = tmp_path / f"all.{fmt}"
        result = invoke(config, "export", "--out", str(out))  # the format from the extension
        assert result.exit_code == 0, result.output
        assert f"{BIG} mentions written to {out} ({fmt})" in result.stderr
        assert "exporting" not in result.stderr  # no progress bar off a terminal
    assert len(read_csv((tmp_path / "all.csv").read_bytes())) == BIG
    assert len(read_xlsx(tmp_path / "all.xlsx")) == BIG
    assert len(read_parquet(tmp_path / "all.parquet")) == BIG
    ids = {json.loads(line)["id"] for line in (tmp_path / "all.jsonl").read_text().splitlines()}
    assert len(ids) == BIG


def test_export_command_to_stdout_with_filters(config: Path) -> None:
    result = invoke(config, "export", "panne", "--brand", "Acme", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter=";"))
    assert {r["id"] for r in rows} == {m.id for i, m in enumerate(MENTIONS) if i % 6 == 0}
    jsonl = invoke(config, "export", "--format", "jsonl", "--out", "-", "--sentiment", "negative")
    search = invoke(config, "search", "--all", "--sentiment", "negative")
    assert jsonl.stdout == search.stdout
    assert len(jsonl.stdout.splitlines()) == 8


def test_export_command_refuses_what_it_cannot_write(config: Path, tmp_path: Path) -> None:
    result = invoke(config, "export", "--format", "xlsx")
    assert result.exit_code == 2
    assert "--format xlsx needs --out FILE" in result.stderr
    result = invoke(config, "export", "--out", str(tmp_path / "nowhere" / "x.csv"))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot write {tmp_path / 'nowhere' / 'x.csv'}: No such file or directory"
    ]


def _csv_tables(text: str) -> list[list[list[str]]]:
    return [list(csv.reader(block.splitlines(), delimiter=";")) for block in text.split("\n\n")]


def test_search_and_report_take_format_csv(config: Path) -> None:
    result = invoke(config, "search", "panne", "--format", "csv", "--size", "5")
    assert result.exit_code == 0, result.output
    (rows,) = _csv_tables(result.stdout.rstrip("\n"))
    assert rows[0] == ["published", "brands", "sentiment", "lang", "source", "author", "text"]
    assert len(rows) == 6
    assert rows[1][2] in ("negative", "neutral", "positive")
    assert "1-5 of 8 mentions" in result.stderr  # the footer keeps off the CSV
    result = invoke(config, "report", "--since", "2026-01-01", "--format", "csv")
    assert result.exit_code == 0, result.output
    timeline, sites, authors = _csv_tables(result.stdout.rstrip("\n"))
    assert timeline[0] == ["from (Europe/Paris)", "negative", "neutral", "positive", "total"]
    assert sum(int(r[-1]) for r in timeline[1:]) == BIG
    assert sites[0] == ["site", "mentions"]
    assert authors[0] == ["author", "mentions"]
    assert not result.stderr.strip()
    result = invoke(config, "authors", "top", "--format", "csv", "--limit", "3")
    assert result.exit_code == 0, result.output
    (rows,) = _csv_tables(result.stdout.rstrip("\n"))
    assert rows[0] == ["author", "score", "influencer", "mentions", "reach", "engagement", "sites"]


def _report_csv(config: Path) -> list[str]:
    report = ["report", "--since", "2026-01-01", "--format", "csv"]
    return [sys.executable, "-m", "veille.cli", "--config", str(config), *report]


def test_format_csv_redirected_to_a_file_starts_with_a_bom(config: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    with out.open("wb") as stdout:
        subprocess.run(
            _report_csv(config),
            stdout=stdout,
            check=True,
        )
    assert out.read_bytes().startswith(b"\xef\xbb\xbffrom (Europe/Paris);negative;")
    piped = subprocess.run(
        _report_csv(config),
        capture_output=True,
        check=True,
    )
    assert piped.stdout.startswith(b"from (Europe/Paris);negative;")
