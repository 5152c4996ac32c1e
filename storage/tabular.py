"""Streamed CSV and XLSX exports that are safe to open in Excel.

Every export in Benkadi (rosters, poll results, activity reports) goes through here, so the
CSV-injection rule and the encodings live in one place:
- CSV: a text cell that starts with `=`, `+`, `-`, `@`, tab, carriage return or NUL is neutralised
  by a leading apostrophe (OWASP "CSV injection"). The file is comma-separated, but Excel in a
  French locale splits on `;` (and a reader that ignores quotes splits anywhere), so a cell
  begins after every `,`, `;` or line break too: inside a text, such a character followed by a
  dangerous one gets the apostrophe as well (`Awa;=1+1` → `Awa;'=1+1`), and every field is
  quoted. The file is safe whichever separator opens it;
- XLSX: text is written as string cells, which Excel never evaluates, so no apostrophe there
  (it would only show: `'+22376123456`); characters XML cannot hold become U+FFFD;
- CSV is RFC 4180 (CRLF, every field quoted) in UTF-8 with a BOM, so Excel shows ɛ ɔ ɲ ŋ right;
- rows arrive as an async iterable and leave in chunks: memory stays flat whatever the row count.
XLSX is built with XlsxWriter in constant-memory mode (rows go to disk as they are written; 2-3x
faster than openpyxl here) in a worker thread, batch by batch, then streamed.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import re
import tempfile
from collections.abc import AsyncIterable, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import xlsxwriter

ByteSink = Callable[[bytes], Awaitable[Any]]

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f]")  # what XLSX cannot hold (tab, newline can)
BATCH_ROWS = 1000
CHUNK_BYTES = 64 * 1024

FORMATS = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}


@dataclass(frozen=True)
class Table:
    """One sheet (XLSX) or one file (CSV): a header and rows produced on demand."""

    name: str
    header: Sequence[str]
    rows: AsyncIterable[Sequence[Any]]


# A separator or line break (then any quotes) before a dangerous character: a cell starts there
# for a reader that splits on it.
_INNER = re.compile('([,;\r\n]"*)(?=[=+\\-@\t\r\0])')


def neutralise(text: str) -> str:
    """A formula-looking text becomes inert text, wherever a reader may start a cell in it;
    anything else is returned unchanged."""
    if "," in text or ";" in text or "\n" in text or "\r" in text:
        text = _INNER.sub("\\1'", text)
    return "'" + text if text.startswith(DANGEROUS_PREFIXES) else text


def csv_cell(value: Any) -> str:
    if type(value) is str:  # the common case first
        return neutralise(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)  # a number, even negative, is data, not a formula
    if isinstance(value, datetime):
        return _utc_naive(value).isoformat(" ", "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    return neutralise(str(value))


def csv_row(row: Sequence[Any]) -> list[Any]:
    """csv_cell for a whole row, inlined for the common types: a 100,000-member roster is
    1.5 million cells. The csv module writes None as "" and numbers as str() itself."""
    cells: list[Any] = []
    append = cells.append
    for value in row:
        kind = type(value)
        if kind is str:
            append(neutralise(value))
        elif value is None or kind is int or kind is float:
            append(value)
        else:
            append(csv_cell(value))
    return cells


def xlsx_cell(value: Any) -> Any:
    if type(value) is str:  # the common case first: big exports come here millions of times
        return _CONTROL.sub("\ufffd", value)
    if value is None or isinstance(value, bool | int | float | date):
        return _utc_naive(value) if isinstance(value, datetime) else value
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    # XML (and so XLSX) cannot hold control characters other than tab/newline: keep it readable.
    return _CONTROL.sub("\ufffd", str(value))


def _utc_naive(moment: datetime) -> datetime:
    """Excel has no time zones: exports are in UTC (Mali's time, GMT, all year). Whole seconds,
    as the CSV writes them: a fraction kept in the cell would round up to the next second in
    some readers, and the two files would not say the same time."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:  # the database gives UTC already
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None, microsecond=0)


async def _batches(rows: AsyncIterable[Sequence[Any]]) -> AsyncIterable[list[Sequence[Any]]]:
    batch: list[Sequence[Any]] = []
    async for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


async def write_csv(table: Table, sink: ByteSink) -> int:
    """Stream one table as CSV into `sink`; returns the number of data rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(name) for name in table.header])
    await sink(("\ufeff" + buffer.getvalue()).encode("utf-8"))
    count = 0
    async for batch in _batches(table.rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(map(csv_row, batch))
        count += len(batch)
        await sink(buffer.getvalue().encode("utf-8"))
    return count


async def write_xlsx(tables: Sequence[Table], sink: ByteSink) -> int:
    """Stream several tables as the sheets of one XLSX workbook; returns the data rows written."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        workbook = xlsxwriter.Workbook(path, WORKBOOK_OPTIONS)
        formats = {
            datetime: workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            date: workbook.add_format({"num_format": "yyyy-mm-dd"}),
        }
        count = 0
        for table in tables:
            sheet = workbook.add_worksheet(_sheet_title(table.name))
            _write_rows(sheet, formats, 0, [table.header])
            written = 1
            async for batch in _batches(table.rows):
                await asyncio.to_thread(_write_rows, sheet, formats, written, batch)
                written += len(batch)
            count += written - 1
        await asyncio.to_thread(workbook.close)
        saved = await asyncio.to_thread(open, path, "rb")
        with saved:
            while chunk := await asyncio.to_thread(saved.read, CHUNK_BYTES):
                await sink(chunk)
    finally:
        os.unlink(path)
    return count


# Texts stay texts: no guessing of formulas, links or numbers from what members typed.
WORKBOOK_OPTIONS = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def _write_rows(sheet: Any, formats: dict, first: int, rows: Sequence[Sequence[Any]]) -> None:
    for index, row in enumerate(rows, start=first):
        for column, raw in enumerate(row):
            value = xlsx_cell(raw)
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(index, column, value)
            elif isinstance(value, bool):
                sheet.write_boolean(index, column, value)
            elif isinstance(value, int | float):
                sheet.write_number(index, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(index, column, value, formats[datetime])
            else:  # a date
                sheet.write_datetime(index, column, value, formats[date])


def _sheet_title(name: str) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\."""
    cleaned = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)
    return cleaned[:31] or "Sheet"


async def write_tables(format_: str, tables: Sequence[Table], sink: ByteSink) -> int:
    """CSV carries the first table only (one file, one table); XLSX carries them all."""
    if format_ == "csv":
        return await write_csv(tables[0], sink)
    if format_ == "xlsx":
        return await write_xlsx(tables, sink)
    raise ValueError(f"unknown export format {format_!r} (csv or xlsx)")
