"""`benkadi admin …` (API tokens) and `benkadi broadcast …`, straight on the database.

Drafts go through the same parse_draft as the HTTP API, so both refuse the same things and
name the same fields; nothing is created from a draft that fails.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from broadcasts import service
from broadcasts.model import CHANNELS, Draft, DraftError, parse_draft
from gateway.cli import progress
from gateway.cli.runner import ErrorTable, run_on_database
from gateway.settings import Settings
from storage import tokens
from storage.database import Database

COMMANDS = ("admin", "broadcast")
MAX_ID = 2**31 - 1


class UsageError(ValueError):
    """A CLI input that will not do: printed as `benkadi: <field>: <message>`, exit 2."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field, self.message = field_name, message


# --- output --------------------------------------------------------------------------------
def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def emit_json(data: Any) -> None:
    print(json.dumps(data, default=_default, ensure_ascii=False, indent=2))


def _when(value: str | None) -> str:
    """An ISO 8601 time as "2026-11-25 08:00 UTC" (Bamako's time is UTC all year)."""
    if not value:
        return "-"
    moment = datetime.fromisoformat(value).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def status_text(status: dict[str, Any]) -> list[str]:
    title = f" «{status['title']}»" if status.get("title") else ""
    lines = [f"Broadcast {status['id']}{title}: {status['status']}"]
    history = [f"created {_when(status.get('created_at'))} by {status.get('created_by')}"]
    for key, label in (
        ("send_at", "to send at"),
        ("fanned_out_at", "queued"),
        ("finished_at", "finished"),
        ("cancelled_at", "cancelled"),
    ):
        if status.get(key):
            history.append(f"{label} {_when(status[key])}")
    lines.append("  " + "; ".join(history))
    filters = [
        f"{key.replace('_', ' ')} {', '.join(value) if isinstance(value, list) else value}"
        for key, value in (status.get("audience") or {}).items()
        if value
    ]
    lines.append(f"  audience: {'; '.join(filters) or 'every member'}")
    for language, text in (status.get("texts") or {}).items():
        lines.append(f"  text {language}: {text}")
    lines.append(f"  recipients: {status.get('recipients', 0)}")
    for channel, by_status in sorted((status.get("counts") or {}).items()):
        counts = ", ".join(f"{key} {value}" for key, value in sorted(by_status.items()))
        lines.append(f"  {channel:<9} {counts}")
    for failure in status.get("failures") or []:
        lines.append(
            f"  failed on {failure['channel']} ×{failure['count']}: "
            f"{failure.get('code') or ''} {failure.get('message') or ''}".rstrip()
        )
    if "queued" in status:
        lines.append(f"{status['queued']} messages queued now.")
    if "cancelled" in status and isinstance(status["cancelled"], int):
        lines.append(f"{status['cancelled']} queued messages cancelled.")
    if status.get("note"):
        lines.append(f"Note: {status['note']}")
    return lines


def _join(counts: dict[str, int]) -> str:
    return ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in counts.items() if n) or "none"


def preview_text(result: dict[str, Any]) -> list[str]:
    """The preview in a few lines; --json has every detail."""
    reached, excluded, sms = result["reached"], result["excluded"], result["sms"]
    lines = [
        f"Reached: {result['recipients']} members ({_join(reached['by_channel'])})",
        f"  by language: {_join(reached['by_language'])}",
        f"Left out: {excluded['total']} ({_join(excluded['by_reason'])})",
    ]
    for language, text in result["texts"].items():
        source = (
            "" if text["text_language"] == language else f", gets the {text['text_language']} text"
        )
        lines.append(f"Text {language}: {text['members']} members{source}")
        for channel, info in text["channels"].items():
            if channel != "sms":
                lines.append(f"  {channel}: {info['members']} members")
                continue
            sent = info[info["sent"]]
            spelling = "GSM-friendly spelling" if info["sent"] == "gsm_friendly" else "as written"
            lines.append(
                f"  sms: {info['members']} members, {sent['encoding']}, {sent['characters']} "
                f"characters, {info['segments']} segment(s) each, {spelling}"
            )
            if info["sent"] == "gsm_friendly":
                lines.append(f"    {sent['text']}")
    lines.append(
        f"SMS cost: {sms['segments']} segments × {sms['price_per_segment']} {sms['currency']}"
        f" ≈ {sms['estimated_cost']:.2f} {sms['currency']}"
    )
    return lines


# --- inputs --------------------------------------------------------------------------------
def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        language, sep, value = item.partition("=")
        if not sep or not language.strip():
            raise UsageError("texts", f"{option} takes LANG=VALUE, e.g. {option} fr=…")
        pairs.append((language.strip(), value))
    return pairs


