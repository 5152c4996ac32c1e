"""`benkadi tokens …` and `benkadi broadcasts …` on a real SQLite database, and the old
spellings (`admin create-token`, `broadcast …`) that scripts may still use.

Most tests run the commands in this process (fast); the last ones run `python -m gateway.cli`
as a subprocess, as an operator would.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gateway.cli import progress
from gateway.settings import Settings
from storage import audit
from storage.models import Broadcast
from storage.tokens import authenticate
from tests import cli
from tests.gateway.test_api import add_members

ROOT = Path(__file__).resolve().parents[2]
TEXT = "--text=fr=Réunion de la coordination jeudi à 9h."


@pytest.fixture
def benkadi(sqlite_database, capsys):
    """Run a command in this process; returns (exit code, stdout, stderr)."""
    settings = Settings.from_env({"BENKADI_DATABASE_URL": sqlite_database.url})

    async def run(*argv: str) -> tuple[int, str, str]:
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def broadcast_count(database) -> int:
    async with database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(Broadcast))


async def test_tokens(benkadi, sqlite_database):
    code, out, err = await benkadi("tokens", "create", "--name", "Aminata", "--role", "admin")
    assert code == 0 and "not shown again" in err
    [token] = [word for word in out.split() if word.startswith("bk_")]
    assert (await authenticate(sqlite_database, token)).role == "admin"

    code, out, _ = await benkadi("tokens", "list")
    assert "Aminata" in out and "admin" in out and token not in out
    code, out, _ = await benkadi("tokens", "list", "--json")
    [row] = json.loads(out)
    assert (row["name"], row["revoked_at"]) == ("Aminata", None) and "token_hash" not in row

    assert (await benkadi("tokens", "revoke", str(row["id"])))[0] == 0
    assert await authenticate(sqlite_database, token) is None
    code, _, err = await benkadi("tokens", "revoke", "99")
    assert (code, err.strip()) == (2, "benkadi: id: no token 99")
    code, _, err = await benkadi("tokens", "create", "--name", " ", "--role", "viewer")
    assert code == 2 and err.startswith("benkadi: name: ")
    actions = [(e["action"], e["actor"]) for e in await audit.entries(sqlite_database)]
    assert [action for action, _ in actions] == ["token.revoke", "token.create"]
    assert all(actor.startswith("cli:") for _, actor in actions)


def test_unknown_role_is_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.parse("tokens", "create", "--name", "x", "--role", "root")
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


async def test_preview_counts_every_channel_without_credentials(benkadi, sqlite_database):
    await add_members(sqlite_database)
    code, out, _ = await benkadi("broadcasts", "preview", TEXT, "--text", "bm=Ɲɔgɔnye")
    assert code == 0
    assert "Note: no channel has credentials" in out
    assert "Reached: 2 members (telegram 1, sms 1)" in out
    assert "Left out: 1 (no consent 1)" in out
    code, out, _ = await benkadi("broadcasts", "preview", TEXT, "--region", "kayes", "--json")
    result = json.loads(out)
    assert result["recipients"] == 1 and result["note"]
    assert await broadcast_count(sqlite_database) == 0


async def test_bad_drafts_exit_2_naming_the_field(benkadi, sqlite_database, tmp_path):
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M")
    cases = [
        ([TEXT, "--region", "atlantis"], "audience.regions: unknown: atlantis"),
        ([TEXT, "--theme", "vbg,football"], "audience.themes: unknown: football"),
        ([TEXT, "--organisation", "ONG Inconnue"], "audience.organisations: unknown"),
        (["--text", "fr=  "], "texts.fr: is empty"),
        (["--text", "fr=" + "x" * 1601], "texts.fr: is 1601 characters"),
        (["--region", "kayes"], "texts.fr: is required"),
        (["--text", "bonjour"], "texts: --text takes LANG=VALUE"),
        ([f"--text-file=fr={tmp_path / 'none.txt'}"], "texts.fr: cannot read"),
        ([TEXT, "--at", past], "send_at: is in the past"),
        ([TEXT, "--since", "yesterday"], "audience.registered_since: must be a date"),
        ([TEXT, "--at", "2999-01-01 08:00", "--send"], "send: "),
        ([TEXT, "--wait"], "wait: --wait needs --send"),
    ]
    for options, message in cases:
        code, out, err = await benkadi("broadcasts", "create", *options)
        assert code == 2 and err.startswith(f"benkadi: {message}"), (options, err)
        assert out == ""
    assert await broadcast_count(sqlite_database) == 0


async def test_create_send_status_cancel(benkadi, sqlite_database, tmp_path):
    await add_members(sqlite_database)
    bambara = tmp_path / "bm.txt"
    bambara.write_text("Ɲɔgɔnye bɛ kɛ alamisadon.", "utf-8")
    code, out, _ = await benkadi(
        "broadcasts", "create", TEXT, f"--text-file=bm={bambara}", "--theme", "vbg",
        "--title", "Réunion", "--send", "--json",
    )  # fmt: skip
    assert code == 0
    sent = json.loads(out)
    assert (sent["status"], sent["queued"], sent["recipients"]) == ("sending", 2, 2)
    assert sent["texts"]["bm"] == "Ɲɔgɔnye bɛ kɛ alamisadon."
    assert sent["counts"] == {"sms": {"queued": 1}, "telegram": {"queued": 1}}  # no dispatcher

    code, out, _ = await benkadi("broadcasts", "status", str(sent["id"]))
    assert f"Broadcast {sent['id']} «Réunion»: sending" in out and "telegram  queued 1" in out

    code, out, _ = await benkadi("broadcasts", "create", TEXT, "--at", "2999-11-25 08:00")
    assert code == 0 and ": scheduled" in out and "to send at 2999-11-25 08:00 UTC" in out
    scheduled = int(out.split()[1].rstrip(":"))
    code, out, _ = await benkadi("broadcasts", "cancel", str(scheduled), "--json")
    assert (json.loads(out)["status"], json.loads(out)["cancelled"]) == ("cancelled", 0)
    code, _, err = await benkadi("broadcasts", "send", str(scheduled))
    assert code == 2 and err.startswith("benkadi: status: ") and "cancelled" in err
    code, out, _ = await benkadi("broadcasts", "cancel", str(sent["id"]), "--json")
    assert json.loads(out)["cancelled"] == 2
    code, _, err = await benkadi("broadcasts", "status", "42")
    assert (code, err.strip()) == (2, "benkadi: id: no broadcast 42")

    code, out, _ = await benkadi("broadcasts", "list")
    assert [line.split()[:2] for line in out.splitlines()] == [
        [str(scheduled), "cancelled"],
        [str(sent["id"]), "cancelled"],
    ]
    entries = await audit.entries(sqlite_database)
    assert [e["action"] for e in entries] == [
        "broadcast.cancel", "broadcast.cancel", "broadcast.create",
        "broadcast.send", "broadcast.create",
    ]  # fmt: skip


async def test_progress_follows_until_nothing_is_queued():
    statuses = iter(
        [
            {"recipients": 4, "totals": {"queued": 4}},
            {"recipients": 4, "totals": {"queued": 2, "sent": 2}},
            {"recipients": 4, "totals": {"sent": 2, "delivered": 1, "failed": 1}},
        ]
    )

    async def fetch():
        return next(statuses)

    stream = io.StringIO()
    final = await progress.follow(fetch, stream=stream, interval=0.01)
    assert final["totals"]["failed"] == 1
    lines = stream.getvalue().splitlines()  # not a terminal: plain lines, one per change
    assert [line.split()[0] for line in lines] == ["0/4", "2/4", "4/4"]
    assert lines[-1] == "4/4  sent 2 · delivered 1 · failed 1"


# --- as an operator runs it ----------------------------------------------------------------
def run_cli(url: str, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BENKADI_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_commands_as_subprocesses(tmp_path):
    url = f"sqlite:///{tmp_path / 'benkadi.db'}"
    assert run_cli(url, "db", "upgrade").returncode == 0
    done = run_cli(url, "tokens", "create", "--name", "secretariat", "--role", "secretariat")
    assert done.returncode == 0 and "bk_" in done.stdout and "not shown again" in done.stderr
    done = run_cli(url, "broadcasts", "create", TEXT, "--region", "atlantis")
    assert done.returncode == 2 and done.stderr.startswith("benkadi: audience.regions: unknown")
    done = run_cli(url, "admin", "list-tokens")  # the old spelling, as a script may still have it
    assert (done.returncode, done.stderr) == (0, "") and "secretariat" in done.stdout


# --- the old spellings ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["admin", "create-token", "--name", "A", "--role", "viewer", "--json"],
         ["tokens", "create", "--name", "A", "--role", "viewer", "--json"]),
        (["admin", "list-tokens"], ["tokens", "list"]),
        (["admin", "revoke-token", "7"], ["tokens", "revoke", "7"]),
        (["broadcast", "status", "7", "--wait"], ["broadcasts", "status", "7", "--wait"]),
        (["broadcast", "create", TEXT, "--region", "kayes"],
         ["broadcasts", "create", TEXT, "--region", "kayes"]),
        (["export", "roster", "-o", "m.xlsx", "--mask"], ["members", "export", "-o", "m.xlsx", "--mask"]),
    ],
)  # fmt: skip
def test_an_old_spelling_is_the_same_command(old, new):
    assert cli.parse(*old) == cli.parse(*new)


def test_old_spellings_are_in_no_help(capsys):
    with pytest.raises(SystemExit):
        cli.parse("--help")
    listing = capsys.readouterr().out
    assert "tokens" in listing and "members" in listing
    for old in ("admin", "broadcast ", "export"):
        assert old not in listing


def test_every_verb_has_a_line_of_help():
    parser = cli.main.parser()
    missing = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helped = {choice.dest for choice in action._choices_actions}
                for name, sub in action.choices.items():
                    if name not in helped:
                        missing.append(" ".join([*path, name]))
                    walk(sub, [*path, name])

    walk(parser, ["benkadi"])
    assert missing == []
