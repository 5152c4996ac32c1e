"""`benkadi reports …`: the activity reports, straight on the database.

benkadi reports list [--from D] [--to D] [--region R] [--type T] [--organisation O] [--status S]
benkadi reports show ID
benkadi reports validate ID
benkadi reports summary [filters]                     totals by region, type and month
benkadi reports export --format csv|xlsx [--kind reports|summary] --output FILE [filters]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from gateway.cli.arguments import Commands, json_flag, names, noun, positive_id
from gateway.cli.common import actor, answer, counted, emit_json
from gateway.cli.tables import Column, print_rows, print_table
from gateway.exports.output import to_file
from gateway.exports.reports import FILTER_KEYS, KINDS, report_export, report_filter
from gateway.settings import Settings
from storage import reports as report_store
from storage.database import Database
from storage.reports import REGION_MONTH_HEADER, SMALL_CELL_NOTE, SUMMARY_HEADER
from storage.tabular import FORMATS

COLUMNS = (
    Column("id", 5, right=True),
    Column("date", 10),
    Column("activity", 15),
    Column("place", 22),
    Column("participants", 22),
    Column("total", 6),
    Column("status", 9),
    Column("organisation"),
)
SUMMARY_COLUMNS = (
    Column("region", 20),
    Column("type", 45),
    Column("month", 7),
    *(Column(name, 7, right=True) for name in SUMMARY_HEADER[3:]),
)
REGION_MONTH_COLUMNS = (
    Column("region", 20),
    Column("month", 7),
    *(Column(name, 7, right=True) for name in REGION_MONTH_HEADER[2:]),
)


def _values(args: argparse.Namespace) -> dict[str, str | None]:
    return {key: getattr(args, f"f_{key}") for key in FILTER_KEYS}


def _row(report: dict[str, Any]) -> tuple[object, ...]:
    place = report["region"] or "-"
    if report.get("commune"):
        place += f"/{report['commune']}"
    return (
        report["id"],
        report["activity_date"],
        report["activity"],
        place,
        f"F{report['women']} H{report['men']} FI{report['girls']} G{report['boys']}",
        f"={report['total']}",
        report["status"],
        report.get("organisation") or "-",
    )


async def list_reports(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    where = report_filter(_values(args))
    found = await report_store.list_reports(database, where, min(args.limit, 1000))
    return print_rows(found, args.json, COLUMNS, _row, empty="No reports match.")


async def show(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    report = await report_store.get_report(database, args.id)
    if args.json:
        emit_json(report)
        return 0
    print_table(COLUMNS, [_row(report)])
    print(f"  {report['description']}")
    if report.get("media_path") or report.get("media_ref"):
        print(f"  photo: {report.get('media_path') or report.get('media_ref')}")
    return 0


async def validate(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    newly = await report_store.validate(database, args.id, actor(), datetime.now(UTC))
    result = {"id": args.id, "validated": True, "newly": newly}
    return answer(
        args.json,
        result,
        [f"Report {args.id} {'validated' if newly else 'was already validated'}."],
    )


async def summary(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    if args.by_region_month:
        table = await report_store.by_region_month(database, report_filter(_values(args)))
        if args.json:
            totals = [dict(zip(REGION_MONTH_HEADER, row, strict=True)) for row in table]
            emit_json({"totals": totals, "small_cells": SMALL_CELL_NOTE})
            return 0
        shown = [tuple("-" if cell is None else cell for cell in row) for row in table]
        print_table(REGION_MONTH_COLUMNS, shown, empty="No reports match.", header=True)
        if table:
            print(SMALL_CELL_NOTE)
        return 0
    rows = await report_store.summary(database, report_filter(_values(args)))
    if args.json:
        emit_json([dict(zip(SUMMARY_HEADER, row, strict=True)) for row in rows])
        return 0
    shown = [(region or "-", *rest) for region, *rest in rows]
    print_table(SUMMARY_COLUMNS, shown, empty="No reports match.", header=True)
    return 0


async def export(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    tables = await report_export(
        database, actor(), args.format, args.kind, _values(args), args.profile
    )
    count = await to_file(args.output, args.format, tables)
    if args.output != "-":
        print(counted(count, "{n} row", "{n} rows") + f" written to {args.output}", file=sys.stderr)
    return 0


def register(commands: Commands) -> None:
    """Add `reports` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
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
    verbs = noun(commands, "reports", "activity reports from the field")
    command = verbs.add_parser("list", parents=[as_json, filters], help="newest first")
    command.add_argument("--limit", type=positive_id, default=100, help="at most this many")
    command.set_defaults(action=list_reports)
    for name, action, meaning in (
        ("show", show, "one report"),
        ("validate", validate, "mark a report validated"),
    ):
        command = verbs.add_parser(name, parents=[as_json], help=meaning)
        names(command, "id", type=positive_id, metavar="ID")
        command.set_defaults(action=action)
    command = verbs.add_parser(
        "summary", parents=[as_json, filters], help="totals by region, type and month"
    )
    command.add_argument(
        "--by-region-month",
        action="store_true",
        help="beneficiaries by region and month in one table (1-4 shown as < 5)",
    )
    command.set_defaults(action=summary)
    command = verbs.add_parser(
        "export", parents=[filters], help="CSV or XLSX: the reports and their totals"
    )
    command.add_argument("--format", choices=tuple(FORMATS), default="xlsx")
    command.add_argument(
        "--kind",
        choices=KINDS,
        default="reports",
        help="reports: one row each (XLSX adds totals sheets); summary: the totals alone; "
        "region_month: by region and month alone",
    )
    command.add_argument(
        "--profile",
        choices=report_store.PROFILES,
        default="internal",
        help="partner: for sharing outside (no organisation, member, commune, day, text or "
        "photo; counts under 5 hidden)",
    )
    command.add_argument("--output", "-o", required=True, help="a file, or - for stdout")
    command.set_defaults(action=export)
