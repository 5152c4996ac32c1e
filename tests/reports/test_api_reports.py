"""The reports API: filters, validation by role, and exports whose rows and totals agree."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from gateway.api.common import PREFIX
from storage import audit
from storage.tokens import create_token
from tests.conftest import BACKENDS, database_url_for
from tests.factories import add_report
from tests.harness import start_harness, stop_harness

SEED = [  # organisation, region, type, day, women, men, girls, boys
    ("AMSS", "kayes", "formation", date(2026, 10, 5), 10, 5, 2, 1),
    ("AMSS", "kayes", "formation", date(2026, 10, 20), 1, 1, 1, 1),
    ("Wildaf Mali", "kayes", "formation", date(2026, 11, 2), 3, 0, 0, 0),
    ("Wildaf Mali", "segou", "sensibilisation", date(2026, 11, 3), 20, 10, 0, 5),
]
TOTALS = [
    ["Kayes", "Formation", "2026-10", 11, 6, 3, 2, 22],
    ["Kayes", "Formation", "2026-11", 3, 0, 0, 0, 3],
    ["Ségou", "Sensibilisation", "2026-11", 20, 10, 0, 5, 35],
]
# As exports give them: counts under 5 people hidden (bot/vocabulary/small_cells.py).
TOTALS_SHOWN = [
    ["Kayes", "Formation", "2026-10", 11, 6, "< 5", "< 5", 22],
    ["Kayes", "Formation", "2026-11", "< 5", 0, 0, 0, "< 5"],
    ["Ségou", "Sensibilisation", "2026-11", 20, 10, 0, 5, 35],
]


async def seed(database) -> None:
    now = datetime.now(UTC)
    async with database.transaction() as connection:
        for organisation, region, activity, day, *counts in SEED:
            await add_report(
                connection, organisation=organisation, region=region, activity=activity,
                day=day, counts=counts, now=now, description=f"=HYPERLINK(\"x\") {activity}",
            )  # fmt: skip


@pytest.fixture(params=BACKENDS)
async def h(request, tmp_path):
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        running, runner = await start_harness(url)
        await seed(running.database)
        running.tokens = {
            role: await create_token(running.database, f"{role}-1", role, actor="test")
            for role in ("viewer", "secretariat")
        }
        try:
            yield running
        finally:
            await stop_harness(running, runner)


async def call(h, method: str, path: str, role: str = "viewer", **kwargs):
    headers = {"Authorization": f"Bearer {h.tokens[role]}"}
    async with h.http.request(method, h.url + PREFIX + path, headers=headers, **kwargs) as r:
        body = await r.read()
        return r.status, body, r.headers


async def get_json(h, path: str, role: str = "viewer"):
    status, body, _headers = await call(h, "GET", path, role)
    return status, json.loads(body)


async def test_list_and_filter(h):
    status, body = await get_json(h, "/reports")
    assert status == 200 and [r["id"] for r in body["reports"]] == [4, 3, 2, 1]
    assert body["reports"][0]["total"] == 35 and body["reports"][0]["organisation"] == "Wildaf Mali"
    for query, ids in (
        ("region=kayes", [3, 2, 1]),
        ("region=Ségou", [4]),
        ("organisation=wildaf mali", [4, 3]),
        ("from=2026-11-01", [4, 3]),
        ("type=formation&to=2026-10-31", [2, 1]),
        ("limit=2", [4, 3]),
        ("before=3", [2, 1]),
    ):
        status, body = await get_json(h, f"/reports?{query}")
        assert status == 200 and [r["id"] for r in body["reports"]] == ids, query
    for query, field in (("from=29/11", "from"), ("region=tokyo", "region"), ("type=x", "type")):
        status, body = await get_json(h, f"/reports?{query}")
        assert status == 400 and body["field"] == field, query


async def test_validate_needs_the_secretariat(h):
    status, _body, _ = await call(h, "POST", "/reports/1/validate")
    assert status == 403
    status, body, _ = await call(h, "POST", "/reports/1/validate", "secretariat")
    assert status == 200
    status, report = await get_json(h, "/reports/1")
    assert report["status"] == "validated" and report["validated_by"] == "token:secretariat-1"
    status, _body, _ = await call(h, "POST", "/reports/999/validate", "secretariat")
    assert status == 404
    status, body = await get_json(h, "/reports?status=validated")
    assert [r["id"] for r in body["reports"]] == [1]


async def test_exports_rows_and_totals_agree(h):
    status, _body, _ = await call(h, "GET", "/reports/export?format=csv")
    assert status == 403  # viewers do not export
    status, body, headers = await call(h, "GET", "/reports/export?format=csv", "secretariat")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    assert header[:4] == ["id", "date", "mois", "type"] and len(rows) == 4
    column = {name: index for index, name in enumerate(header)}
    assert rows[0][column["description"]].startswith("'=")  # CSV injection neutralised
    assert sum(int(row[column["total"]]) for row in rows) == 22 + 3 + 35

    status, body, _ = await call(h, "GET", "/reports/export?format=csv&kind=summary", "secretariat")
    summary = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert summary[0] == [
        "région",
        "type",
        "mois",
        "femmes",
        "hommes",
        "filles",
        "garçons",
        "total",
    ]
    assert [
        row[:3] + [int(n) if n.isdigit() else n for n in row[3:]] for row in summary[1:]
    ] == TOTALS_SHOWN

    status, body, headers = await call(
        h, "GET", "/reports/export?format=xlsx&region=kayes", "secretariat"
    )
    assert status == 200 and "spreadsheetml" in headers["Content-Type"]
    workbook = load_workbook(io.BytesIO(body), read_only=True)
    assert workbook.sheetnames == ["rapports", "totaux", "region_mois"]
    by_month = [list(row) for row in workbook["region_mois"].iter_rows(values_only=True)]
    assert by_month[:3] == [
        ["région", "mois", "femmes", "hommes", "filles", "garçons", "total"],
        ["Kayes", "2026-10", 11, 6, "< 5", "< 5", 22],  # 1-4 people: not shown
        ["Kayes", "2026-11", "< 5", 0, 0, 0, "< 5"],
    ]
    assert by_month[3][0] == "*" and "< 5" in by_month[3][1]  # the export says so
    sheet_rows = list(workbook["rapports"].iter_rows(values_only=True))
    assert len(sheet_rows) == 1 + 3
    totals = [list(row) for row in workbook["totaux"].iter_rows(values_only=True)][1:]
    assert totals == TOTALS_SHOWN[:2]

    status, body = await get_json(h, "/reports/summary?from=2026-11-01")
    assert [row["total"] for row in body["totals"]] == ["< 5", 35]  # 3 people: not shown
    status, body = await get_json(h, "/reports/summary")
    assert [list(row.values()) for row in body["totals"]] == TOTALS_SHOWN  # as exported
    assert "< 5" in body["small_cells"]
    status, body = await get_json(h, "/reports/summary?by=region_month")
    assert [(r["region"], r["month"], r["women"], r["total"]) for r in body["totals"]] == [
        ("Kayes", "2026-10", 11, 22),
        ("Kayes", "2026-11", "< 5", "< 5"),
        ("Ségou", "2026-11", 20, 35),
    ]
    assert "< 5" in body["small_cells"]

    entries = await audit.entries(h.database)
    exports = [e for e in entries if e["action"] == "reports.export"]
    assert len(exports) == 3 and exports[0]["details"]["filters"] == {"region": "kayes"}
