"""`benkadi organisations …`: the coordination's list, offered at registration and targeted by
kind in broadcasts.

    benkadi organisations import liste.csv [--unlist-others]   # columns nom,type
    benkadi organisations add "ONG Kènèya" --kind ong_nationale
    benkadi organisations unlist "ONG Kènèya"
    benkadi organisations list [--json]
    benkadi organisations show AFEM [--json]        # its record, contact people and roles
    benkadi organisations set AFEM --region kayes --theme vbg --focal 12 [--inactive]
    benkadi organisations duplicates                # names that are the same letters
    benkadi organisations merge AFEM "A.F.E.M." …   # members and reports move to the first
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
from storage import audit, organisation_list, organisation_records
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


async def show_record(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.transaction() as connection:
        found = await organisation_records.record(connection, args.name)
    if args.json:
        emit_json(found)
        return 0
    print(f"{found['name']} (n° {found['id']}){'' if found['active'] else ' — inactive'}")
    for label, key in (("kind", "kind"), ("region", "region"), ("cercle", "cercle")):
        print(f"  {label}: {found[key] or '-'}")
    print(f"  themes: {', '.join(found['themes']) or '-'}")
    if found["also_named"]:
        print(f"  also written: {', '.join(found['also_named'])}")
    for person in found["contacts"]:
        focal = " [focal point]" if person["focal_point"] else ""
        joined = "" if person["joined"] else " (not joined)"
        print(
            f"  - n° {person['member_id']} {person['name']}: {person['role'] or '-'}{focal}{joined}"
        )
    return 0


async def set_fields(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    changes: dict = {}
    for name in ("kind", "region", "cercle"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.theme is not None:
        changes["themes"] = [t.strip() for item in args.theme for t in item.split(",") if t.strip()]
    if args.active is not None:
        changes["active"] = args.active
    if args.focal is not None:
        changes["focal_member_id"] = args.focal
    if not changes:
        raise FieldError("options", "nothing to change: give --kind, --region, --cercle, …")
    async with database.transaction() as connection:
        organisation_id = await organisation_records.change(connection, args.name, changes)
        await audit.record(
            connection, actor(), "organisations.change", str(organisation_id), changes
        )
    print(f"changed: {args.name} ({', '.join(sorted(changes))})")
    return 0


async def merge(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.transaction() as connection:
        done = await organisation_records.merge(connection, args.keep, args.duplicates)
        await audit.record(connection, actor(), "organisations.merge", done["kept"], done)
    print(
        f"merged into {done['kept']}: {', '.join(done['merged'])} "
        f"({counted(done['members_moved'], '{n} member', '{n} members')} and "
        f"{counted(done['reports_moved'], '{n} report', '{n} reports')} moved)"
    )
    return 0


async def duplicates(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    async with database.transaction() as connection:
        groups = await organisation_records.likely_duplicates(connection)
    if args.json:
        emit_json(groups)
        return 0
    for names in groups:
        print(" = ".join(names))
    if not groups:
        print("no likely duplicates")
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
    command = verbs.add_parser(
        "show", parents=[json_flag()], help="one organisation: record, contacts, roles"
    )
    command.add_argument("name", metavar="NAME")
    command.set_defaults(action=show_record)
    command = verbs.add_parser("set", help="change an organisation's record")
    command.add_argument("name", metavar="NAME")
    command.add_argument("--kind", help=f"one of: {organisation_list.kinds_help()}")
    command.add_argument("--region", help="a region key (kayes, mopti…)")
    command.add_argument("--cercle", help="its cercle or commune")
    command.add_argument("--theme", action="append", help="a theme key; repeat or comma-separate")
    command.add_argument("--focal", type=int, metavar="MEMBER", help="the focal point's n°")
    command.add_argument("--active", dest="active", action="store_true", default=None)
    command.add_argument("--inactive", dest="active", action="store_false")
    command.set_defaults(action=set_fields)
    command = verbs.add_parser(
        "duplicates", parents=[json_flag()], help="names that look like one organisation"
    )
    command.set_defaults(action=duplicates)
    command = verbs.add_parser("merge", help="merge duplicates into the first organisation")
    command.add_argument("keep", metavar="KEEP")
    command.add_argument("duplicates", metavar="DUPLICATE", nargs="+")
    command.set_defaults(action=merge)