def _names(values: list[str] | None) -> list[str]:
    """Repeated options, each possibly a comma-separated list."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def draft_payload(args: argparse.Namespace) -> dict[str, Any]:
    """The API's JSON body, from the command line's options."""
    texts = dict(_pairs(args.text or [], "--text"))
    for language, path in _pairs(args.text_file or [], "--text-file"):
        try:
            texts[language] = sys.stdin.read() if path == "-" else Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise UsageError(f"texts.{language}", f"cannot read {path}: {reason}") from None
    audience: dict[str, Any] = {
        key: _names(getattr(args, option))
        for key, option in (
            ("regions", "region"),
            ("themes", "theme"),
            ("languages", "language"),
            ("organisation_kinds", "organisation_kind"),
            ("organisations", "organisation"),
            ("channels", "channel"),
        )
        if getattr(args, option)
    }
    if args.since:
        audience["registered_since"] = args.since
    payload: dict[str, Any] = {
        "texts": texts,
        "audience": audience,
        "sms_gsm_safe": not args.no_gsm_safe,
    }
    if args.title is not None:
        payload["title"] = args.title
    if args.at:
        payload["send_at"] = args.at
    return payload


async def read_draft(database: Database, args: argparse.Namespace) -> Draft:
    known = await service.known_organisations(database)
    return parse_draft(draft_payload(args), datetime.now(UTC), known)


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


def actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in a bare container
        return "cli:unknown"


def positive_id(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) <= MAX_ID:
        raise argparse.ArgumentTypeError("must be an id (a positive number)")
    return int(raw)


# --- admin ---------------------------------------------------------------------------------
async def create_token(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    issued = await tokens.issue_token(database, args.name, args.role, actor=actor())
    if args.json:
        emit_json(issued._asdict())
    else:
        print(f"Token {issued.id} ({issued.name}, {issued.role}):\n\n    {issued.token}\n")
    print("Keep it now: it is not shown again (only its hash is stored).", file=sys.stderr)
    return 0


async def list_tokens(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await tokens.list_tokens(database)
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("No tokens. Create one: benkadi admin create-token --name NAME --role ROLE")
    for row in rows:
        state = f"revoked {row['revoked_at'][:16]}" if row["revoked_at"] else "active"
        used = row["last_used_at"][:16] if row["last_used_at"] else "never"
        print(f"{row['id']:>4}  {row['name']:<24} {row['role']:<12} {state:<24} last used {used}")
    return 0


async def revoke_token(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    newly = await tokens.revoke_token(database, args.id, actor())
    if args.json:
        emit_json({"id": args.id, "revoked": True, "already_revoked": not newly})
    else:
        print(f"Token {args.id} {'revoked' if newly else 'was already revoked'}.")
    return 0


# --- broadcasts ----------------------------------------------------------------------------
async def preview(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    draft = await read_draft(database, args)
    channels, note = enabled_channels(settings)
    result = await service.preview(
        database,
        draft,
        enabled_channels=channels,
        price_per_segment=settings.sms_price_per_segment,
        currency=settings.currency,
    )
    if args.json:
        emit_json({**result, **({"note": note} if note else {})})
    else:
        print("\n".join(([f"Note: {note}"] if note else []) + preview_text(result)))
    return 0


async def create(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    draft = await read_draft(database, args)
    if args.send and draft.send_at is not None:
        raise UsageError("send", "--send sends now; leave out --at")
    if args.wait and not args.send:
        raise UsageError("wait", "--wait needs --send")
    new_id = await service.create(database, draft, actor())
    if not args.send:
        return await show(database, args, new_id, {})
    return await _send(database, args, settings, new_id)


async def send(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _send(database, args, settings, args.id)


async def _send(
    database: Database, args: argparse.Namespace, settings: Settings, ident: int
) -> int:
    channels, note = enabled_channels(settings)
    queued = await service.send_now(database, ident, actor(), enabled_channels=channels)
    extra: dict[str, Any] = {"queued": queued, **({"note": note} if note else {})}
    if args.wait:
        if not args.json:
            print(f"Broadcast {ident}: {queued} messages queued.")
        await progress.follow(functools.partial(service.get_status, database, ident))
    return await show(database, args, ident, extra)


async def cancel(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    cancelled = await service.cancel(database, args.id, actor())
    return await show(database, args, args.id, {"cancelled": cancelled})


async def status(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    if args.wait:
        await progress.follow(functools.partial(service.get_status, database, args.id))
    return await show(database, args, args.id, {})


async def show(database: Database, args: argparse.Namespace, ident: int, extra: dict) -> int:
    result = {**await service.get_status(database, ident), **extra}
    if args.json:
        emit_json(result)
    else:
        print("\n".join(status_text(result)))
    return 0


async def list_broadcasts(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    rows = await service.list_broadcasts(database, limit=min(args.limit, 500))
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("No broadcasts yet.")
    for row in rows:
        when = f"  (at {_when(row['send_at'])})" if row.get("send_at") else ""
        title = row.get("title") or "(untitled)"
        totals = ", ".join(f"{k} {v}" for k, v in sorted((row.get("totals") or {}).items()))
        print(
            f"{row['id']:>4}  {row['status']:<10} {row.get('recipients', 0):>6} recipients"
            f"  {title}{when}" + (f"  [{totals}]" if totals else "")
        )
    return 0


# --- wiring --------------------------------------------------------------------------------
def _draft_options(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--title", help="a name for the secretariat's lists (members do not see it)")
    add("--text", action="append", metavar="LANG=TEXT", help="the text in a language (fr needed)")
    add("--text-file", action="append", metavar="LANG=PATH", help="the text from a file (- stdin)")
    for option, meaning in (
        ("--region", "a region key (kayes, sikasso, bamako…)"),
        ("--theme", "a theme key (vbg, participation…)"),
        ("--language", "a member language (fr, bm, ff, ses, en)"),
        ("--organisation-kind", "a kind of organisation"),
        ("--organisation", "an organisation's name, as stored"),
        ("--channel", "telegram, sms or whatsapp"),
    ):
        add(option, action="append", metavar="NAME", help=meaning + "; repeat or comma-separate")
    add("--since", metavar="YYYY-MM-DD", help="members registered on or after this day")
    add("--at", metavar="'YYYY-MM-DD HH:MM'", help="send then (Bamako time unless a zone is given)")
    add("--no-gsm-safe", action="store_true", help="over SMS, keep ɛ ɔ ɲ ŋ even if it costs more")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `admin` and `broadcast` to the `benkadi` parser; run() does the rest."""
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")
    wait_flag = argparse.ArgumentParser(add_help=False)
    wait_flag.add_argument(
        "--wait", action="store_true", help="show a progress bar until nothing is left queued"
    )

    admin = subparsers.add_parser("admin", help="API tokens").add_subparsers(
        dest="admin_command", required=True
    )
    command = admin.add_parser("create-token", parents=[json_flag], help="issue a token")
    command.add_argument("--name", required=True, help="who or what holds it")
    command.add_argument("--role", required=True, choices=tokens.ROLES)
    command.set_defaults(action=create_token)
    admin.add_parser("list-tokens", parents=[json_flag]).set_defaults(action=list_tokens)
    command = admin.add_parser("revoke-token", parents=[json_flag], help="revoke a token")
    command.add_argument("id", type=positive_id, metavar="ID")
    command.set_defaults(action=revoke_token)

    broadcast = subparsers.add_parser("broadcast", help="compose, send and follow broadcasts")
    actions = broadcast.add_subparsers(dest="broadcast_command", required=True)
    command = actions.add_parser("preview", parents=[json_flag], help="who would get what")
    _draft_options(command)
    command.set_defaults(action=preview)
    command = actions.add_parser(
        "create",
        parents=[json_flag, wait_flag],
        help="save it (scheduled with --at, sent with --send)",
    )
    _draft_options(command)
    command.add_argument("--send", action="store_true", help="and send it now")
    command.set_defaults(action=create)
    for name, action, parents, meaning in (
        ("send", send, [json_flag, wait_flag], "send a draft or scheduled broadcast now"),
        ("cancel", cancel, [json_flag], "cancel it, and its messages not yet sent"),
        ("status", status, [json_flag, wait_flag], "where its messages are, per channel"),
    ):
        command = actions.add_parser(name, parents=parents, help=meaning)
        command.add_argument("id", type=positive_id, metavar="ID")
        command.set_defaults(action=action)
    command = actions.add_parser("list", parents=[json_flag], help="the latest broadcasts")
    command.add_argument("--limit", type=positive_id, default=50, help="at most this many")
    command.set_defaults(action=list_broadcasts)


# Domain errors and the field each names on the command line.
ERRORS: ErrorTable = (
    (DraftError, lambda e: (e.field, e.message)),
    (UsageError, lambda e: (e.field, e.message)),
    (tokens.TokenFieldError, lambda e: (e.field, e.message)),
    (service.BroadcastNotFound, lambda e: ("id", str(e))),
    (tokens.TokenNotFound, lambda e: ("id", str(e))),
    (service.BroadcastStateError, lambda e: ("status", str(e))),
)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    return await run_on_database(
        settings, lambda database: args.action(database, args, settings), ERRORS
    )
