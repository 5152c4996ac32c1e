"""What a newcomer met in the CLI (issue 15): errors naming the option typed, plurals, a
summary with its header, `--send --wait` ending on "sent", an Excel CSV read as it is."""

from __future__ import annotations

import asyncio
import json
import logging
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import update

from gateway.cli import accounts as accounts_cli
from gateway.cli import main
from gateway.cli import reports as reports_cli
from gateway.settings import Settings
from storage.migrate import alembic_config
from storage.models import OutboxMessage
from storage.organisation_list import parse_csv
from tests import cli
from tests.factories import add_report
from tests.gateway.test_api import add_members

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def benkadi(sqlite_database, capsys):
    settings = Settings.from_env({"BENKADI_DATABASE_URL": sqlite_database.url})

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_an_unknown_kind_names_the_option_typed(benkadi):
    code, _, err = await benkadi("organisations", "add", "X", "--kind", "bidule")
    assert code == 2 and err.startswith("benkadi: kind: unknown kind 'bidule'")


async def test_one_organisation_listed_is_singular(benkadi, tmp_path):
    one = tmp_path / "une.csv"
    one.write_text("nom,type\nAMSS,association\n", "utf-8")
    code, out, _ = await benkadi("organisations", "import", str(one))
    assert (code, out.strip()) == (0, "1 organisation listed")


async def test_an_excel_csv_in_windows_1252_is_read_and_the_way_to_save_it_said(benkadi, tmp_path):
    latin = tmp_path / "excel.csv"
    latin.write_bytes("nom;type\nONG Kènèya;ONG nationale\nAMSS;association\n".encode("cp1252"))
    code, out, err = await benkadi("organisations", "import", str(latin))
    assert code == 0 and "2 organisations listed" in out and "CSV UTF-8" in err
    code, out, _ = await benkadi("organisations", "list")
    assert "ONG Kènèya" in out
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes("nom,type\nAMSS,association\n".encode("utf-16"))
    code, _, err = await benkadi("organisations", "import", str(utf16))
    assert code == 2 and 'save it as "CSV UTF-8' in err and "codec" not in err


async def test_unknown_columns_are_refused_by_name_with_every_bad_line(benkadi, tmp_path):
    bad = tmp_path / "liste.csv"
    bad.write_text(
        "nom,type,ville,téléphone\nAMSS,association,Kita,\n ,reseau,,\nX,club,,\n", "utf-8"
    )
    code, _, err = await benkadi("organisations", "import", str(bad))
    lines = err.splitlines()
    assert code == 2 and len(lines) == 3
    assert (
        lines[0]
        == f"{bad}:1: header: unknown column 'ville', 'telephone': the columns are nom and type"
    )
    assert lines[1] == f"{bad}:3: nom: is empty" and lines[2].startswith(
        f"{bad}:4: type: unknown kind"
    )


def test_a_file_of_only_known_columns_is_read():
    assert [e.name for e in parse_csv("Nom;Type\nAMSS;association\n", "f.csv")] == ["AMSS"]


async def test_the_summary_has_a_header_row(benkadi, sqlite_database):
    now = datetime.now(UTC)
    async with sqlite_database.transaction() as connection:
        await add_report(
            connection, organisation="AMSS", region="kayes", activity="formation",
            day=date(2026, 11, 12), counts=(25, 10, 5, 3), now=now,
        )  # fmt: skip
    _code, out, _ = await benkadi("reports", "summary")
    header, row = out.splitlines()
    assert header.split() == [column.header for column in reports_cli.SUMMARY_COLUMNS]
    assert header.split()[:3] == ["region", "type", "month"]
    assert row.split()[-5:] == ["25", "10", "5", "3", "43"]


async def test_send_and_wait_ends_on_sent_and_says_the_count_once(benkadi, sqlite_database):
    await add_members(sqlite_database)  # two members reached

    async def deliver() -> None:  # a dispatcher's work, done by hand
        for _ in range(100):
            async with sqlite_database.transaction() as connection:
                await connection.execute(
                    update(OutboxMessage.__table__)
                    .where(OutboxMessage.__table__.c.status == "queued")
                    .values(status="delivered")
                )
            await asyncio.sleep(0.05)

    delivering = asyncio.create_task(deliver())
    try:
        code, out, _ = await benkadi(
            "broadcasts", "create", "--text=fr=Réunion jeudi.", "--send", "--wait"
        )
    finally:
        delivering.cancel()
    lines = out.splitlines()
    assert code == 0 and lines[0].endswith(": 2 messages queued.")
    assert ": sent" in lines[1] and "queued now" not in out


async def test_one_message_queued_is_singular(benkadi, sqlite_database):
    await add_members(sqlite_database)
    code, out, _ = await benkadi(
        "broadcasts", "create", "--text=fr=Réunion jeudi.", "--region", "sikasso", "--send"
    )
    assert code == 0 and "1 message queued now." in out


def test_admin_help_lists_todays_verbs_with_their_help(capsys):
    with pytest.raises(SystemExit):
        cli.parse("admin", "--help")
    out = capsys.readouterr().out
    assert "list      every token, never its secret" in out


async def test_db_commands_print_no_alembic_info_lines(sqlite_database, monkeypatch, capsys):
    settings = Settings.from_env({"BENKADI_DATABASE_URL": sqlite_database.url})
    logging.getLogger("alembic").setLevel(logging.INFO)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(handler)
    try:
        assert await main._db(settings, "upgrade") == 0
        assert await main._db(settings, "current") == 0
    finally:
        logging.getLogger().removeHandler(handler)
    assert not [r for r in records if r.name.startswith("alembic")]
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert capsys.readouterr().out.splitlines() == [f"database at revision {head}"] * 2


def test_a_short_password_is_refused_before_it_is_asked_again(monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(
        accounts_cli.getpass, "getpass", lambda prompt: asked.append(prompt) or "court"
    )
    args = type("Args", (), {"password_stdin": False})()
    with pytest.raises(Exception, match="10-200 characters"):
        accounts_cli.read_password(args)
    assert asked == ["Password: "]


def test_the_license_is_an_spdx_string_setuptools_takes_without_warning():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["license"] == "AGPL-3.0-or-later"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_the_readme_says_how_to_put_benkadi_on_the_path():
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## The `benkadi` command", 1)[1].split("\n## ", 1)[0]
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in section


def test_json_output_is_unchanged_by_plurals(capsys):
    from gateway.cli.broadcast_text import status_text

    lines = status_text({"id": 1, "status": "sending", "queued": 1, "cancelled": 2})
    assert "1 message queued now." in lines and "2 queued messages cancelled." in lines
    json.dumps(lines)


def test_setup_silences_setuptools_editable_warning_only():
    """The one install line of scripts/setup filters setuptools' "Editable installation" warning
    (nothing for a newcomer to do) and nothing else."""
    setup = (ROOT / "scripts" / "setup").read_text("utf-8")
    [install] = [line for line in setup.splitlines() if "pip install" in line and "-e" in line]
    assert install.strip().startswith('PYTHONWARNINGS="ignore:Editable installation" ')
