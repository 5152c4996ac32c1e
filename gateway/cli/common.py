"""What the `benkadi` commands share: who acts, JSON output, the channels counted, ids, times.

A command module has `register(commands)`, which adds its noun and verbs; each verb's parser
sets `action` (an async function of database, args, settings, run by runner.py on the migrated
database) or `offline` (a function of args, settings that needs no database: file checks).
"""

from __future__ import annotations

import argparse
import getpass
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from broadcasts.model import CHANNELS
from gateway.settings import Settings

Commands = argparse._SubParsersAction  # what `add_subparsers()` returns
MAX_ID = 2**31 - 1  # ids are 32-bit integers on PostgreSQL


def actor() -> str:
    """As the audit log names whoever runs the command."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli:unknown"


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def emit_json(data: Any) -> None:
    print(json.dumps(data, default=_default, ensure_ascii=False, indent=2))


def answer(as_json: bool, data: Any, lines: Iterable[str], note: str | None = None) -> int:
    """A verb's answer on stdout: `data` as JSON (with the note), or the lines (after the
    note); exit code 0."""
    if as_json:
        emit_json({**data, "note": note} if note else data)
    else:
        print("\n".join([*([f"Note: {note}"] if note else []), *lines]))
    return 0


def when(value: str | None) -> str:
    """An ISO 8601 time as "2026-11-25 08:00 UTC" (Bamako's time is UTC all year)."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def enabled_channels(settings: Settings) -> tuple[list[str], str | None]:
    """The channels with credentials, and a note when there are none (all three are counted)."""
    channels = (["telegram"] if settings.telegram_enabled else []) + (
        ["sms", "whatsapp"] if settings.twilio_enabled else []
    )
    if channels:
        return sorted(channels), None
    return sorted(CHANNELS), (
        "no channel has credentials (simulator mode): counting all three, "
        + ", ".join(sorted(CHANNELS))
    )


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
