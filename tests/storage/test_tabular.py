"""Exports: CSV-injection neutralised in CSV whichever separator opens it (`,` or `;`), XLSX
string cells left as typed, RFC 4180 with BOM, streamed in chunks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from storage.tabular import Table, write_csv, write_tables, write_xlsx

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

INJECTIONS = ["=1+1", "+223 76", "-2+3", "@SUM(A1)", "\tx", "\rx", "\0x", '=HYPERLINK("http://x")']


async def _rows(rows):
    for row in rows:
        yield row


async def _collect(writer, *args) -> tuple[bytes, int]:
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    count = await writer(*args, sink)
    return b"".join(chunks), count


async def test_csv_is_rfc4180_utf8_bom_and_neutralises_formulas():
    rows = [[text, 5, -3, None, 'Sɛgɔu, "ŋ"\nligne'] for text in INJECTIONS]
    data, count = await _collect(
        write_csv, Table("t", ["a", "n", "neg", "none", "text"], _rows(rows))
    )
    assert count == len(INJECTIONS)
    assert data.startswith("\ufeff".encode())
    assert b"\r\n" in data
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0] == ["a", "n", "neg", "none", "text"]
    for original, row in zip(INJECTIONS, parsed[1:], strict=True):
        assert row[0] == "'" + original
        assert row[1:4] == ["5", "-3", ""]  # numbers stay numbers, even negative
        assert row[4] == 'Sɛgɔu, "ŋ"\nligne'


async def test_xlsx_keeps_texts_as_typed_and_keeps_types(tmp_path):
    moment = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    rows = [[text, 7, moment, ("vbg", "1325")] for text in INJECTIONS]
    data, count = await _collect(
        write_xlsx,
        [
            Table("Membres", ["a", "n", "quand", "thèmes"], _rows(rows)),
            Table("Vide", ["x"], _rows([])),
        ],
    )
    assert count == len(INJECTIONS)
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["Membres", "Vide"]
    values = list(workbook["Membres"].iter_rows(values_only=True))
    assert values[0] == ("a", "n", "quand", "thèmes")
    for original, row in zip(INJECTIONS, values[1:], strict=True):
        # A string cell is never a formula: no apostrophe. XLSX cannot hold CR or NUL at all.
        assert row[0] == original.replace("\r", "\ufffd").replace("\0", "\ufffd")
        assert row[1] == 7
        assert row[2] == datetime(2026, 11, 25, 9, 30)
        assert row[3] == "vbg; 1325"
    assert values[1][0] == "=1+1"


SEPARATED = ["Awa;=1+1;", "Kita,+223 76", 'a;"=HYPERLINK(1)', "ligne\n-2+3", "x,@cmd", "y;\tz"]


def cells_as_read(text: str, separator: str) -> list[str]:
    """Every cell of the file as a reader splitting on `separator` sees it: one that honours
    quotes (the csv module, Excel), and one that does not (a naive split)."""
    quoted = [
        cell
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        for cell in row
    ]
    naive = [cell.lstrip('"') for line in text.splitlines() for cell in line.split(separator)]
    return quoted + naive


@pytest.mark.parametrize("separator", [",", ";"])
async def test_csv_is_safe_whichever_separator_opens_it(separator):
    rows = [[text, f"Awa {n}", n, -n] for n, text in enumerate([*INJECTIONS, *SEPARATED], 1)]
    data, _ = await _collect(write_csv, Table("t", ["a", "b", "n", "neg"], _rows(rows)))
    text = data.decode("utf-8-sig")
    for cell in cells_as_read(text, separator):
        if cell.startswith("-") and cell[1:2].isdigit() and "+" not in cell:
            continue  # a negative number is data
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r", "\0")), repr(cell)
    # Read as written (commas, quotes), every text is what was typed, marked where needed.
    parsed = list(csv.reader(io.StringIO(text, newline="")))[1:]
    assert parsed[len(INJECTIONS)][0] == "Awa;'=1+1;"
    assert parsed[len(INJECTIONS) + 1][0] == "Kita,'+223 76"
    assert [row[1] for row in parsed] == [f"Awa {n}" for n in range(1, len(rows) + 1)]


async def test_csv_streams_in_chunks_for_many_rows():
    rows = ([i, f"membre {i}"] for i in range(5000))
    chunks: list[bytes] = []

    async def sink(chunk: bytes) -> None:
        chunks.append(chunk)

    count = await write_tables("csv", [Table("t", ["i", "nom"], _rows(rows))], sink)
    assert count == 5000
    assert len(chunks) >= 5  # header, then one chunk per batch of rows
    assert b"".join(chunks).decode("utf-8-sig").count("\r\n") == 5001


async def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="csv or xlsx"):
        await write_tables("pdf", [Table("t", ["x"], _rows([]))], lambda chunk: None)
