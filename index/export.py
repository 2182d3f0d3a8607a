"""Exports: every mention a selection holds, one row each, written as the store's `scan` reads it
(constant memory whatever the count), as CSV, XLSX, JSON lines or Parquet.

`COLUMNS` is the one definition of an export's flat columns (name, type, how to read it from a
mention, width); every tabular format writes those columns, each with its types: CSV as text
for French Excel (`csv_cell`), XLSX with typed dates and numbers, Parquet with a fixed schema.
JSON lines write the stored mention itself (`mention_json`, what ``veille search --all``
prints), dates in UTC. Dates in the other formats are in the zone the caller gives (the
``timezone`` setting), and the header says which.

`write_file` writes beside the target and renames at the end, so an export that fails or is
interrupted never leaves a half file under the final name; `write_stream` writes CSV or JSON
lines to an open stream (standard output).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, Protocol, TextIO

from ingest.errors import VeilleError

if TYPE_CHECKING:
    from ingest.record import Mention

Format = Literal["csv", "xlsx", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "jsonl", "parquet")
STREAMABLE: tuple[Format, ...] = ("csv", "jsonl")
"""The formats that can be written to a stream; XLSX and Parquet need a file."""

Kind = Literal["text", "int", "float", "bool", "time"]

CSV_SEPARATOR = ";"
"""French Excel's list separator: the comma is its decimal mark."""

Progress = Callable[[int], None]
"""Told how many mentions were just written, after each batch."""


@dataclass(frozen=True)
class Column:
    """One column of an export: its name, its type, how to read it from a mention, and its
    width in an XLSX sheet (characters)."""

    name: str
    kind: Kind
    read: Callable[[Mention], Any]
    width: int = 12

    def label(self, zone: tzinfo) -> str:
        """The header of this column in a sheet: a time column says its zone."""
        return f"{self.name} ({zone})" if self.kind == "time" else self.name


def _author(field: str) -> Callable[[Mention], Any]:
    return lambda m: getattr(m.author, field) if m.author else None


def _engagement(field: str) -> Callable[[Mention], Any]:
    return lambda m: getattr(m.engagement, field)


def _sentiment(field: str) -> Callable[[Mention], Any]:
    return lambda m: (
        getattr(m.enrichment.sentiment, field) if m.enrichment and m.enrichment.sentiment else None
    )


def _influence(field: str) -> Callable[[Mention], Any]:
    return lambda m: (
        getattr(m.enrichment.influence, field) if m.enrichment and m.enrichment.influence else None
    )


def _thread(field: str) -> Callable[[Mention], Any]:
    return lambda m: getattr(m.thread, field) if m.thread else None


def _rating(field: str) -> Callable[[Mention], Any]:
    return lambda m: getattr(m.rating, field) if m.rating else None


def _brands(m: Mention) -> str:
    return ", ".join(m.enrichment.brands) if m.enrichment else ""


def _entities(m: Mention) -> str:
    return ", ".join(e.text for e in m.enrichment.entities) if m.enrichment else ""


def _cluster(m: Mention) -> str | None:
    return m.enrichment.cluster if m.enrichment else None


