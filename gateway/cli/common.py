"""What the `benkadi` verbs share when they run: who acts, their answer (JSON or lines), times,
the channels counted. Building their parsers is arguments.py's."""

from __future__ import annotations

import getpass
import gettext
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from broadcasts.model import CHANNELS
from gateway.sending.routes import sms_route_exists
from gateway.settings import Settings
from storage.database import Database


def counted(n: int, singular: str, plural: str) -> str:
    """ "1 message", "2 messages": the CLI speaks English, but through ngettext like the rest,
    so a catalog could give it other plural rules."""
    return gettext.ngettext(singular, plural, n).format(n=n)


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


async def enabled_channels(settings: Settings, database: Database) -> tuple[list[str], str | None]:
    """The channels with credentials, and a note when there are none (all three are counted).
    SMS counts as enabled with Android gateways alone: they are its routes (sending/routes.py)."""
    sms = await sms_route_exists(database, settings)
    channels = (
        (["telegram"] if settings.telegram_enabled else [])
        + (["sms"] if sms else [])
        + (["whatsapp"] if settings.twilio_enabled else [])
    )
    if channels:
        return sorted(channels), None
    return sorted(CHANNELS), (
        "no channel has credentials (simulator mode): counting all three, "
        + ", ".join(sorted(CHANNELS))
    )
