"""`benkadi campaigns …` on a real SQLite database, in this process; and once as a subprocess,
as an operator would run it (which also shows that gateway/cli.py registers the commands)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from broadcasts.campaigns.files import CAMPAIGNS_DIR
from gateway.settings import Settings
from storage import audit
from tests import cli
from tests.campaigns.conftest import SHIPPED, SMALL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def benkadi(sqlite_database, capsys):
    """Run a command in this process on the shipped calendar; returns (code, stdout, stderr)."""

    async def run(*argv: str, directory: Path = CAMPAIGNS_DIR) -> tuple[int, str, str]:
        settings = Settings.from_env(
            {"BENKADI_DATABASE_URL": sqlite_database.url, "BENKADI_CAMPAIGNS_DIR": str(directory)}
        )
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_validate_the_shipped_calendar(benkadi):
    code, out, err = await benkadi("campaigns", "validate")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == len(SHIPPED) and all(
        line.startswith("ok  ") for line in out.splitlines()
    )
    assert "16-jours, 16 messages a year" in out


async def test_validate_names_the_file_and_line_of_an_error(benkadi, tmp_path):
    good, broken = tmp_path / "essai.toml", tmp_path / "casse.toml"
    good.write_text(SMALL, "utf-8")
    broken.write_text(SMALL.replace('name = "essai"', 'name = "casse"').replace(
        'en = "8 March is coming."', 'en = 8'
    ), "utf-8")  # fmt: skip
    code, out, err = await benkadi("campaigns", "validate", str(good), str(broken))
    assert code == 1
    assert out == f"ok  {good}: essai, 5 messages a year\n"
    assert err == f"{broken}:18: messages[1].texts.en: must be some text\n"
    code, out, _ = await benkadi("campaigns", "validate", "--json", directory=tmp_path)
    assert code == 1
    assert json.loads(out)[0]["error"] == {
        "file": str(broken),  # outside the working directory: shown whole
        "line": 18,
        "field": "messages[1].texts.en",
        "message": "must be some text",
    }


NOT_APPROVED = (
    "Its texts for 2026 are not approved yet: nothing goes out until they are "
    "(benkadi campaigns approve 16-jours --year 2026, or in the console).\n"
)


async def test_list_enable_show_disable(benkadi, sqlite_database):
    code, out, _ = await benkadi("campaigns", "list", "--year", "2026")
    assert code == 0 and "(2026)" in out
    for name in SHIPPED:
        assert f"  {name} " in out
    assert "16-jours                    disabled  16 messages  2026-11-25 → 2026-12-10" in out

    code, out, _ = await benkadi("campaigns", "enable", "16-jours", "--year", "2026")
    assert (code, out) == (0, "Campaign 16-jours is enabled for 2026.\n" + NOT_APPROVED)
    code, out, _ = await benkadi("campaigns", "show", "16-jours", "--year", "2026")
    assert "  2026: enabled; texts not approved, nothing goes out (benkadi campaigns approve" in out
    code, out, _ = await benkadi("campaigns", "approve", "16-jours", "--year", "2026")
    assert (code, out) == (0, "Campaign 16-jours: the texts for 2026 are approved.\n")
    code, out, _ = await benkadi("campaigns", "enable", "16-jours", "--year", "2026")
    assert out == "Campaign 16-jours is enabled for 2026 (it already was).\n"  # approved: no note

    code, out, _ = await benkadi("campaigns", "show", "16-jours", "--year", "2026")
    assert code == 0
    assert "  2026: enabled; texts approved by cli:" in out
    assert "2026-11-25 09:00  jour-01" in out and "2026-12-10 09:00  jour-16" in out
    assert "  bm  2 SMS (GSM-7 in the GSM-friendly spelling" in out
    code, out, _ = await benkadi("campaigns", "show", "16-jours", "--year", "2026", "--json")
    shown = json.loads(out)
    assert len(shown["messages"]) == 16 and shown["enabled"] is True
    assert shown["approved_by"].startswith("cli:") and shown["approved_at"]
    assert all(
        text["sms"]["segments"] <= 2 for m in shown["messages"] for text in m["texts"].values()
    )

    code, out, _ = await benkadi("campaigns", "disable", "16-jours", "--year", "2026", "--json")
    assert json.loads(out) == {"campaign": "16-jours", "year": 2026, "enabled": False, "was": True}
    actions = [
        (e["action"], e["target"], e["details"]) for e in await audit.entries(sqlite_database)
    ]
    assert actions == [
        ("campaign.disable", "campaign:16-jours", {"year": 2026, "was": True}),
        ("campaign.enable", "campaign:16-jours", {"year": 2026, "was": True}),
        ("campaign.approve", "campaign:16-jours:2026", {}),
        ("campaign.enable", "campaign:16-jours", {"year": 2026, "was": False}),
    ]
    assert all(e["actor"].startswith("cli:") for e in await audit.entries(sqlite_database))


async def test_unknown_campaign_and_bad_year(benkadi, capsys):
    code, _, err = await benkadi("campaigns", "enable", "noel", "--year", "2026")
    assert code == 2 and err.startswith("benkadi: name: no campaign 'noel' (known: 16-jours, ")
    with pytest.raises(SystemExit):
        cli.parse("campaigns", "enable", "8-mars", "--year", "26")
    assert "must be a year" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse("campaigns", "disable", "8-mars")  # the year is required to change anything


def test_the_benkadi_command_validates_as_a_subprocess(tmp_path):
    broken = tmp_path / "essai.toml"
    broken.write_text(SMALL.replace('date = "03-08"\ntexts', 'date = "03-32"\ntexts'), "utf-8")
    env = {**os.environ, "BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "campaigns", "validate", str(broken)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"{broken}:22: messages[2].date: there is no day 03-32"


async def test_export_writes_the_file_with_the_year_as_edited(benkadi, sqlite_database, tmp_path):
    from datetime import UTC, datetime

    from broadcasts.campaigns import schedule, year_editor
    from broadcasts.campaigns.calendar import parse_campaign
    from broadcasts.campaigns.files import load_directory

    directory = tmp_path / "campaigns"
    directory.mkdir()
    (directory / "essai.toml").write_text(SMALL, "utf-8")
    cal = load_directory(directory)
    now = datetime(2027, 1, 10, tzinfo=UTC)
    await year_editor.move(sqlite_database, cal, "essai", 2027, "jour", "2027-03-10", "awa", now)
    code, out, err = await benkadi("campaigns", "export", "essai", "--year", "2027",
                                   directory=directory)  # fmt: skip
    assert (code, err) == (0, "")
    loaded = parse_campaign(out, "essai.toml", stem="essai")
    assert [s.day.isoformat() for s in schedule.schedule(loaded, 2027) if s.key == "jour"] == [
        "2027-03-10"
    ]
    target = tmp_path / "essai.toml"
    code, out, err = await benkadi("campaigns", "export", "essai", "--year", "2027",
                                   "--output", str(target), directory=directory)  # fmt: skip
    assert code == 0 and out == "" and "written to" in err
    assert parse_campaign(target.read_text("utf-8"), "essai.toml", stem="essai").name == "essai"
