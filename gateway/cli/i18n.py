"""`benkadi i18n status`: how far each language is translated and reviewed, per domain (the
members' catalog, the console's, the campaign and poll texts). Straight on the files.

benkadi i18n status [--language ff] [--json | --markdown] [--campaigns-dir DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.vocabulary.i18n import LANGUAGES
from broadcasts.coverage import status
from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.tables import Column, print_rows
from gateway.settings import Settings

COLUMNS = (
    Column("language", 8),
    Column("domain", 9),
    Column("total", 5, right=True),
    Column("translated", 10, right=True),
    Column("reviewed", 8, right=True),
    Column("awaiting review", 15, right=True),
)


def cells(row: dict[str, Any]) -> tuple[object, ...]:
    return tuple(row[key] for key in ("language", "domain", "total", "translated", "reviewed", "awaiting_review"))  # fmt: skip


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    directory = Path(args.campaigns_dir) if args.campaigns_dir else settings.campaigns_directory
    rows = [row.to_json() for row in status(directory)]
    if args.language:
        rows = [row for row in rows if row["language"] in args.language]
    if args.markdown:
        print("\n".join(markdown_table(rows)))
        return 0
    return print_rows(rows, args.json, COLUMNS, cells)


def markdown_table(rows: list[dict[str, Any]]) -> list[str]:
    """The table README's language section holds (tests/gateway/test_i18n_status.py keeps it
    true): paste it there after the catalogs or the shipped files change."""
    lines = [
        "| " + " | ".join(column.header for column in COLUMNS) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in COLUMNS[2:]) + " |",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in cells(row)) + " |" for row in rows]
    return lines


def register(commands: Commands) -> None:
    """Add `i18n` and its verb to the `benkadi` parser."""
    verbs = noun(commands, "i18n", "translations: how far each language is translated, reviewed")
    command = verbs.add_parser(
        "status",
        parents=[json_flag()],
        help="per language and domain: total, translated, reviewed, awaiting review",
    )
    command.add_argument(
        "--language", action="append", choices=LANGUAGES, help="only this language (repeatable)"
    )
    command.add_argument(
        "--campaigns-dir", help="campaign files to count (default: BENKADI_CAMPAIGNS_DIR's)"
    )
    command.add_argument(
        "--markdown", action="store_true", help="print the table README's language section holds"
    )
    command.set_defaults(offline=show_status)
