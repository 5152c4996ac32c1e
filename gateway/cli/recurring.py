"""`benkadi recurring list|enable|disable|set`: the recurring messages (the monthly report
reminder, shipped off), straight on the database, audited as from the console.

benkadi recurring list [--json]                      each schedule, on or off, next, last ones
benkadi recurring enable|disable KEY                 switch it on; off stops what is to come
benkadi recurring set KEY --day 25 --time 09:00      its day of the month and Bamako time
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from broadcasts import recurring
from gateway.cli.arguments import Commands, json_flag, names, noun
from gateway.cli.common import actor, answer
from gateway.settings import Settings
from storage.database import Database


def list_text(schedules: list[dict[str, Any]]) -> list[str]:
    lines = []
    for item in schedules:
        state = (
            "enabled" if item["enabled"] else f"disabled (benkadi recurring enable {item['key']})"
        )
        lines.append(f"{item['key']}: {item['title']} — {state}")
        lines.append(f"  every month on the {item['day']} at {item['time']} (Bamako time)")
        if item["enabled"]:
            lines.append(f"  next: {item['next'][:16]}")
        for occurrence in item["occurrences"][:12]:
            what = (
                "skipped: nobody qualified"
                if occurrence["skipped"]
                else f"broadcast {occurrence['broadcast_id']}, {occurrence['status']}, "
                f"{occurrence['recipients']} recipients"
            )
            lines.append(f"  {occurrence['occurs_at'][:16]}  {what}")
    return lines


async def list_schedules(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    schedules = await recurring.overview(database, datetime.now(UTC))
    return answer(args.json, schedules, list_text(schedules))


async def switch(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    on = args.verb == "enable"
    await recurring.change(database, args.key, actor(), datetime.now(UTC), enabled=on)
    print(f"Recurring message {args.key} is {'enabled' if on else 'disabled'}.")
    return 0


async def set_schedule(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    await recurring.change(
        database, args.key, actor(), datetime.now(UTC), day=args.day, time=args.time
    )
    print(f"Recurring message {args.key}: every month on the {args.day} at {args.time}.")
    return 0


def register(commands: Commands) -> None:
    """Add `recurring` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "recurring", "recurring messages: the monthly report reminder")
    command = verbs.add_parser("list", parents=[as_json], help="each schedule and its last sends")
    command.set_defaults(action=list_schedules)
    for name, meaning in (
        ("enable", "send it on its day every month"),
        ("disable", "send no more of it (what is to come is cancelled)"),
    ):
        command = verbs.add_parser(name, help=meaning)
        names(command, "key", metavar="KEY")
        command.set_defaults(action=switch)
    command = verbs.add_parser("set", help="its day of the month and time (Bamako)")
    names(command, "key", metavar="KEY")
    command.add_argument("--day", required=True, help="1 to 31 (a shorter month: its last day)")
    command.add_argument("--time", required=True, help="HH:MM, Bamako time")
    command.set_defaults(action=set_schedule)
