"""The "partner" report export: shareable outside (no organisation, person, commune, day, free
text or photo; counts under 5 hidden), by the API and the CLI, audited with its profile."""

from __future__ import annotations

import csv
import io

from gateway.settings import Settings
from storage import audit
from tests import cli
from tests.reports.test_api_reports import call, h, seed

__all__ = ["h"]  # the fixture, used by name


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def test_partner_profile_leaves_out_who_and_what_was_said(h):
    status, body, _ = await call(
        h, "GET", "/reports/export?format=csv&profile=partner", "secretariat"
    )
    assert status == 200
    rows = _rows(body)
    assert rows[0] == ["mois", "type", "région", "femmes", "hommes", "filles", "garçons", "total"]
    text = body.decode("utf-8-sig")
    for private in ("Wildaf", "HYPERLINK", "Awa", "2026-11-0", "2026-10-1"):
        assert private not in text, private
    assert len(rows) == 1 + 4
    assert all(
        cell != "1" and cell != "2" and cell != "3" and cell != "4" for r in rows for cell in r
    )
    entries = [e for e in await audit.entries(h.database) if e["action"] == "reports.export"]
    assert entries[0]["details"]["profile"] == "partner"
    status, _, _ = await call(h, "GET", "/reports/export?profile=public", "secretariat")
    assert status == 400


async def test_cli_partner_export(database, tmp_path):
    await seed(database)
    settings = Settings.from_env({"BENKADI_DATABASE_URL": database.url})
    out = tmp_path / "partenaires.csv"
    code = await cli.run(
        settings, "reports", "export", "--format", "csv", "--profile", "partner", "-o", str(out)
    )
    assert code == 0
    text = out.read_text("utf-8-sig")
    assert "Wildaf" not in text and "HYPERLINK" not in text and "< 5" in text
