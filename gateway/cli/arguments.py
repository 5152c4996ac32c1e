"""Building the `benkadi` parser: a noun and its verbs, ids, `--json`, what a verb names.

A command module has `register(commands)`, which adds its noun and verbs; each verb's parser
sets `action` (an async function of database, args, settings, run by runner.py on the migrated
database) or `offline` (a function of args, settings that needs no database: file checks).
"""

from __future__ import annotations

import argparse
from typing import Any

Commands = argparse._SubParsersAction  # what `add_subparsers()` returns
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def positive_id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise argparse.ArgumentTypeError("must be an id (a positive number)")
    return int(raw)


def noun(commands: Commands, name: str, meaning: str) -> Commands:
    """Add the noun `name` (one line of help) and return where its verbs go."""
    parser = commands.add_parser(name, help=meaning)
    return parser.add_subparsers(dest="verb", required=True, metavar="VERB")


def json_flag() -> argparse.ArgumentParser:
    """A parent parser for verbs that can print JSON instead of text."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print JSON")
    return parent


def names(command: argparse.ArgumentParser, dest: str, **options: Any) -> None:
    """The verb's positional argument that names what it acts on (ID, NAME, SLUG): a "does not
    exist" refusal is reported against it (`benkadi: id: no broadcast 42`)."""
    command.add_argument(dest, **options)
    command.set_defaults(subject=dest)
