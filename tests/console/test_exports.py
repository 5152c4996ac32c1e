"""The roster export: API and CLI, CSV and XLSX, filters, masking for viewers, the audit log,
and the CSV-injection fixtures neutralised in both formats."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from gateway.cli import main as cli
from storage import audit
from tests.console.conftest import AWA_CHAT, AWA_PHONE, BINTOU_PHONE, injections, seed_people

EXPORT = "/api/v1/members/export"


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "UTF-8 with a BOM, for Excel"
    assert b"\r\n" in data  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def by_name(rows: list[list]) -> dict[str, list]:
    header = rows[0]
    return {row[header.index("Nom")]: dict(zip(header, row, strict=True)) for row in rows[1:]}


async def get(console, path: str, role: str | None, **params) -> tuple[int, bytes, dict]:
    headers = await console.bearer(role) if role else {}
    async with console.http.get(console.url + path, params=params, headers=headers) as response:
        return response.status, await response.read(), dict(response.headers)


async def test_csv_export_for_the_secretariat(console):
    await seed_people(console.database)
    status, data, headers = await get(console, EXPORT, "secretariat", format="csv")
    assert status == 200
    assert headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    rows = by_name(parse_csv(data))
    awa = rows["Awa Traoré"]
    assert awa["Organisation"] == "ONG Kènèya"
    assert awa["Région"] == "Kayes" and awa["Cercle / commune"] == "Kita"
    assert awa["Langue"] == "Bamanankan"
    assert awa["SMS"] == "'" + AWA_PHONE  # a leading + is neutralised too
    assert awa["Telegram"] == AWA_CHAT
    assert awa["Consentement"] == "2026-03-08 09:00:00"
    assert rows["Bintou Sɛgɔ Diarra"]["Désinscrit (canaux)"] == "sms"
    assert awa["Désinscrit (canaux)"] == ""
    # The injection fixtures: every one comes out as inert text.
    for text in injections(console.database):
        row = rows["'" + text]
        assert row["Cercle / commune"] == "'" + text
        assert row["Organisation"] == "'=cmd|' /C calc'!A0"


async def test_xlsx_export_has_no_formulas_and_carries_organisations(console):
    await seed_people(console.database)
    status, data, headers = await get(console, EXPORT, "admin", format="xlsx")
    assert status == 200
    assert headers["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Membres", "Organisations", "Répartition"]
    breakdown = list(workbook["Répartition"].iter_rows(values_only=True))
    assert breakdown[0] == ("Répartition", "Groupe", "Sexe", "Tranche d'âge", "Membres")
    assert {row[4] for row in breakdown[1:-1]} <= {"< 5"} | set(range(5, 10**6))  # no 1-4
    assert breakdown[-1][0] == "*" and "< 5" in breakdown[-1][1]  # the export says so
    members = [list(row) for row in workbook["Membres"].iter_rows(values_only=True)]
    header = members[0]
    names = [row[header.index("Nom")] for row in members[1:]]
    for text in injections(console.database):
        cleaned = "".join(ch if ch >= " " or ch in "\t\n" else "\ufffd" for ch in text)
        assert cleaned in names
    # No cell anywhere is a formula: openpyxl reports a formula as data_type "f".
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            assert all(cell.data_type != "f" for cell in row)
    organisations = {row[1]: row for row in workbook["Organisations"].iter_rows(values_only=True)}
    assert organisations["ONG Kènèya"][3] == 2
    assert organisations["=cmd|' /C calc'!A0"][3] == len(injections(console.database))


async def test_filters_like_a_broadcast_audience(console):
    await seed_people(console.database)
    _, data, _ = await get(console, EXPORT, "secretariat", region="kayes,sikasso", theme="vbg")
    assert list(by_name(parse_csv(data))) == ["Awa Traoré"]
    _, data, _ = await get(console, EXPORT, "secretariat", channel="telegram")
    assert list(by_name(parse_csv(data))) == ["Awa Traoré"]
    _, data, _ = await get(console, EXPORT, "secretariat", table="organisations", language="bm")
    rows = parse_csv(data)
    assert rows[0] == ["N°", "Organisation", "Type", "Membres"]
    assert [row[1:] for row in rows[1:]] == [["ONG Kènèya", "ONG nationale", "1"]]
    status, data, _ = await get(console, EXPORT, "secretariat", region="atlantis")
    assert status == 400 and b"audience.regions" in data
    status, data, _ = await get(console, EXPORT, "secretariat", format="pdf")
    assert status == 400 and b'"format"' in data


async def test_viewer_exports_mask_numbers(console):
    await seed_people(console.database)
    for format_ in ("csv", "xlsx"):
        status, data, _ = await get(console, EXPORT, "viewer", format=format_)
        assert status == 200
        if format_ == "csv":
            text = data.decode("utf-8-sig")
        else:
            sheet = load_workbook(io.BytesIO(data))["Membres"]
            text = "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row)
        for number in (AWA_PHONE, BINTOU_PHONE, AWA_CHAT, AWA_PHONE[4:], AWA_CHAT[:6]):
            assert number not in text
        assert "+223 76 •• •• 56" in text


async def test_refused_without_a_token_and_audited(console):
    await seed_people(console.database)
    status, _, _ = await get(console, EXPORT, None)
    assert status == 401
    async with console.http.get(
        console.url + EXPORT, headers={"Authorization": "Bearer bk_nope"}
    ) as response:
        assert response.status == 401
    await get(console, EXPORT, "viewer", format="xlsx", region="kayes")
    entries = await audit.entries(console.database)
    exports = [entry for entry in entries if entry["action"] == "export.roster"]
    assert len(exports) == 1
    assert exports[0]["actor"] == "token:test viewer"
    assert exports[0]["details"]["format"] == "xlsx"
    assert exports[0]["details"]["masked"] is True
    assert exports[0]["details"]["audience"]["regions"] == ["kayes"]


@pytest.fixture
def seeded_url(tmp_path):
    import asyncio

    from storage.database import Database
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"

    async def prepare():
        database = Database(url)
        await upgrade(database.engine)
        await seed_people(database)
        await database.dispose()

    asyncio.run(prepare())
    return url


def test_cli_exports_roster(seeded_url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BENKADI_DATABASE_URL", seeded_url)
    target = tmp_path / "roster.xlsx"
    code = cli.main(["members", "export", "-o", str(target), "--region", "kayes", "--progress"])
    assert code == 0
    err = capsys.readouterr().err
    assert "1/1 members" in err and "1 member exported" in err
    sheet = load_workbook(target)["Membres"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][1] == "Awa Traoré" and rows[1][8] == AWA_PHONE  # XLSX: no apostrophe
    code = cli.main(["members", "export", "--format", "csv", "--mask", "--theme", "jeunesse"])
    out = capsys.readouterr()
    assert code == 0
    rows = parse_csv(out.out.encode())
    assert rows[1][1] == "Bintou Sɛgɔ Diarra" and rows[1][8] == "'+223 65 •• •• 56"
    assert cli.main(["members", "export", "--region", "atlantis"]) == 2
    assert "audience.regions" in capsys.readouterr().err
