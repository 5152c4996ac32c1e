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
from pathlib import Path

from gateway.cli.admin import actor, emit_json
from gateway.cli.runner import ErrorTable, fail, run_on_database
from gateway.settings import Settings
from storage import audit, organisation_list
from storage.database import Database
from storage.organisation_list import OrganisationFileError

COMMANDS = ("organisations",)
ERRORS: ErrorTable = ((OrganisationFileError, lambda e: (e.where, f"{e.field}: {e.message}")),)


async def import_file(database: Database, args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return fail("file", f"{path}: {error}")
    entries = organisation_list.parse_csv(text, str(path))
    async with database.transaction() as connection:
        listed = await organisation_list.list_entries(connection, entries)
        unlisted = (
            await organisation_list.unlist_others(connection, entries) if args.unlist_others else 0
        )
        details = {"file": path.name, "listed": listed, "unlisted": unlisted}
        await audit.record(connection, actor(), "organisations.list", None, details)
    print(
        f"{listed} organisations listed" + (f", {unlisted} taken off the list" if unlisted else "")
    )
    return 0


async def add(database: Database, args: argparse.Namespace) -> int:
    entry = organisation_list.parse_entry(args.name, args.kind, "name")
    async with database.transaction() as connection:
        await organisation_list.list_entries(connection, [entry])
        details = {"name": entry.name, "kind": entry.kind}
        await audit.record(connection, actor(), "organisations.list", None, details)
    print(f"listed: {entry.name}" + (f" ({entry.kind})" if entry.kind else ""))
    return 0


async def unlist(database: Database, args: argparse.Namespace) -> int:
    async with database.transaction() as connection:
        if not await organisation_list.set_listed(connection, args.name, False):
            return fail("name", f"no organisation named {args.name!r}")
        await audit.record(connection, actor(), "organisations.unlist", None, {"name": args.name})
    print(f"taken off the list: {args.name}")
    return 0


async def show(database: Database, args: argparse.Namespace) -> int:
    async with database.transaction() as connection:
        rows = await organisation_list.with_member_counts(connection)
    if args.json:
        emit_json(rows)
        return 0
    for row in rows:
        mark = "*" if row["listed"] else " "
        print(f"{mark} {row['members']:>6}  {row['kind'] or '-':<20} {row['name']}")
    print("(* listed: offered at registration)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "organisations", help="the coordination's list of organisations and their kinds"
    )
    actions = parser.add_subparsers(dest="organisations_command", required=True)
    command = actions.add_parser("import", help="list the organisations of a CSV file (nom,type)")
    command.add_argument("file", metavar="FILE")
    command.add_argument(
        "--unlist-others", action="store_true", help="take off the list those the file omits"
    )
    command.set_defaults(action=import_file)
    command = actions.add_parser("add", help="list one organisation")
    command.add_argument("name", metavar="NAME")
    command.add_argument("--kind", help=f"one of: {organisation_list.kinds_help()}")
    command.set_defaults(action=add)
    command = actions.add_parser("unlist", help="stop offering one at registration")
    command.add_argument("name", metavar="NAME")
    command.set_defaults(action=unlist)
    command = actions.add_parser("list", help="every organisation, with its member count")
    command.add_argument("--json", action="store_true", help="print JSON")
    command.set_defaults(action=show)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    return await run_on_database(settings, lambda database: args.action(database, args), ERRORS)
