"""`benkadi members export`: the membership roster as CSV or XLSX, straight from the database.
`benkadi members import FILE [--dry-run]`: the national directory (XLSX or CSV) brought in.

benkadi members export --format xlsx --output membres.xlsx --region kayes --theme vbg
benkadi members export --format csv --table organisations -o organisations.csv

The same tables, filters and audit entry as GET /api/v1/members/export (gateway/exports); a
progress bar on stderr for large exports; --mask hides phone numbers as a viewer's export does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.directory import run_import
from bot.vocabulary.errors import FieldError
from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.common import actor, counted, emit_json
from gateway.cli.progress import RowCount
from gateway.exports.output import to_file
from gateway.exports.roster import FILTERS, TABLES, audience_from_query, roster_export
from gateway.secret import erasure_key
from gateway.sending.routes import sms_route_exists
from gateway.settings import Settings
from storage import roster
from storage.database import Database
from storage.tabular import BATCH_ROWS, FORMATS, Table
from storage.types import utcnow

BAR_FROM = 5000  # smaller exports finish before a bar would say anything


async def export(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    query = {name: getattr(args, name) or [] for name in FILTERS} | {"since": args.since}
    audience = await audience_from_query(database, query)
    format_ = args.format or (Path(args.output).suffix.lstrip(".") if args.output else "csv")
    if format_ not in FORMATS:
        raise FieldError("format", "must be csv or xlsx (or give --output with that suffix)")
    if format_ == "xlsx" and not args.output:
        raise FieldError("output", "XLSX is binary: give --output FILE")
    total = await roster.count_members(database, audience)
    shown = total >= BAR_FROM or args.progress
    count = RowCount(total, sys.stderr, "members", shown=shown)
    tables = await roster_export(database, actor(), format_, audience, args.mask, args.table)
    if args.table == "members":
        first = tables[0]
        tables[0] = Table(first.name, first.header, count.counting(first.rows, BATCH_ROWS))
    try:
        await to_file(args.output or "-", format_, tables)
    finally:
        count.close()
    where = f" to {args.output}" if args.output else ""
    what = (
        counted(count.done, "{n} member", "{n} members")
        if args.table == "members"
        else {"organisations": "organisations", "breakdown": "breakdown"}[args.table]
    )
    print(f"{what} exported{where}", file=sys.stderr)
    return 0


async def import_directory(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        raw = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise FieldError("file", f"{path}: {error.strerror or error}") from None
    summary = await run_import(
        database,
        raw,
        path.name,
        actor(),
        dry_run=args.dry_run,
        now=utcnow(),
        holder=settings.data_holder,
        erasure_key=erasure_key(settings),
        sms_route=await sms_route_exists(database, settings),
    )
    if args.json:
        emit_json(summary)
        return 0
    for problem in summary["problems"]:
        fate = "refused" if problem["refused"] else "imported without it"
        if problem.get("fate") == "not_invited":
            fate = "imported, not invited"
        print(f"{path}:{problem['line']}: {problem['field']}: {problem['message']} [{fate}]")
    if summary.get("encoding") not in (None, "utf-8"):
        print(f"{path}: read as {summary['encoding']}", file=sys.stderr)
    would = "would be " if args.dry_run else ""
    print(
        f"{summary['rows']} rows: {summary['created']} {would}created, "
        f"{summary['merged']} {would}merged, {summary['refused']} refused"
        + (f" ({summary['erased']} erased at their request)" if summary["erased"] else "")
        + "; "
        + counted(
            summary["organisations_created"],
            "{n} new organisation",
            "{n} new organisations",
        )
    )
    if summary["telegram_only"]:
        print(
            counted(
                summary["telegram_only"],
                "{n} person with only a Telegram username: not invited (they must open the bot)",
                "{n} people with only a Telegram username: not invited (they must open the bot)",
            )
        )
    if summary.get("unmatched_erasures"):
        print(
            f"warning: {summary['unmatched_erasures']} entries of the erasure list were made "
            "under another BENKADI_SECRET_KEY and match nobody now: restore that key",
            file=sys.stderr,
        )
    if args.dry_run:
        print("dry run: nothing was written")
    else:
        print(counted(summary["invited"], "{n} invitation queued", "{n} invitations queued"))
        if summary.get("invitations_waiting"):
            print(
                "no SMS route (no Twilio, no Android phone): the invitations wait in the "
                "outbox and go out once `benkadi gateways add` or Twilio gives one"
            )
    return 0


def add_export(command: argparse.ArgumentParser) -> None:
    add = command.add_argument
    add("--format", choices=sorted(FORMATS), help="default: from --output, or csv")
    add("-o", "--output", help="file to write (default: stdout, CSV only)")
    add("--table", choices=TABLES, default="members", help="CSV: which table")
    add("--mask", action="store_true", help="mask phone numbers and Telegram ids")
    add("--progress", action="store_true", help="a progress bar even when small")
    for name in FILTERS:
        add(
            "--" + name.replace("_", "-"),
            dest=name,
            action="append",
            metavar="NAME",
            help=f"only members with this {name.replace('_', ' ')}; repeat or comma-separate",
        )
    add("--since", metavar="YYYY-MM-DD", help="registered on or after this day")
    command.set_defaults(action=export)


def register(commands: Commands) -> None:
    """Add `members` and its verbs to the `benkadi` parser."""
    verbs = noun(commands, "members", "the membership roster")
    add_export(
        verbs.add_parser("export", help="members (or organisations) as CSV or XLSX, with details")
    )
    command = verbs.add_parser(
        "import",
        parents=[json_flag()],
        help="the directory (XLSX or CSV, one row per person): created, merged, refused",
    )
    command.add_argument("file", metavar="FILE")
    command.add_argument(
        "--dry-run", action="store_true", help="show what it would do; write nothing"
    )
    command.set_defaults(action=import_directory)