COLUMNS: tuple[Column, ...] = (
    Column("id", "text", lambda m: m.id, 34),
    Column("published", "time", lambda m: m.published, 20),
    Column("source_kind", "text", lambda m: m.source.kind.value, 8),
    Column("source", "text", lambda m: m.source.name, 16),
    Column("site", "text", lambda m: m.site, 20),
    Column("url", "text", lambda m: m.url, 40),
    Column("title", "text", lambda m: m.title, 40),
    Column("text", "text", lambda m: m.text, 80),
    Column("author_name", "text", _author("name"), 20),
    Column("author_handle", "text", _author("handle"), 16),
    Column("author_url", "text", _author("url"), 30),
    Column("author_followers", "int", _author("followers"), 10),
    Column("likes", "int", _engagement("likes"), 8),
    Column("shares", "int", _engagement("shares"), 8),
    Column("replies", "int", _engagement("replies"), 8),
    Column("views", "int", _engagement("views"), 10),
    Column("language", "text", lambda m: m.effective_lang, 8),
    Column("brands", "text", _brands, 16),
    Column("sentiment", "text", _sentiment("label"), 10),
    Column("sentiment_score", "float", _sentiment("score"), 10),
    Column("sentiment_confidence", "float", _sentiment("confidence"), 10),
    Column("sentiment_model", "text", _sentiment("model"), 16),
    Column("entities", "text", _entities, 30),
    Column("influence", "float", _influence("score"), 10),
    Column("is_influencer", "bool", _influence("is_influencer"), 8),
    Column("cluster", "text", _cluster, 34),
    Column("thread_id", "text", _thread("id"), 20),
    Column("thread_title", "text", _thread("title"), 30),
    Column("thread_url", "text", _thread("url"), 30),
    Column("parent", "text", lambda m: m.parent, 34),
    Column("rating", "float", _rating("stars"), 8),
    Column("rating_value", "float", _rating("value"), 8),
    Column("rating_best", "float", _rating("best"), 8),
    Column("reviewed", "text", _rating("item"), 24),
)
"""The columns of every tabular export, in order. ``rating`` is a review's rating out of 5
(`ingest.record.Rating.stars`); ``rating_value`` and ``rating_best`` as the page gave them."""


def row(mention: Mention) -> list[Any]:
    """``mention``'s values in `COLUMNS` order, typed (times are the stored UTC datetimes)."""
    return [column.read(mention) for column in COLUMNS]


def mention_json(mention: Mention) -> str:
    """One mention as one line of JSON: its fields with its enrichment, dates in UTC."""
    return json.dumps(mention.model_dump(mode="json", exclude_none=True), ensure_ascii=False)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, zone: tzinfo = UTC) -> str:
    """A value as French Excel reads it in a CSV cell.

    Decimals take a comma (French Excel reads ``0.75`` as text, or as a date), times are written
    ``2026-11-02 10:00:00`` in ``zone``, booleans 1 and 0 (they add up), and a text that Excel
    would run as a formula (``=``, ``+``, ``-``, ``@``: text from the web is anyone's) starts
    with an apostrophe, which Excel hides."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_STARTS) else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    if isinstance(value, datetime):
        when = value.astimezone(zone) if value.tzinfo else value
        return when.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def csv_writer(stream: TextIO, *, lineterminator: str = "\r\n") -> Any:
    """A `csv.writer` in Veille's CSV dialect (``;``, CRLF, quotes only where needed)."""
    return csv.writer(stream, delimiter=CSV_SEPARATOR, lineterminator=lineterminator)


class RowWriter(Protocol):
    """Writes an export, batch by batch; `close` finishes the file, `abort` lets go of what
    it holds without finishing it (the file is thrown away)."""

    def write(self, mentions: Sequence[Mention]) -> None: ...

    def close(self) -> None: ...

    def abort(self) -> None: ...


class CsvRows:
    """`COLUMNS` as CSV for French Excel: UTF-8 (with a BOM when ``bom``, so that Excel reads
    it as UTF-8), cells by `csv_cell`."""

    def __init__(self, stream: BinaryIO, zone: tzinfo, *, bom: bool) -> None:
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        self._zone = zone
        if bom:
            self._text.write("\ufeff")
        self._csv = csv_writer(self._text)
        self._csv.writerow([column.label(zone) for column in COLUMNS])
        self._typed = [i for i, c in enumerate(COLUMNS) if c.kind != "int"]

    def write(self, mentions: Sequence[Mention]) -> None:
        zone, typed = self._zone, self._typed
        rows = [row(m) for m in mentions]
        for values in rows:
            # What `csv_cell` would write, for the cells where it differs from str(): the csv
            # module writes None as "" and integers as they are, faster than a call per cell.
            for i in typed:
                if values[i] is not None:
                    values[i] = csv_cell(values[i], zone)
        self._csv.writerows(rows)

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the stream is the caller's: standard output stays open

    def abort(self) -> None:
        self._text.detach()


