"""`benkadi export roster …`: the membership roster as CSV or XLSX, straight from the database.

benkadi export roster --format xlsx --output membres.xlsx --region kayes --theme vbg
benkadi export roster --format csv --table organisations -o organisations.csv

The same tables, filters and audit entry as GET /api/v1/members/export; a progress bar on
stderr for large exports; --mask hides phone numbers as a viewer's export does.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from broadcasts.model import DraftError
from gateway.api.exports import FILTERS, TABLES, audience_from_query
from gateway.cli.admin import actor
from gateway.cli.runner import ErrorTable, run_on_database
from gateway.settings import Settings
from storage import roster
from storage.database import Database
from storage.tabular import BATCH_ROWS, FORMATS, write_tables

COMMANDS = ("export",)
BAR_FROM = 5000  # smaller exports finish before a bar would say anything


class Progress:
    """Counts the rows as they are read and redraws one line at most ten times a second."""

    def __init__(self, total: int, stream: TextIO, shown: bool = True) -> None:
        self.total, self.stream, self.done, self.drawn_at = total, stream, 0, 0.0
        self.tty, self.shown = stream.isatty(), shown

    def advance(self, rows: int) -> None:
        self.done += rows
        if not self.shown:
            return
        now = time.monotonic()
        if now - self.drawn_at >= (0.1 if self.tty else 2.0) or self.done >= self.total:
            self.drawn_at = now
            width = 30
            filled = width if not self.total else width * min(self.done, self.total) // self.total
            text = f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} members"
            self.stream.write(("\r" + text + "\x1b[K") if self.tty else text + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")


def _counted(rows: Any, progress: Progress) -> Any:
    async def counting():
        pending = 0
        async for row in rows:
            yield row
            pending += 1
            if pending == BATCH_ROWS:
                progress.advance(pending)
                pending = 0
        if pending:
            progress.advance(pending)

    return counting()


async def export_roster(database: Database, args: argparse.Namespace) -> int:
    query = {name: getattr(args, name) or [] for name in FILTERS} | {"since": args.since}
    audience = await audience_from_query(database, query)
    format_ = args.format or (Path(args.output).suffix.lstrip(".") if args.output else "csv")
    if format_ not in FORMATS:
        raise DraftError("format", "must be csv or xlsx (or give --output with that suffix)")
    if format_ == "xlsx" and not args.output:
        raise DraftError("output", "XLSX is binary: give --output FILE")
    total = await roster.count_members(database, audience)
    progress = Progress(total, sys.stderr, shown=total >= BAR_FROM or args.progress)
    tables = roster.roster_tables(database, audience, args.mask, args.table)
    if args.table == "members":
        first = tables[0]
        tables[0] = type(first)(first.name, first.header, _counted(first.rows, progress))
    await roster.record_export(database, actor(), format_, audience, args.mask, args.table)
    if args.output:
        with open(args.output, "wb") as handle:  # noqa: ASYNC230 - a CLI: nothing else waits

            async def sink(chunk: bytes) -> None:
                handle.write(chunk)

            await write_tables(format_, tables, sink)
    else:

        async def sink(chunk: bytes) -> None:
            sys.stdout.buffer.write(chunk)

        await write_tables(format_, tables, sink)
        sys.stdout.buffer.flush()
    progress.close()
    where = f" to {args.output}" if args.output else ""
    what = f"{progress.done} members" if args.table == "members" else "organisations"
    print(f"{what} exported{where}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `export` to the `benkadi` parser; run() does the rest."""
    export = subparsers.add_parser("export", help="export the roster as CSV or XLSX")
    kinds = export.add_subparsers(dest="export_command", required=True)
    command = kinds.add_parser("roster", help="members (or organisations) with their details")
    command.add_argument("--format", choices=sorted(FORMATS), help="default: from --output, or csv")
    command.add_argument("-o", "--output", help="file to write (default: stdout, CSV only)")
    command.add_argument("--table", choices=TABLES, default="members", help="CSV: which table")
    command.add_argument("--mask", action="store_true", help="mask phone numbers and Telegram ids")
    command.add_argument("--progress", action="store_true", help="a progress bar even when small")
    for name in FILTERS:
        command.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            action="append",
            metavar="NAME",
            help=f"only members with this {name.replace('_', ' ')}; repeat or comma-separate",
        )
    command.add_argument("--since", metavar="YYYY-MM-DD", help="registered on or after this day")
    command.set_defaults(action=export_roster)


ERRORS: ErrorTable = ((DraftError, lambda e: (e.field, e.message)),)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    return await run_on_database(settings, lambda database: args.action(database, args), ERRORS)
