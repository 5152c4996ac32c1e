"""Organisations as records: the duplicates typed-in names make are found and merged (CLI and
API), members and reports move, the merged name finds the kept one afterwards; records are
edited with their fields checked; contact people show their roles and the focal point."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from storage import members as member_store
from storage.models import Member, Organisation, Report
from tests import cli
from tests.factories import add_member, add_report
from tests.gateway.test_api import app_harness, call, tokens  # noqa: F401 - fixtures

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def seed(database) -> dict[str, int]:
    async with database.transaction() as connection:
        afem = await member_store.organisation_id_named(connection, "AFEM")
        dotted = await member_store.organisation_id_named(connection, "A.F.E.M.")
        awa = await add_member(
            connection, name="Awa", region="kayes", now=NOW, organisation_id=afem, role="Présidente"
        )
        binta = await add_member(
            connection, name="Binta", region="kayes", now=NOW, organisation_id=dotted,
            role="Point focal",
        )  # fmt: skip
        await add_report(
            connection, organisation="A.F.E.M.", region="kayes", activity="formation",
            day=date(2026, 11, 20), counts=(10, 2, 3, 1), now=NOW, member="Chaka",
        )  # fmt: skip
    return {"afem": afem, "dotted": dotted, "awa": awa, "binta": binta}


async def test_duplicates_are_found_and_merged_by_the_cli(app_harness, capsys):  # noqa: F811
    h = app_harness
    ids = await seed(h.database)
    assert await cli.run(h.settings, "organisations", "duplicates") == 0
    assert capsys.readouterr().out.strip() == "AFEM = A.F.E.M."
    assert await cli.run(h.settings, "organisations", "merge", "AFEM", "A.F.E.M.") == 0
    assert "2 members and 1 report moved" in capsys.readouterr().out
    async with h.database.transaction() as connection:
        rows = (await connection.execute(Organisation.__table__.select())).all()
        owners = {
            row.name: row.organisation_id
            for row in await connection.execute(Member.__table__.select())
        }
        [report] = (await connection.execute(Report.__table__.select())).all()
        # Someone registering as "A.F.E.M." later joins the kept record.
        again = await member_store.organisation_id_named(connection, "A.F.E.M.")
    assert [row.name for row in rows] == ["AFEM"] and rows[0].aliases == ["a.f.e.m"]
    assert set(owners.values()) == {ids["afem"]} and report.organisation_id == ids["afem"]
    assert again == ids["afem"]
    # The record, as the CLI shows it.
    assert await cli.run(h.settings, "organisations", "set", "A.F.E.M.", "--region", "kayes",
                         "--focal", str(ids["binta"])) == 0  # fmt: skip
    capsys.readouterr()
    assert await cli.run(h.settings, "organisations", "show", "afem", "--json") == 0
    record = json.loads(capsys.readouterr().out)
    assert record["region"] == "kayes" and record["also_named"] == ["a.f.e.m"]
    assert {(c["name"], c["role"], c["focal_point"]) for c in record["contacts"]} == {
        ("Awa", "Présidente", False),
        ("Binta", "Point focal", True),
        ("Chaka", None, False),
    }
    assert await cli.run(h.settings, "organisations", "set", "AFEM", "--region", "paris") == 2
    assert "region: unknown region 'paris'" in capsys.readouterr().err


async def test_the_api_edits_records_and_merges(app_harness, tokens):  # noqa: F811
    h = app_harness
    ids = await seed(h.database)
    secretariat = tokens["secretariat"]
    status, record, _ = await call(h, "GET", f"/organisations/{ids['afem']}", tokens["viewer"])
    assert status == 200 and record["contacts"][0]["name"] == "Awa"
    status, _, _ = await call(
        h, "PATCH", f"/organisations/{ids['afem']}", tokens["viewer"], json={"active": False}
    )
    assert status == 403
    status, error, _ = await call(
        h, "PATCH", f"/organisations/{ids['afem']}", secretariat,
        json={"focal_member_id": ids["binta"]},
    )  # fmt: skip
    assert status == 400 and error["field"] == "focal_member_id"  # Binta is not (yet) AFEM's
    status, record, _ = await call(
        h, "PATCH", f"/organisations/{ids['afem']}", secretariat,
        json={"active": False, "themes": ["vbg", "jeunesse"], "kind": "Association"},
    )  # fmt: skip
    assert status == 200 and (record["active"], record["kind"]) == (False, "association")
    assert record["themes"] == ["vbg", "jeunesse"]
    status, done, _ = await call(
        h, "POST", "/organisations/merge", secretariat,
        json={"keep": ids["afem"], "duplicates": ["A.F.E.M."]},
    )  # fmt: skip
    assert status == 200 and done["members_moved"] == 2
    status, error, _ = await call(
        h,
        "POST",
        "/organisations/merge",
        secretariat,
        json={"keep": "AFEM", "duplicates": ["Nope"]},
    )
    assert status == 404
    status, _, _ = await call(h, "GET", "/organisations/999999", tokens["viewer"])
    assert status == 404
