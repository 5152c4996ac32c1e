"""`benkadi whatsapp templates sync|list`: the account's templates read through the twilio
SDK's Content API (from the fake Twilio) into the database."""

from __future__ import annotations

import json

import pytest

from gateway.fakes.twilio_api import FakeTwilioAPI
from gateway.settings import Settings
from storage import audit
from storage import whatsapp as store
from tests import cli

SID = "AC" + "2" * 32
TOKEN = "c" * 32


@pytest.fixture
async def twilio():
    async with FakeTwilioAPI(SID, TOKEN) as fake:
        yield fake


def settings_for(database, twilio: FakeTwilioAPI, token: str = TOKEN) -> Settings:
    return Settings.from_env(
        {
            "BENKADI_DATABASE_URL": database.url,
            "TWILIO_ACCOUNT_SID": SID,
            "TWILIO_AUTH_TOKEN": token,
            "TWILIO_FROM": "+22320000000",
            "TWILIO_API_URL": twilio.base_url,
            "TWILIO_CONTENT_URL": twilio.base_url,
        }
    )


async def templates(database) -> list[store.Template]:
    async with database.engine.connect() as connection:
        return await store.load_templates(connection)


async def test_sync_reads_name_language_variables_status_and_replaces_what_was_there(
    database, twilio, capsys
):
    fr = twilio.add_template("benkadi_alerte", "fr", "Alerte : {{1}}", {"1": "texte"})
    twilio.add_template("benkadi_alerte", "en", "Alert: {{1}}", {"1": "text"}, status="pending")
    settings = settings_for(database, twilio)
    assert await cli.run(settings, "whatsapp", "templates", "sync") == 0
    out = capsys.readouterr().out
    assert "2 template(s) read from Twilio, 1 approved" in out
    stored = await templates(database)
    assert [(t.name, t.language, t.status, t.variables, t.body) for t in stored] == [
        ("benkadi_alerte", "en", "pending", {"1": "text"}, "Alert: {{1}}"),
        ("benkadi_alerte", "fr", "approved", {"1": "texte"}, "Alerte : {{1}}"),
    ]
    assert [r["path"] for r in twilio.requests] == ["/v1/ContentAndApprovals"]

    # Approved since, one deleted at Twilio: the next sync says so.
    twilio.set_template_status(next(t.sid for t in stored if t.language == "en"), "approved")
    del twilio._contents[fr]
    assert await cli.run(settings, "whatsapp", "templates", "sync", "--json") == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["approved"] == 1 and [t["language"] for t in answer["templates"]] == ["en"]
    assert [(t.language, t.status) for t in await templates(database)] == [("en", "approved")]

    assert await cli.run(settings, "whatsapp", "templates", "list") == 0
    assert "benkadi_alerte" in capsys.readouterr().out
    [entry, *_] = await audit.entries(database, limit=1)
    assert entry["action"] == "whatsapp.templates.sync" and entry["details"]["templates"] == 1


async def test_bad_credentials_change_nothing_and_say_which_settings(database, twilio, capsys):
    twilio.add_template("t", "fr", "x")
    code = await cli.run(
        settings_for(database, twilio, token="d" * 32), "whatsapp", "templates", "sync"
    )
    err = capsys.readouterr().err
    assert code == 2 and "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN" in err
    assert "d" * 32 not in err
    assert await templates(database) == []


async def test_without_twilio_the_sync_says_what_to_set(database, capsys):
    settings = Settings.from_env({"BENKADI_DATABASE_URL": database.url})
    assert await cli.run(settings, "whatsapp", "templates", "sync") == 2
    assert "TWILIO_ACCOUNT_SID" in capsys.readouterr().err


async def test_broadcast_commands_name_templates_and_refuse_naming_the_language(
    database, twilio, capsys
):
    from storage.types import utcnow
    from tests.factories import add_member

    async with database.transaction() as connection:
        await add_member(connection, name="Binta", region="kayes", now=utcnow(), language="bm",
                         addresses=[("whatsapp", "+22376000002")], wrote_at=None)  # fmt: skip
    twilio.add_template("benkadi_alerte", "fr", "Benkadi : {{1}}", {"1": "x"})
    settings = settings_for(database, twilio)
    assert await cli.run(settings, "whatsapp", "templates", "sync") == 0
    capsys.readouterr()
    options = ("--text", "fr=Alerte", "--whatsapp-template", "fr=benkadi_alerte",
               "--whatsapp-variable", "1=text")  # fmt: skip
    assert await cli.run(settings, "broadcasts", "preview", *options) == 0
    out = capsys.readouterr().out
    assert "WhatsApp: 0 members inside the 24 h window (text), 1 member outside it" in out
    assert "bm: 1 member outside, no approved template" in out
    assert await cli.run(settings, "broadcasts", "create", *options, "--send") == 2
    assert "whatsapp.templates.bm" in capsys.readouterr().err
    code = await cli.run(
        settings, "broadcasts", "create", *options, "--outside-window", "next_channel",
        "--no-fallback", "--send", "--json",
    )  # fmt: skip
    assert code == 0
    made = json.loads(capsys.readouterr().out)
    assert made["fallback"] is False and made["whatsapp"]["outside_window"] == "next_channel"
