"""`benkadi members export`: the membership roster as CSV or XLSX, straight from the database.

benkadi members export --format xlsx --output membres.xlsx --region kayes --theme vbg
benkadi members export --format csv --table organisations -o organisations.csv

The same tables, filters and audit entry as GET /api/v1/members/export (gateway/exports); a
progress bar on stderr for large exports; --mask hides phone numbers as a viewer's export does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.vocabulary.errors import FieldError
from gateway.cli.arguments import Commands, noun
from gateway.cli.common import actor, counted
from gateway.cli.progress import RowCount
from gateway.exports.output import to_file
from gateway.exports.roster import FILTERS, TABLES, audience_from_query, roster_export
from gateway.settings import Settings
from storage import roster
from storage.database import Database
from storage.tabular import BATCH_ROWS, FORMATS, Table

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
        else "organisations"
    )
    print(f"{what} exported{where}", file=sys.stderr)
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
