"""`benkadi privacy purge|export|register`: personal data as the law on it asks.

benkadi privacy purge --dry-run     what the retention schedule (BENKADI_RETENTION) would remove
benkadi privacy purge               remove it now (the scheduler does it daily), audited
"""

from __future__ import annotations

import argparse

from gateway.cli.arguments import Commands, json_flag, noun
from gateway.cli.common import actor, answer
from gateway.settings import Settings
from storage import retention
from storage.database import Database
from storage.types import utcnow

LABELS = {
    "conversations": "unfinished dialogues",
    "message_bodies": "texts of members' messages",
    "reply_bodies": "texts of replies to members",
    "delivery_rows": "broadcast delivery rows (kept as counts)",
    "report_texts": "reports' free text, photo and reporter (figures kept)",
    "departed_members": "members who left or never consented (erased)",
    "stranger_addresses": "addresses of people who never registered",
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


def register(commands: Commands) -> None:
    """Add `privacy` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "privacy", "personal data: retention purge, access copies, register")
    command = verbs.add_parser(
        "purge", parents=[as_json], help="apply the retention schedule now (or --dry-run)"
    )
    command.add_argument("--dry-run", action="store_true", help="say what would go; change nothing")
    command.set_defaults(action=purge)