class JsonRows:
    """The stored mentions as JSON lines (`mention_json`)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, mentions: Sequence[Mention]) -> None:
        self._stream.write("".join(mention_json(m) + "\n" for m in mentions).encode())

    def close(self) -> None:
        self._stream.flush()

    def abort(self) -> None:
        pass


EXCEL_ROWS = 1_048_576
"""Rows in an Excel sheet, the header's included; an export that needs more goes on in a new
sheet."""
EXCEL_CHARS = 32_767
"""The longest text an Excel cell holds; a longer text is cut there."""


class XlsxRows:
    """`COLUMNS` in an Excel workbook through XlsxWriter's ``constant_memory`` mode (each row is
    written out as soon as the next begins): typed dates (naive, in ``zone``, which the header
    names) and numbers, a frozen header row, filters and column widths."""

    def __init__(self, path: Path, zone: tzinfo, *, sheet_rows: int = EXCEL_ROWS) -> None:
        import xlsxwriter

        # The rows wait in one temporary file per sheet until the workbook is assembled: in a
        # directory of ours, so that an export given up leaves none behind.
        self._tmpdir = tempfile.TemporaryDirectory(prefix="veille-xlsx-")
        self._book = xlsxwriter.Workbook(
            str(path),
            {"constant_memory": True, "strings_to_urls": False, "tmpdir": self._tmpdir.name},
        )
        self._zone = zone
        self._sheet_rows = sheet_rows
        header = self._book.add_format({"bold": True, "bg_color": "#DDE4EE", "bottom": 1})
        self._formats = {
            "time": self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "float": self._book.add_format({"num_format": "0.000"}),
        }
        self._header = header
        self._sheets: list[tuple[Any, int]] = []
        self._sheet: Any = None
        self._row = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        if self._sheet is not None:
            self._sheets.append((self._sheet, self._row))
        number = len(self._sheets) + 1
        sheet = self._book.add_worksheet("mentions" if number == 1 else f"mentions {number}")
        for i, column in enumerate(COLUMNS):
            sheet.set_column(i, i, column.width, self._formats.get(column.kind))
            sheet.write_string(0, i, column.label(self._zone), self._header)
        sheet.freeze_panes(1, 0)
        self._sheet, self._row = sheet, 0

    def write(self, mentions: Sequence[Mention]) -> None:
        zone, formats = self._zone, self._formats
        kinds = [column.kind for column in COLUMNS]
        for mention in mentions:
            if self._row + 1 >= self._sheet_rows:
                self._new_sheet()
            self._row += 1
            r, sheet = self._row, self._sheet
            for i, (kind, value) in enumerate(zip(kinds, row(mention), strict=True)):
                if value is None or value == "":
                    continue
                if kind == "text":
                    sheet.write_string(r, i, value[:EXCEL_CHARS])
                elif kind == "time":
                    local = value.astimezone(zone).replace(tzinfo=None)
                    sheet.write_datetime(r, i, local, formats["time"])
                elif kind == "bool":
                    sheet.write_boolean(r, i, value)
                else:
                    sheet.write_number(r, i, value, formats.get(kind))

    def close(self) -> None:
        self._sheets.append((self._sheet, self._row))
        for sheet, last in self._sheets:
            sheet.autofilter(0, 0, last, len(COLUMNS) - 1)
        try:
            self._book.close()
        finally:
            self._tmpdir.cleanup()

    def abort(self) -> None:
        for sheet in self._book.worksheets():
            handle = getattr(sheet, "row_data_fh", None)
            if handle is not None:
                handle.close()
        self._tmpdir.cleanup()


PARQUET_ROW_GROUP = 20_000
"""Mentions per Parquet row group: what an export holds in memory at once."""


class ParquetRows:
    """`COLUMNS` in a Parquet file with a fixed schema (times as UTC instants tagged with
    ``zone``), one row group every ``row_group`` mentions."""

    def __init__(self, path: Path, zone: tzinfo, *, row_group: int = PARQUET_ROW_GROUP) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            "text": pa.string(),
            "int": pa.int64(),
            "float": pa.float64(),
            "bool": pa.bool_(),
            "time": pa.timestamp("us", tz=str(zone)),
        }
        self._pa = pa
        self._schema = pa.schema([pa.field(c.name, types[c.kind]) for c in COLUMNS])
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        self._row_group = row_group
        self._pending: list[Any] = []  # record batches, as compact as Arrow makes them
        self._rows = 0

    def write(self, mentions: Sequence[Mention]) -> None:
        if not mentions:
            return
        pa, schema = self._pa, self._schema
        columns = zip(*(row(m) for m in mentions), strict=True)
        arrays = [pa.array(list(v), type=f.type) for v, f in zip(columns, schema, strict=True)]
        self._pending.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
        self._rows += len(mentions)
        while self._rows >= self._row_group:
            self._flush(self._row_group)

    def _flush(self, rows: int) -> None:
        table = self._pa.Table.from_batches(self._pending, schema=self._schema)
        self._writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self._pending, self._rows = rest.to_batches(), rest.num_rows

    def close(self) -> None:
        if self._rows:
            self._flush(self._rows)
        self._writer.close()

    def abort(self) -> None:
        self._pending = []
        self._writer.close()


def _copy(
    batches: Iterable[Sequence[Mention]], writer: RowWriter, progress: Progress | None
) -> int:
    written = 0
    try:
        for batch in batches:
            writer.write(batch)
            written += len(batch)
            if progress is not None:
                progress(len(batch))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return written


def write_stream(
    batches: Iterable[Sequence[Mention]],
    fmt: Format,
    stream: BinaryIO,
    *,
    zone: tzinfo,
    bom: bool = False,
    progress: Progress | None = None,
) -> int:
    """Write ``batches`` to ``stream`` as CSV or JSON lines, as they come; return how many
    mentions were written."""
    if fmt not in STREAMABLE:
        raise ValueError(f"{fmt} needs a file, not a stream")
    writer: RowWriter = CsvRows(stream, zone, bom=bom) if fmt == "csv" else JsonRows(stream)
    return _copy(batches, writer, progress)


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed to it when the block ends well and removed
    when it does not (an error, Ctrl-C): a reader never sees half a file, and a failure leaves
    the file that was there as it was. `VeilleError` (one line) when ``path`` cannot be
    written."""
    if path.is_dir():
        raise VeilleError(f"cannot write {path}: it is a directory; give a file name")
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise VeilleError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb") as done:  # on disk before it takes the final name
            os.fsync(done.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise VeilleError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_file(
    batches: Iterable[Sequence[Mention]],
    fmt: Format,
    path: Path,
    *,
    zone: tzinfo,
    progress: Progress | None = None,
) -> int:
    """Write ``batches`` to the file ``path`` in ``fmt``, as they come, under a temporary name
    renamed to ``path`` once complete; return how many mentions were written. A CSV file starts
    with a BOM. `VeilleError` (one line) when ``path`` cannot be written."""
    with replacing(path) as temporary:
        if fmt in STREAMABLE:
            with open(temporary, "wb") as stream:
                written = write_stream(batches, fmt, stream, zone=zone, bom=True, progress=progress)
        else:
            writer: RowWriter = (
                XlsxRows(temporary, zone) if fmt == "xlsx" else ParquetRows(temporary, zone)
            )
            written = _copy(batches, writer, progress)
    return written
