"""The CLI runner: every domain refusal is lines on stderr and exit code 2, nothing on stdout;
`benkadi: field: message`, or `FILE:LINE: field: message` for each bad line of a file."""

from __future__ import annotations

import argparse

import pytest

from bot.vocabulary.errors import Conflict, FieldError, FieldErrors, Invalid, NotFound
from gateway.cli import runner
from gateway.settings import Settings

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)


async def refused(error, capsys, **args) -> tuple[int, list[str]]:
    def offline(_args, _settings):
        raise error

    code = await runner.run(argparse.Namespace(offline=offline, **args), Settings.from_env({}))
    out, err = capsys.readouterr()
    assert out == ""
    return code, err.splitlines()


@pytest.mark.parametrize(
    ("error", "subject", "line"),
    [
        (FieldError("texts.fr", "is empty"), None, "benkadi: texts.fr: is empty"),
        (Invalid("nothing to do"), None, "benkadi: nothing to do"),
        (FieldError("type", "unknown kind 'ONG'", source="liste.csv", line=3), None,
         "liste.csv:3: type: unknown kind 'ONG'"),
        (FieldError("name", "is empty", source="poll.toml"), None, "poll.toml: name: is empty"),
        (NotFound("no token 99", field="id"), None, "benkadi: id: no token 99"),
        (NotFound("no broadcast 42"), "id", "benkadi: id: no broadcast 42"),
        (NotFound("no campaign 'noel'"), "name", "benkadi: name: no campaign 'noel'"),
        (Conflict("broadcast 3 is cancelled: cannot send it"), "id",
         "benkadi: status: broadcast 3 is cancelled: cannot send it"),
    ],
)  # fmt: skip
async def test_each_refusal_is_one_line_and_exit_2(error, subject, line, capsys):
    assert await refused(error, capsys, subject=subject) == (2, [line])


async def test_every_bad_line_of_a_file_is_its_own_line(capsys):
    error = FieldErrors(
        [
            FieldError("type", "unknown kind 'ong'", source="liste.csv", line=2),
            FieldError("nom", "is empty", source="liste.csv", line=5),
            FieldError("limit", "must be 1-500"),
        ]
    )
    assert await refused(error, capsys) == (
        2,
        [
            "liste.csv:2: type: unknown kind 'ong'",
            "liste.csv:5: nom: is empty",
            "benkadi: limit: must be 1-500",
        ],
    )


async def test_a_database_without_schema_is_refused_too(tmp_path, capsys):
    async def action(_database, _args, _settings):
        raise AssertionError("never run on an empty database")

    settings = Settings.from_env({"BENKADI_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"})
    code = await runner.run(argparse.Namespace(action=action), settings)
    err = capsys.readouterr().err
    assert (code, err) == (2, "benkadi: database: no schema yet; run `benkadi db upgrade` first\n")
