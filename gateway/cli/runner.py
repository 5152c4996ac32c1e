"""Running a command: on the migrated database when it needs one, and every domain refusal
(bot.vocabulary.errors) turned into lines on stderr and exit code 2, in one place.

    benkadi: field: message            the field (or option) that will not do
    FILE:LINE: field: message          where a file was the input (one line per bad line)

A refusal that names no field is about what the command named: a NotFound names its ID, NAME
or SLUG (`benkadi: id: no broadcast 42`), a Conflict the state (`benkadi: status: …`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.vocabulary.errors import Conflict, DomainError, FieldError, FieldErrors, NotFound
from gateway.settings import Settings
from storage.database import Database
from storage.migrate import current_revision

EXIT_REFUSED = 2


def refusal_lines(error: DomainError, subject: str | None = None) -> list[str]:
    found = error.errors if isinstance(error, FieldErrors) else (error,)
    lines = []
    for each in found:
        place = each.place if isinstance(each, FieldError) else ""
        field = each.field
        if not field and isinstance(each, NotFound):
            field = subject
        elif not field and isinstance(each, Conflict):
            field = "status"
        named = f"{field}: {each.message}" if field else each.message
        lines.append(f"{place}: {named}" if place else f"benkadi: {named}")
    return lines


def refuse(error: DomainError, subject: str | None = None) -> int:
    for line in refusal_lines(error, subject):
        print(line, file=sys.stderr)
    return EXIT_REFUSED


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """The verb the parser chose: `offline` as it is, `action` on the database."""
    try:
        offline = getattr(args, "offline", None)
        if offline is not None:
            return int(offline(args, settings))
        return await _on_database(args, settings)
    except DomainError as error:
        return refuse(error, getattr(args, "subject", None))
    except BrokenPipeError:  # `benkadi … | head`: the reader has all it wanted
        sys.stderr.close()
        return 0


async def _on_database(args: argparse.Namespace, settings: Settings) -> int:
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines would mix with ours
    database = Database(settings.database_url)
    try:
        if await current_revision(database.engine) is None:
            print(
                "benkadi: database: no schema yet; run `benkadi db upgrade` first", file=sys.stderr
            )
            return EXIT_REFUSED
        return int(await args.action(database, args, settings))
    finally:
        await database.dispose()
