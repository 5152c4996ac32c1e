"""`benkadi reports …`: the activity reports, straight on the database.

benkadi reports list [--from D] [--to D] [--region R] [--type T] [--organisation O] [--status S]
benkadi reports show ID
benkadi reports validate ID
benkadi reports summary [filters]                     totals by region, type and month
benkadi reports export --format csv|xlsx [--kind reports|summary] --output FILE [filters]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.cli.admin import actor, emit_json, positive_id
from gateway.cli.runner import ErrorTable, run_on_database
from gateway.settings import Settings
from storage import audit
from storage import reports as report_store
from storage.database import Database
from storage.reports import ReportFieldError, ReportNotFound
from storage.tabular import FORMATS, write_tables

COMMANDS = ("reports",)
FILTERS = ("from", "to", "region", "type", "organisation", "status")


def _filter(args: argparse.Namespace) -> report_store.ReportFilter:
    return report_store.filter_from({key: getattr(args, f"f_{key}") for key in FILTERS})


def _line(report: dict[str, Any]) -> str:
    counts = f"F{report['women']} H{report['men']} FI{report['girls']} G{report['boys']}"
    place = report["region"] or "-"
    if report.get("commune"):
        place += f"/{report['commune']}"
    return (
        f"{report['id']:>5}  {report['activity_date']}  {report['activity']:<15} {place:<22} "
        f"{counts:<22} ={report['total']:<6} {report['status']:<9} "
        f"{report.get('organisation') or '-'}"
    )


async def list_reports(database: Database, args: argparse.Namespace) -> int:
    found = await report_store.list_reports(database, _filter(args), min(args.limit, 1000))
    if args.json:
        emit_json(found)
        return 0
    if not found:
        print("No reports match.")
    for report in found:
        print(_line(report))
    return 0


async def show(database: Database, args: argparse.Namespace) -> int:
    report = await report_store.get_report(database, args.id)
    if args.json:
        emit_json(report)
        return 0
    print(_line(report))
    print(f"  {report['description']}")
    if report.get("media_path") or report.get("media_ref"):
        print(f"  photo: {report.get('media_path') or report.get('media_ref')}")
    return 0


async def validate(database: Database, args: argparse.Namespace) -> int:
    newly = await report_store.validate(database, args.id, actor(), datetime.now(UTC))
    if args.json:
        emit_json({"id": args.id, "validated": True, "newly": newly})
    else:
        print(f"Report {args.id} {'validated' if newly else 'was already validated'}.")
    return 0


async def summary(database: Database, args: argparse.Namespace) -> int:
    rows = await report_store.summary(database, _filter(args))
    header = ("region", "type", "month", "women", "men", "girls", "boys", "total")
    if args.json:
        emit_json([dict(zip(header, row, strict=True)) for row in rows])
        return 0
    if not rows:
        print("No reports match.")
    for row in rows:
        region, activity, month, *numbers = row
        print(
            f"{region or '-':<20} {activity:<45} {month}  " + " ".join(f"{n:>7}" for n in numbers)
        )
    return 0


async def export(database: Database, args: argparse.Namespace) -> int:
    where = _filter(args)
    filters = {key: getattr(args, f"f_{key}") for key in FILTERS if getattr(args, f"f_{key}")}
    async with database.transaction() as connection:
        await audit.record(
            connection,
            actor(),
            "reports.export",
            details={"format": args.format, "kind": args.kind, "filters": filters},
        )
    tables = report_store.export_tables(database, where, args.kind)
    if args.output == "-":
        out = sys.stdout.buffer

        async def sink(chunk: bytes) -> None:
            out.write(chunk)

        count = await write_tables(args.format, tables, sink)
        out.flush()
    else:
        handle = await asyncio.to_thread(Path(args.output).open, "wb")
        with handle:

            async def sink(chunk: bytes) -> None:
                await asyncio.to_thread(handle.write, chunk)

            count = await write_tables(args.format, tables, sink)
        print(f"{count} row(s) written to {args.output}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `reports` to the `benkadi` parser; run() does the rest."""
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")
    filters = argparse.ArgumentParser(add_help=False)
    for key, meaning in (
        ("from", "activities on or after this day (YYYY-MM-DD)"),
        ("to", "activities on or before this day (YYYY-MM-DD)"),
        ("region", "a region key (kayes, segou, bamako…)"),
        ("type", "sensibilisation, formation, plaidoyer, accompagnement, campagne, reunion, autre"),
        ("organisation", "an organisation's name"),
        ("status", "submitted or validated"),
    ):
        filters.add_argument(f"--{key}", dest=f"f_{key}", help=meaning)
    reports = subparsers.add_parser("reports", help="activity reports from the field")
    actions = reports.add_subparsers(dest="reports_command", required=True)
    command = actions.add_parser("list", parents=[json_flag, filters], help="newest first")
    command.add_argument("--limit", type=positive_id, default=100, help="at most this many")
    command.set_defaults(action=list_reports)
    for name, action, meaning in (
        ("show", show, "one report"),
        ("validate", validate, "mark a report validated"),
    ):
        command = actions.add_parser(name, parents=[json_flag], help=meaning)
        command.add_argument("id", type=positive_id, metavar="ID")
        command.set_defaults(action=action)
    command = actions.add_parser(
        "summary", parents=[json_flag, filters], help="totals by region, type and month"
    )
    command.set_defaults(action=summary)
    command = actions.add_parser(
        "export", parents=[filters], help="CSV or XLSX: the reports and their totals"
    )
    command.add_argument("--format", choices=tuple(FORMATS), default="xlsx")
    command.add_argument(
        "--kind",
        choices=("reports", "summary"),
        default="reports",
        help="reports: one row each (XLSX adds a totals sheet); summary: the totals alone",
    )
    command.add_argument("--output", "-o", required=True, help="a file, or - for stdout")
    command.set_defaults(action=export)


ERRORS: ErrorTable = (
    (ReportFieldError, lambda e: (e.field, e.message)),
    (ReportNotFound, lambda e: ("id", str(e))),
)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    return await run_on_database(settings, lambda database: args.action(database, args), ERRORS)
