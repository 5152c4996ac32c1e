"""`benkadi organisations …`: the coordination's list, offered at registration and targeted by
kind in broadcasts.

    benkadi organisations import liste.csv [--unlist-others]   # columns nom,type
    benkadi organisations add "ONG Kènèya" --kind ong_nationale
    benkadi organisations unlist "ONG Kènèya"
    benkadi organisations list [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.vocabulary.errors import FieldError, NotFound
from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.common import actor, counted, emit_json
from gateway.cli.tables import Column, print_table
from gateway.settings import Settings
from storage import audit, organisation_list
from storage.database import Database

COLUMNS = (
    Column("listed", 1),
    Column("members", 6, right=True),
    Column("kind", 20),
    Column("name"),
)


async def import_file(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise FieldError("file", f"{path}: {error.strerror or error}") from None
    text, encoding = organisation_list.decode_csv(raw, str(path))
    entries = organisation_list.parse_csv(text, str(path))  # every bad line, or all of them
    if encoding != "utf-8":
        print(
            f"{path}: read as Windows-1252 (Excel's plain CSV); "
            'saving it as "CSV UTF-8" in Excel avoids any doubt',
            file=sys.stderr,
        )
    async with database.transaction() as connection:
        listed = await organisation_list.list_entries(connection, entries)
        unlisted = (
            await organisation_list.unlist_others(connection, entries) if args.unlist_others else 0
        )
        details = {"file": path.name, "listed": listed, "unlisted": unlisted}
        await audit.record(connection, actor(), "organisations.list", None, details)
    taken_off = f", {unlisted} taken off the list" if unlisted else ""
    print(counted(listed, "{n} organisation listed", "{n} organisations listed") + taken_off)
    return 0


async def add(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    # Errors name the options typed here (--kind), not the CSV file's columns (type).
    entry = organisation_list.parse_entry(args.name, args.kind, fields=("name", "kind"))
    async with database.transaction() as connection:
        await organisation_list.list_entries(connection, [entry])
        details = {"name": entry.name, "kind": entry.kind}
        await audit.record(connection, actor(), "organisations.list", None, details)
    print(f"listed: {entry.name}" + (f" ({entry.kind})" if entry.kind else ""))
    return 0


async def unlist(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.transaction() as connection:
        if not await organisation_list.set_listed(connection, args.name, False):
            raise NotFound(f"no organisation named {args.name!r}", field="name")
        await audit.record(connection, actor(), "organisations.unlist", None, {"name": args.name})
    print(f"taken off the list: {args.name}")
    return 0


async def show(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.transaction() as connection:
        rows = await organisation_list.with_member_counts(connection)
    if args.json:
        emit_json(rows)
        return 0
    print_table(
        COLUMNS,
        [
            ("*" if row["listed"] else " ", row["members"], row["kind"] or "-", row["name"])
            for row in rows
        ],
    )
    print("(* listed: offered at registration)")
    return 0


def register(commands: Commands) -> None:
    """Add `organisations` and its verbs to the `benkadi` parser."""
    verbs = noun(
        commands, "organisations", "the coordination's list of organisations and their kinds"
    )
    command = verbs.add_parser("import", help="list the organisations of a CSV file (nom,type)")
    command.add_argument("file", metavar="FILE")
    command.add_argument(
        "--unlist-others", action="store_true", help="take off the list those the file omits"
    )
    command.set_defaults(action=import_file)
    command = verbs.add_parser("add", help="list one organisation")
    command.add_argument("name", metavar="NAME")
    command.add_argument("--kind", help=f"one of: {organisation_list.kinds_help()}")
    command.set_defaults(action=add)
    command = verbs.add_parser("unlist", help="stop offering one at registration")
    command.add_argument("name", metavar="NAME")
    command.set_defaults(action=unlist)
    command = verbs.add_parser(
        "list", parents=[json_flag()], help="every organisation, with its member count"
    )
    command.set_defaults(action=show)
