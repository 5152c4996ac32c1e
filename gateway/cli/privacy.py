"""`benkadi privacy purge|export|register`: personal data as the law on it asks.

benkadi privacy purge --dry-run     what the retention schedule (BENKADI_RETENTION) would remove
benkadi privacy purge               remove it now (the scheduler does it daily), audited
benkadi privacy export MEMBER       everything held about one person (id, phone number or
                                    Telegram id): MEMBER.html and MEMBER.json, audited
benkadi privacy register            the processing register for the APDP, from the configuration
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from bot.vocabulary.i18n import LANGUAGES
from gateway.cli.arguments import Commands, json_flag, names, noun
from gateway.cli.common import actor, answer
from gateway.exports import access
from gateway.exports import register as processing_register
from gateway.settings import Settings
from storage import access_export, gateways, retention
from storage.database import Database
from storage.types import utcnow

LABELS = {
    "conversations": "unfinished dialogues",
    "message_bodies": "texts of members' messages",
    "reply_bodies": "texts of replies to members",
    "delivery_rows": "broadcast delivery rows (kept as counts)",
    "report_texts": "reports' free text, photo and reporter (figures kept)",
    "poll_texts": "free text of poll answers (the answers' counts kept)",
    "departed_members": "members who left or never consented (erased)",
    "stranger_addresses": "addresses of people who never registered",
    "erasure_suppressions": "erasure list entries (hashed addresses of the self-erased)",
    "photo_files": "photo files deleted",
}


def _schedule_lines(schedule: retention.Schedule) -> list[str]:
    return [
        f"  {name}: {'kept' if days is None else f'{days} days'}"
        for name, days in schedule.days().items()
    ]


async def purge(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    schedule, now = settings.retention_schedule, utcnow()
    if args.dry_run:
        found = await retention.plan(database, schedule, now)
        lines = ["Would remove:"] + [f"  {n:>7}  {LABELS[kind]}" for kind, n in found.items()]
    else:
        found = await retention.purge(
            database, schedule, now, actor(), media_dir=settings.media_dir
        )
        lines = ["Removed:"] + [f"  {n:>7}  {LABELS[kind]}" for kind, n in found.items()]
    lines += ["Schedule (BENKADI_RETENTION):", *_schedule_lines(schedule)]
    data = {"dry_run": args.dry_run, "removed" if not args.dry_run else "would_remove": found}
    return answer(args.json, {**data, "schedule_days": schedule.days()}, lines)


def _write_private(files: dict[Path, str]) -> None:
    """A copy of someone's personal data: readable by the one who made it only (0600)."""
    for path, text in files.items():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(descriptor, "w", encoding="utf-8") as out:
            out.write(text)


async def export(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    member_id = await access_export.find_member(database, args.member)
    held = await access_export.collect(database, member_id, actor(), "cli")
    base = Path(args.output or f"donnees-membre-{member_id}")
    html, json_ = base.with_name(base.name + ".html"), base.with_name(base.name + ".json")
    page = access.as_html(held, utcnow().isoformat(timespec="minutes"), args.language)
    await asyncio.to_thread(_write_private, {html: page, json_: access.as_json(held)})
    print(f"member {member_id}: {html} and {json_}", file=sys.stderr)
    return 0


async def register_command(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    """What the configuration does, and the Android phones the database knows."""
    phones = [(g.name, g.base_url) for g in await gateways.load_gateways(database)]
    parts = processing_register.sections(settings, utcnow().date(), phones)
    text = (
        processing_register.as_html(parts)
        if args.format == "html"
        else processing_register.as_markdown(parts)
    )
    if args.output:
        await asyncio.to_thread(Path(args.output).write_text, text, "utf-8")
        print(f"register written to {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


def register(commands: Commands) -> None:
    """Add `privacy` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "privacy", "personal data: retention purge, access copies, register")
    command = verbs.add_parser(
        "purge", parents=[as_json], help="apply the retention schedule now (or --dry-run)"
    )
    command.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    command.set_defaults(action=purge)
    command = verbs.add_parser(
        "export", help="a copy of everything held about one person (access request)"
    )
    names(
        command,
        "member",
        metavar="MEMBER",
        help="member id (id:42), phone number or Telegram id (telegram:55501); "
        "words that fit two members choose neither",
    )
    command.add_argument(
        "-o",
        "--output",
        metavar="NAME",
        help="files NAME.html and NAME.json (default: donnees-membre-ID in this directory)",
    )
    command.add_argument(
        "--language",
        choices=LANGUAGES,
        help="the language of the HTML page's headings (default: the member's own)",
    )
    command.set_defaults(action=export)
    command = verbs.add_parser(
        "register", help="the processing register (APDP declaration) from the configuration"
    )
    command.add_argument("--format", choices=["md", "html"], default="md")
    command.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    command.set_defaults(action=register_command)
