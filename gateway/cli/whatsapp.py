"""`benkadi whatsapp templates sync|list`: the WhatsApp templates of the Twilio account, read
with the Content API into the database, where broadcasts name them per language."""

from __future__ import annotations

import argparse
from typing import Any

from bot.vocabulary.errors import Invalid
from gateway.channels.twilio_content import fetch_templates
from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.common import actor, answer
from gateway.cli.tables import Column, print_rows
from gateway.settings import Settings
from storage import audit
from storage import whatsapp as store
from storage.database import Database
from storage.types import utcnow

COLUMNS = (
    Column("name", 28),
    Column("language", 8),
    Column("status", 11),
    Column("variables", 9, right=True),
    Column("sid"),
)


def _rows(templates: list[store.Template]) -> list[dict[str, Any]]:
    return [
        {
            "sid": t.sid,
            "name": t.name,
            "language": t.language,
            "status": t.status,
            "variables": t.variables,
            "body": t.body,
        }
        for t in templates
    ]


def _cells(row: dict[str, Any]) -> tuple[object, ...]:
    return (row["name"], row["language"], row["status"], len(row["variables"]), row["sid"])


async def sync(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    if not (settings.twilio_account_sid and settings.twilio_auth_token):
        raise Invalid("Twilio is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    found = await fetch_templates(
        settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_content_url
    )
    async with database.transaction() as connection:
        await store.replace_templates(connection, found, utcnow())
        approved = sum(t.approved for t in found)
        await audit.record(
            connection,
            actor(),
            "whatsapp.templates.sync",
            "whatsapp:templates",
            {"templates": len(found), "approved": approved},
        )
    rows = _rows(found)
    lines = [f"{len(found)} template(s) read from Twilio, {approved} approved for WhatsApp."]
    lines += [f"  {r['name']} ({r['language']}): {r['status']}" for r in rows]
    return answer(args.json, {"templates": rows, "approved": approved}, lines)


async def list_templates(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.engine.connect() as connection:
        templates = await store.load_templates(connection)
    return print_rows(
        _rows(templates),
        args.json,
        COLUMNS,
        _cells,
        empty="No templates. Read them from Twilio: benkadi whatsapp templates sync",
    )


def register(commands: Commands) -> None:
    """Add `whatsapp templates sync|list` to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "whatsapp", "WhatsApp through Twilio: its templates")
    templates = verbs.add_parser("templates", help="the account's templates: sync, list")
    actions = templates.add_subparsers(dest="templates_verb", required=True, metavar="VERB")
    command = actions.add_parser(
        "sync", parents=[as_json], help="read the templates and their approval from Twilio"
    )
    command.set_defaults(action=sync)
    command = actions.add_parser("list", parents=[as_json], help="the templates as last synced")
    command.set_defaults(action=list_templates)
