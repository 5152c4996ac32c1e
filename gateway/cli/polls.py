"""`benkadi polls …`: poll definitions, launch, results, charts and exports, on the database.

benkadi polls validate [FILE …]          check poll files (the shipped ones by default)
benkadi polls load FILE …                store (or replace a draft's) definition
benkadi polls list
benkadi polls launch SLUG | close SLUG
benkadi polls results SLUG [--json]
benkadi polls chart SLUG QUESTION -o FILE.svg
benkadi polls export SLUG --format csv|xlsx --layout long|wide -o FILE
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.vocabulary.errors import FieldError, NotFound
from broadcasts.polls import charts, export, results
from broadcasts.polls import editing as poll_editing
from broadcasts.polls import service as poll_service
from broadcasts.polls.parse import load_poll_file, shipped_polls
from gateway.cli.arguments import Commands, json_flag, names, noun
from gateway.cli.common import actor, answer, counted, enabled_channels
from gateway.cli.tables import Column, print_rows
from gateway.exports.answers import answer_export
from gateway.exports.output import to_file
from gateway.settings import Settings
from storage.database import Database
from storage.tabular import FORMATS

COLUMNS = (
    Column("slug", 24),
    Column("status", 9),
    Column("questions", 3, right=True),
    Column("title"),
)


def _now() -> datetime:
    return datetime.now(UTC)


def validate(args: argparse.Namespace, settings: Settings) -> int:
    """Each file: ok with its questions, or its error as FILE:LINE: FIELD: MESSAGE (exit 1)."""
    paths = [Path(name) for name in args.files] or shipped_polls()
    failed = 0
    for path in paths:
        try:
            poll = load_poll_file(path)
        except FieldError as error:
            print(error, file=sys.stderr)
            failed += 1
        else:
            print(f"{path}: ok, {len(poll.questions)} questions")
    return 1 if failed else 0


async def load(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    polls = [load_poll_file(Path(name)) for name in args.files]  # all checked before any saved
    for poll in polls:
        poll_id = await poll_service.save(database, poll, actor(), _now())
        print(f"Poll {poll.slug} saved (id {poll_id}, {len(poll.questions)} questions).")
    return 0


async def list_polls(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    polls = await poll_service.list_polls(database)
    empty = "No polls. Store one: benkadi polls load FILE"
    return print_rows(polls, args.json, COLUMNS, _cells, empty=empty)


def _cells(poll: dict[str, Any]) -> tuple[object, ...]:
    return (poll["slug"], poll["status"], poll["questions"], poll["title"])


async def launch(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    channels, note = await enabled_channels(settings, database)
    launched = await poll_service.launch(
        database, args.slug, actor(), enabled_channels=channels, now=_now()
    )
    if note:
        print(f"Note: {note}")
    print(
        f"Poll {args.slug} launched: {launched['invited']} invited (broadcast {launched['broadcast']})."
    )
    return 0


async def schedule(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    """Open by itself on its opening date (the scheduler of `benkadi serve`), or not any more."""
    on = args.verb == "schedule"
    await poll_editing.schedule(database, args.slug, on, actor(), _now())
    if on:
        row = await poll_service.poll_row(database, args.slug)
        print(f"Poll {args.slug} opens by itself at {row.opens_at.isoformat()} (Bamako time).")
    else:
        print(f"Poll {args.slug} no longer opens by itself: launch it by hand.")
    return 0


async def close(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    await poll_service.close(database, args.slug, actor(), _now())
    print(f"Poll {args.slug} is closed.")
    return 0


def results_text(result: dict[str, Any]) -> list[str]:
    rates = result["rates"]
    lines = [
        f"{result['poll']['title']} ({result['poll']['slug']})",
        f"invited {rates['invited']}, started {rates['started']} ({rates['response_rate']} %), "
        f"finished {rates['finished']} ({rates['completion_rate']} %)",
    ]
    for n, question in enumerate(result["questions"], 1):
        lines.append(f"{n}. {question['text']}  [{question['answered']} answers]")
        for option in question.get("options", ()):
            lines.append(f"   {option['label']:40} {option['count']:6} {option['percent']:6} %")
        if "number" in question and question["number"]["count"]:
            number = question["number"]
            lines.append(f"   mean {number['mean']}, min {number['min']}, max {number['max']}")
    for dimension, value in result["scores"]["overall"].items():
        lines.append(
            f"score {dimension}: {value['percent']} % ({value['respondents']} respondents)"
        )
    for org in result["scores"]["organisations"]:
        scores = ", ".join(f"{d} {v['percent']} %" for d, v in org["scores"].items())
        lines.append(f"   {org['organisation']}: {scores}")
    return lines


async def show_results(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    result = await results.compute(database, args.slug)
    return answer(args.json, result, results_text(result))


async def chart(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    result = await results.compute(database, args.slug)
    question = next((q for q in result["questions"] if q["key"] == args.question), None)
    if question is None or "options" not in question:
        raise NotFound(f"no choice question {args.question} in {args.slug}", field="question")
    await asyncio.to_thread(Path(args.output).write_bytes, charts.question_chart(question))
    print(f"Chart of {args.question} written to {args.output}.")
    return 0


async def export_answers(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    details = {"file": args.output}
    tables = await answer_export(database, actor(), args.slug, args.format, args.layout, details)
    count = await to_file(args.output, args.format, tables)
    print(counted(count, "{n} row", "{n} rows") + f" written to {args.output}.")
    return 0


def register(commands: Commands) -> None:
    """Add `polls` and its verbs to the `benkadi` parser."""
    as_json = json_flag()
    verbs = noun(commands, "polls", "capacity polls: define, launch, results")
    command = verbs.add_parser("validate", help="check poll files (FILE:LINE: FIELD: error)")
    command.add_argument("files", nargs="*", metavar="FILE")
    command.set_defaults(offline=validate)
    command = verbs.add_parser("load", help="store poll files' definitions")
    command.add_argument("files", nargs="+", metavar="FILE")
    command.set_defaults(action=load)
    command = verbs.add_parser("list", parents=[as_json], help="every poll")
    command.set_defaults(action=list_polls)
    for name, action, meaning in (
        ("launch", launch, "invite the poll's audience now"),
        ("schedule", schedule, "open it by itself on its opening date (the scheduler)"),
        ("unschedule", schedule, "no longer open it by itself"),
        ("close", close, "close the poll now"),
    ):
        command = verbs.add_parser(name, help=meaning)
        names(command, "slug", metavar="SLUG")
        command.set_defaults(action=action)
    command = verbs.add_parser("results", parents=[as_json], help="counts, rates, scores")
    names(command, "slug", metavar="SLUG")
    command.set_defaults(action=show_results)
    command = verbs.add_parser("chart", help="a choice question's bar chart as SVG")
    names(command, "slug", metavar="SLUG")
    command.add_argument("question", metavar="QUESTION")
    command.add_argument("-o", "--output", required=True, metavar="FILE.svg")
    command.set_defaults(action=chart)
    command = verbs.add_parser("export", help="the answers as CSV or XLSX")
    names(command, "slug", metavar="SLUG")
    command.add_argument("--format", choices=tuple(FORMATS), default="csv")
    command.add_argument("--layout", choices=export.LAYOUTS, default="long")
    command.add_argument("-o", "--output", required=True, metavar="FILE")
    command.set_defaults(action=export_answers)
