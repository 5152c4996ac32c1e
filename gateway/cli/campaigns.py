"""`benkadi campaigns …`: the campaign calendars, straight on the files and the database.

benkadi campaigns list [--year 2026]           every campaign, its state, its next date
benkadi campaigns show NAME [--year 2026]      every message: day, audience, SMS per language
benkadi campaigns validate [FILE …]            check files (all of the directory by default)
benkadi campaigns enable|disable NAME --year 2026
benkadi campaigns approve NAME --year 2026     the year's texts, as `show` prints them
benkadi campaigns export NAME --year 2026 [--output FILE]   the file, the year as edited
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from broadcasts.campaigns import approval, year_editor
from broadcasts.campaigns import export as campaign_export
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.calendar import FIRST_YEAR, LAST_YEAR
from broadcasts.campaigns.service import Calendar
from broadcasts.file_parser import FileError
from gateway.cli.arguments import Commands, json_flag, names, noun
from gateway.cli.common import actor, answer, counted, emit_json, enabled_channels
from gateway.settings import Settings
from storage.database import Database


def year_type(raw: str) -> int:
    if not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        raise argparse.ArgumentTypeError(f"must be a year, {FIRST_YEAR}-{LAST_YEAR}")
    return int(raw)


def _shown(path: Path) -> str:
    """A path as short as it reads well: relative to here when it is below here."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def _calendar(settings: Settings) -> Calendar:
    return campaign_service.load_directory(settings.campaigns_directory)


def _now() -> datetime:
    return datetime.now(UTC)


# --- validate --------------------------------------------------------------------------------
def validate(args: argparse.Namespace, settings: Settings) -> int:
    """Each file: ok with its messages a year, or its error as FILE:LINE: FIELD: MESSAGE."""
    if args.files:
        paths = [Path(name) for name in args.files]
    else:
        paths = campaign_service.campaign_files(settings.campaigns_directory)
        if not paths:
            print(f"No campaign files (*.toml) in {_shown(settings.campaigns_directory)}.")
            return 0
    results: list[dict[str, Any]] = []
    for path in paths:
        shown = str(path) if args.files else _shown(path)
        try:
            campaign = campaign_service.load_file(path, shown)
        except FileError as error:
            results.append({"file": shown, "ok": False, "error": error.to_json()})
            if not args.json:
                print(error, file=sys.stderr)
            continue
        count = sum(message.days for message in campaign.messages)
        results.append({"file": shown, "ok": True, "name": campaign.name, "messages": count})
        if not args.json:
            messages = counted(count, "{n} message", "{n} messages")
            print(f"ok  {shown}: {campaign.name}, {messages} a year")
    if args.json:
        emit_json(results)
    return 0 if all(result["ok"] for result in results) else 1


# --- list, show ------------------------------------------------------------------------------
def list_text(result: dict[str, Any]) -> list[str]:
    lines = [f"Campaigns in {result['directory']} ({result['year']}):"]
    width = max((len(item["name"]) for item in result["campaigns"]), default=0)
    for item in result["campaigns"]:
        state = "enabled" if item["enabled"] else "disabled"
        upcoming = item["next"]
        following = "no message to come"
        if upcoming:
            parts = [f"next {upcoming['local_time']} {upcoming['message']}"]
            if upcoming["year"] != item["year"]:
                enabled = "enabled" if upcoming["enabled"] else "disabled"
                parts.append(f"{upcoming['year']} {enabled}")
            if upcoming["made"]:
                parts.append("made")
            following = ", ".join(parts)
        span = (
            item["first_day"]
            if item["first_day"] == item["last_day"]
            else f"{item['first_day']} → {item['last_day']}"
        )
        lines.append(
            f"  {item['name']:<{width}}  {state:<8} {counted(item['messages'], '{n:>3} message ', '{n:>3} messages')}  {span:<24} "
            f"{following}"
        )
    if not result["campaigns"]:
        lines.append("  none")
    if any(not item["enabled"] for item in result["campaigns"]):
        lines.append(
            "A campaign sends nothing in a year until it is enabled: "
            f"benkadi campaigns enable NAME --year {result['year']}"
        )
    if result["errors"]:
        lines.append("Left out, for an error:")
        lines.extend(
            f"  {error['file']}:{error['line'] or ''}: {error['field']}: {error['message']}"
            for error in result["errors"]
        )
    return lines


def _filters(filters: dict[str, Any]) -> str:
    chosen = [
        f"{key.replace('_', ' ')} {', '.join(value) if isinstance(value, list) else value}"
        for key, value in filters.items()
        if value
    ]
    return "; ".join(chosen) or "every member"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{key} {n}" for key, n in counts.items()) or "none"


