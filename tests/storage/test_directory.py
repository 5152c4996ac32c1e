"""The directory import on each backend: the shipped sample's dry run lists exactly its
problems and writes nothing; the import creates, merges and refuses as the dry run said, in one
transaction, audited, each new person invited once; XLSX as well as CSV."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot.directory import run_import
from bot.vocabulary.errors import FieldErrors
from storage.models import Address, AuditEntry, Member, Organisation, OutboxMessage
from tests.factories import TEST_ERASURE_KEY, add_member

SAMPLE = Path(__file__).parents[2] / "docs" / "samples" / "annuaire-osc.csv"
NOW = datetime(2026, 12, 1, 10, tzinfo=UTC)
# What docs/samples/make_directory.py put there on purpose, and nothing else.
SAMPLE_PROBLEMS = [
    {"line": 101, "field": "region", "message": "missing: imported without a region", "refused": False},
    {"line": 202, "field": "telephone", "message": "no usable phone number or Telegram username", "refused": True},
    {"line": 202, "field": "telephone", "message": "not a phone number: '76 12 34'", "refused": False},
]  # fmt: skip


async def count(database, table) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table)))


async def test_the_dry_run_of_the_sample_lists_exactly_its_problems_and_writes_nothing(database):
    summary = await run_import(
        database,
        SAMPLE.read_bytes(),
        SAMPLE.name,
        "test",
        erasure_key=TEST_ERASURE_KEY,
        dry_run=True,
        now=NOW,
    )
    assert sorted(summary["problems"], key=lambda p: (p["line"], p["message"])) == SAMPLE_PROBLEMS
    assert (summary["rows"], summary["created"], summary["merged"], summary["refused"]) == (
        300,
        293,
        6,
        1,
    )
    assert summary["people"]["refused"] == [202]
    assert summary["encoding"] == "cp1252"  # Latin-1 bytes, read as Excel's Windows-1252
    # "AFEM" and "A.F.E.M." are one organisation: ten in the file.
    assert len(summary["organisations"]) == summary["organisations_created"] == 10
    assert "A.F.E.M." not in summary["organisations"]
    # Each merged line says into which line: the same number written otherwise.
    merged = summary["people"]["merged"]
    assert all(item["into_line"] < item["line"] for item in merged)
    for table in (Member.__table__, Organisation.__table__, OutboxMessage.__table__):
        assert await count(database, table) == 0
    assert await count(database, AuditEntry.__table__) == 0


async def test_the_import_creates_merges_invites_once_and_audits(database):
    summary = await run_import(
        database,
        SAMPLE.read_bytes(),
        SAMPLE.name,
        "secretariat",
        erasure_key=TEST_ERASURE_KEY,
        dry_run=False,
        now=NOW,
    )
    assert (summary["created"], summary["merged"], summary["invited"]) == (293, 6, 293)
    async with database.sessions() as session:
        people = list(await session.scalars(select(Member)))
        organisations = list(await session.scalars(select(Organisation)))
        rows = list(await session.scalars(select(OutboxMessage)))
        audit = list(await session.scalars(select(AuditEntry)))
        phones = list(
            await session.scalars(select(Address.address).where(Address.member_id.is_not(None)))
        )
    assert len(people) == 293 and all(p.consent_at is None for p in people)  # not members yet
    assert all(p.imported_at == NOW and p.invited_at == NOW for p in people)
    assert len(phones) == len(set(phones))  # never two members for one number
    assert {p.sex for p in people} == {"f", "m", None}
    assert {p.age_band for p in people} == {"15-24", "25-35", "36+", None}
    assert sum(p.region is None for p in people) == 1
    assert {p.language for p in people} == {"fr", "bm", "ff", "ses", "en"}
    afem = [o for o in organisations if o.name in ("AFEM", "A.F.E.M.")]
    assert len(afem) == 1 and len(organisations) == 10
    assert all(o.focal_member_id is not None for o in organisations if o.kind == "association")
    assert len(rows) == 293 and {r.channel for r in rows} == {"sms"}
    bambara = next(
        r for r in rows if r.member_id == next(p.id for p in people if p.language == "bm")
    )
    assert "AWO" in bambara.body.upper() and "STOP" in bambara.body
    [entry] = audit
    assert (entry.action, entry.details["created"], entry.details["invited"]) == (
        "members.import",
        293,
        293,
    )
    # Again: everyone is known, nobody is invited twice, nothing is created.
    again = await run_import(
        database,
        SAMPLE.read_bytes(),
        SAMPLE.name,
        "secretariat",
        erasure_key=TEST_ERASURE_KEY,
        dry_run=False,
        now=NOW,
    )
    assert (again["created"], again["merged"], again["invited"]) == (0, 299, 0)
    assert again["organisations_created"] == 0
    assert await count(database, Member.__table__) == 293


async def test_a_known_member_is_merged_not_overwritten_and_not_invited(database):
    async with database.transaction() as connection:
        awa = await add_member(
            connection, name="Awa Traoré", region="kayes", now=NOW, themes=["vbg"],
            addresses=[("sms", "+22376123456")],
        )  # fmt: skip
    text = (
        "nom;telephone;region;sexe;age;telegram\n"
        "Awa T.;0022376123456;Mopti;F;22;\n"
        "Bintou Keïta;66 11 22 33 / 76 99;Ségou;H;40;@bintou_k\n"
        "Bintou K.;;Ségou;;;bintou_k\n"
    )
    summary = await run_import(
        database,
        text.encode(),
        "liste.csv",
        "t",
        erasure_key=TEST_ERASURE_KEY,
        dry_run=False,
        now=NOW,
    )
    merged = summary["people"]["merged"]
    assert {"line": 2, "name": "Awa T.", "into_member": awa} in merged
    assert {"line": 4, "name": "Bintou K.", "into_line": 3} in merged  # the same Telegram name
    assert summary["problems"] == [
        {
            "line": 3,
            "field": "telephone",
            "message": "not a phone number: '76 99'",
            "refused": False,
        }
    ]
    assert summary["invited"] == 1  # Bintou; Awa had joined herself
    async with database.sessions() as session:
        member = await session.get(Member, awa)
    assert (member.name, member.region) == ("Awa Traoré", "kayes")  # hers, kept
    assert (member.sex, member.age_band) == ("f", "15-24")  # what she had left empty


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_an_xlsx_file_with_numbers_as_numbers_and_every_bad_row_at_once(database):
    raw = xlsx([
        ["Nom", "Téléphone", "Organisation", "Type", "Région", "Thèmes", "Langue", "Sexe", "Âge"],
        ["Awa Diarra", 76123456, "AFEM", "association", "Kayes", "VBG, Jeunesse", "bm", "F", "15-24"],
        ["Oumou Sow", 22366123456.0, "A.F.E.M.", "Association", "Gao", "1325", "Songhay", "F", 30],
        [None, 70123456, "AFEM", None, "Kayes", None, None, None, None],
        ["Kadi Touré", "12", "AFEM", "club", "Atlantis", "cuisine", "latin", "X", "ancien"],
    ])  # fmt: skip
    summary = await run_import(
        database, raw, "annuaire.xlsx", "t", erasure_key=TEST_ERASURE_KEY, dry_run=True, now=NOW
    )
    problems = {(p["line"], p["field"], p["refused"]) for p in summary["problems"]}
    assert problems == {
        (4, "nom", True),
        (5, "telephone", False), (5, "telephone", True), (5, "type", False),
        (5, "region", False), (5, "themes", False), (5, "langue", False), (5, "sexe", False),
        (5, "age", False),
    }  # fmt: skip
    assert (summary["created"], summary["refused"], summary["organisations_created"]) == (2, 2, 1)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b"", "file"),
        (b"ville;pays\nKayes;Mali\n", "nom"),
        (b"nom;ville\nAwa;Kayes\n", "telephone"),
        ("nom,telephone\n".encode("utf-16"), "file"),
        (b"PK\x03\x04 not really a workbook", "file"),
    ],
)
async def test_a_file_that_is_not_a_directory_is_refused_naming_why(database, raw, field):
    with pytest.raises(FieldErrors) as caught:
        await run_import(
            database, raw, "x.csv", "t", erasure_key=TEST_ERASURE_KEY, dry_run=True, now=NOW
        )
    assert caught.value.errors[0].field == field


async def test_a_person_entered_twice_with_two_organisations_keeps_the_first(database):
    text = "nom;telephone;organisation\nAwa;76000001;AFEM\nAwa D.;0022376000001;Musow Ka Jama\n"
    plan = await run_import(
        database, text.encode(), "a.csv", "t", erasure_key=TEST_ERASURE_KEY, dry_run=True, now=NOW
    )
    assert plan["organisations"] == ["AFEM"]
    done = await run_import(
        database, text.encode(), "a.csv", "t", erasure_key=TEST_ERASURE_KEY, dry_run=False, now=NOW
    )
    assert done["organisations_created"] == 1
    again = await run_import(
        database, text.encode(), "a.csv", "t", erasure_key=TEST_ERASURE_KEY, dry_run=True, now=NOW
    )
    assert again["organisations_created"] == 0 and again["merged"] == 2
