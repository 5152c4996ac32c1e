"""The dashboard's members by sex and age band: exact from 5 people, "< 5" below, zero kept;
and the directory's invited / joined / refused."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.console.dashboard import figures
from tests.factories import add_member

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def test_members_by_sex_and_age_band_hide_small_cells(database):
    people = [("f", "15-24")] * 6 + [("f", "36+")] * 2 + [("m", "25-35")] * 5 + [(None, None)]
    async with database.transaction() as connection:
        for n, (sex, band) in enumerate(people):
            await add_member(
                connection, name=f"M{n}", region="mopti", now=NOW, sex=sex, age_band=band
            )
        for n in range(7):  # imported: 5 joined, 1 refused, 1 waiting
            await add_member(
                connection, name=f"I{n}", region="gao", now=NOW, consented=n < 5,
                imported_at=NOW, refused_at=NOW if n == 5 else None,
            )  # fmt: skip
    data = await figures(database, NOW)
    table = data["sex_age"]
    assert table["columns"] == ["15-24", "25-35", "36+", "Non dit"]
    assert table["rows"] == [
        ("Femmes", [6, 0, "< 5", 0], 8),
        ("Hommes", [0, 5, 0, 0], 5),
        ("Non dit", [0, 0, 0, 8], 8),  # 1 + the 7 imported without sex or age
    ]
    assert table["totals"] == [6, 5, "< 5", 8]
    assert data["directory"] == {"invited": "< 5", "joined": 5, "refused": "< 5"}
    assert "< 5" in data["small_cells"]


async def test_the_roster_breakdown_sheet_counts_by_sex_and_age_band(database):
    from broadcasts.model import Audience
    from storage.roster import breakdown_rows

    async with database.transaction() as connection:
        for n in range(6):
            await add_member(
                connection, name=f"F{n}", region="kayes", now=NOW, sex="f", age_band="15-24",
                language="bm", addresses=[("sms", f"+2237600000{n}")],
            )  # fmt: skip
        for n in range(2):
            await add_member(
                connection, name=f"H{n}", region="kayes", now=NOW, sex="m", age_band="36+"
            )
    rows = [row async for row in breakdown_rows(database, Audience())]
    assert ["Région", "Kayes", "F", "15-24", 6] in rows
    assert ["Région", "Kayes", "H", "36+", "< 5"] in rows
    assert ["Langue", "Bamanankan", "F", "15-24", 6] in rows
    assert ["Canal", "sms", "F", "15-24", 6] in rows
    assert rows[-1][0] == "*"
    women_only = [row async for row in breakdown_rows(database, Audience(sexes=("f",)))]
    assert all(row[2] == "F" for row in women_only[:-1])