def show_text(result: dict[str, Any]) -> list[str]:
    year = result["year"]
    state = (
        "enabled"
        if result["enabled"]
        else f"disabled (benkadi campaigns enable {result['name']} --year {year})"
    )
    if result.get("approved_by"):
        state += f"; texts approved by {result['approved_by']} at {result['approved_at'][:16]}"
    else:
        state += (
            "; texts not approved, nothing goes out "
            f"(benkadi campaigns approve {result['name']} --year {year})"
        )
    theme = result["theme"]
    lines = [
        f"{result['name']}: {result['title']}",
        f"  {year}: {state}",
        f"  file: {result['file']}",
        "  theme {}: {}".format(
            year,
            "; ".join(f"{language} «{text}»" for language, text in theme.items())
            if theme
            else "none (lines with {theme} are left out)",
        ),
        f"  channels counted: {', '.join(result['channels']) or 'none'}; SMS quiet hours: "
        f"{result['quiet_hours'] or 'off'} (Bamako time)",
    ]
    if result["description"]:
        lines.insert(1, f"  {result['description']}")
    for message in result["messages"]:
        audience = message["audience"]
        broadcast = message["broadcast"]
        status = message["status"]
        if broadcast:
            status = f"made: broadcast {broadcast['id']}, {broadcast.get('status', '?')}"
        lines.append("")
        lines.append(
            f"{message['local_time']}  {message['message']}  {status}  "
            + counted(audience["recipients"], "{n} member", "{n} members")
        )
        lines.append(
            f"  audience: {_filters(audience['filters'])}; by channel "
            f"{_counts(audience['by_channel'])}; by language {_counts(audience['by_language'])}"
        )
        if message["sms_held_until"]:
            lines.append(f"  SMS held by quiet hours until {message['sms_held_until'][:16]} UTC")
        for language, text in message["texts"].items():
            sms = text["sms"]
            sent = sms[sms["sent"]]
            spelling = " in the GSM-friendly spelling" if sms["sent"] == "gsm_friendly" else ""
            lines.append(
                f"  {language:<3} {sms['segments']} SMS ({sent['encoding']}{spelling}, "
                f"{sent['characters']} characters)"
            )
            lines.extend(f"      {line}" for line in text["text"].splitlines())
    return lines


async def list_campaigns(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    result = await campaign_service.list_campaigns(database, _calendar(settings), _now(), args.year)
    result["directory"] = _shown(Path(result["directory"]))
    return answer(args.json, result, list_text(result))


async def show(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    now = _now()
    channels, note = await enabled_channels(settings, database)
    result = await campaign_service.show(
        database,
        _calendar(settings),
        args.name,
        args.year or campaign_service.local_year(now),
        enabled_channels=channels,
        quiet_hours=settings.quiet_hours,
        now=now,
    )
    result |= await approval.approved(database, result["name"], result["year"])
    return answer(args.json, result, show_text(result), note)


async def _switch(
    database: Database, args: argparse.Namespace, settings: Settings, enabled: bool
) -> int:
    result = await campaign_service.set_enabled(
        database, _calendar(settings), args.name, args.year, enabled, actor()
    )
    if args.json:
        emit_json(result)
    else:
        now = "enabled" if enabled else "disabled"
        already = " (it already was)" if result["was"] == enabled else ""
        print(f"Campaign {result['campaign']} is {now} for {result['year']}{already}.")
        state = await approval.approved(database, result["campaign"], result["year"])
        if enabled and not state["approved_by"]:
            print(
                f"Its texts for {result['year']} are not approved yet: nothing goes out until "
                f"they are (benkadi campaigns approve {result['campaign']} --year "
                f"{result['year']}, or in the console)."
            )
    return 0


async def approve(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    """The year's texts approved as they are now (`show` prints them): audited."""
    result = await approval.approve(
        database, _calendar(settings), args.name, args.year, actor(), _now()
    )
    if args.json:
        emit_json(result)
    else:
        print(f"Campaign {result['campaign']}: the texts for {result['year']} are approved.")
    return 0


async def enable(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _switch(database, args, settings, True)


async def disable(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    return await _switch(database, args, settings, False)


# --- export ------------------------------------------------------------------------------
async def export(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    """The campaign's file with the year as edited in the database (theme, texts, dates,
    added messages): to standard output, or to --output."""
    year = args.year or campaign_service.local_year(_now())
    campaign = await year_editor.load_year(database, _calendar(settings), args.name, year)
    text = campaign_export.to_toml(campaign, year)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    await asyncio.to_thread(Path(args.output).write_text, text, "utf-8")
    print(f"Campaign {campaign.name} ({year} as edited) written to {args.output}.", file=sys.stderr)
    return 0


# --- wiring ----------------------------------------------------------------------------------
def register(commands: Commands) -> None:
    """Add `campaigns` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(
        commands, "campaigns", "campaign calendars: 16 days of activism, 8 March and the others"
    )
    command = verbs.add_parser("list", parents=[as_json], help="every campaign, next dates")
    command.add_argument("--year", type=year_type, help="the year to show (default: this one)")
    command.set_defaults(action=list_campaigns)
    command = verbs.add_parser(
        "show", parents=[as_json], help="a campaign's year: messages, audience, SMS sizes"
    )
    names(command, "name", metavar="NAME")
    command.add_argument("--year", type=year_type, help="the year to show (default: this one)")
    command.set_defaults(action=show)
    command = verbs.add_parser(
        "validate", parents=[as_json], help="check campaign files (FILE:LINE: FIELD: error)"
    )
    command.add_argument(
        "files", nargs="*", metavar="FILE", help="files to check (default: every campaign file)"
    )
    command.set_defaults(offline=validate)
    for name, action, meaning in (
        ("enable", enable, "send the campaign's messages in that year"),
        ("disable", disable, "send none of them in that year (those made stay made)"),
        ("approve", approve, "approve the year's texts as they are (nothing goes out before)"),
    ):
        command = verbs.add_parser(name, parents=[as_json], help=meaning)
        names(command, "name", metavar="NAME")
        command.add_argument("--year", type=year_type, required=True, help="e.g. 2026")
        command.set_defaults(action=action)
    command = verbs.add_parser(
        "export", help="the campaign's file (TOML), with the year as edited in the console"
    )
    names(command, "name", metavar="NAME")
    command.add_argument("--year", type=year_type, help="the year (default: this one)")
    command.add_argument(
        "--output", "-o", metavar="FILE", help="write the file here (default: standard output)"
    )
    command.set_defaults(action=export)
