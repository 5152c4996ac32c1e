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

from broadcasts.polls import charts, export, results
from broadcasts.polls import service as poll_service
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import PollError, load_poll_file, shipped_polls
from gateway.cli.admin import actor, emit_json, enabled_channels
from gateway.cli.runner import ErrorTable, fail, run_on_database
from gateway.settings import Settings
from storage import audit
from storage.database import Database
from storage.tabular import write_tables

COMMANDS = ("polls",)


def _now() -> datetime:
    return datetime.now(UTC)


def validate(args: argparse.Namespace) -> int:
    paths = [Path(name) for name in args.files] or shipped_polls()
    failed = 0
    for path in paths:
        try:
            poll = load_poll_file(path)
        except PollError as error:
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
    if args.json:
        emit_json(polls)
    for poll in [] if args.json else polls:
        print(
            f"{poll['slug']:24} {poll['status']:9} {poll['questions']:3} questions  {poll['title']}"
        )
    return 0


async def launch(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    channels, note = enabled_channels(settings)
    launched = await poll_service.launch(
        database, args.slug, actor(), enabled_channels=channels, now=_now()
    )
    if note:
        print(f"Note: {note}")
    print(
        f"Poll {args.slug} launched: {launched['invited']} invited (broadcast {launched['broadcast']})."
    )
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
    if args.json:
        emit_json(result)
    else:
        print("\n".join(results_text(result)))
    return 0


async def chart(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    result = await results.compute(database, args.slug)
    question = next((q for q in result["questions"] if q["key"] == args.question), None)
    if question is None or "options" not in question:
        return fail("question", f"no choice question {args.question} in {args.slug}")
    await asyncio.to_thread(Path(args.output).write_bytes, charts.question_chart(question))
    print(f"Chart of {args.question} written to {args.output}.")
    return 0


async def export_answers(database: Database, args: argparse.Namespace, settings: Settings) -> int:
    row = await poll_service.poll_row(database, args.slug)
    poll = Poll.from_json(row.definition)
    tables = [export.answer_table(database, row.id, poll, args.layout)]
    if args.format == "xlsx":
        tables += export.summary_tables(await results.compute(database, args.slug))
    async with database.transaction() as connection:
        await audit.record(
            connection, actor(), "poll.export", poll_service.target(args.slug),
            {"format": args.format, "layout": args.layout, "file": args.output},
        )  # fmt: skip
    handle = await asyncio.to_thread(open, args.output, "wb")
    try:

        async def sink(chunk: bytes) -> None:
            await asyncio.to_thread(handle.write, chunk)

        count = await write_tables(args.format, tables, sink)
    finally:
        handle.close()
    print(f"{count} rows written to {args.output}.")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", help="print JSON")
    polls = subparsers.add_parser("polls", help="capacity polls: define, launch, results")
    actions = polls.add_subparsers(dest="polls_command", required=True)
    command = actions.add_parser("validate", help="check poll files (FILE:LINE: FIELD: error)")
    command.add_argument("files", nargs="*", metavar="FILE")
    command = actions.add_parser("load", help="store poll files' definitions")
    command.add_argument("files", nargs="+", metavar="FILE")
    command.set_defaults(action=load)
    command = actions.add_parser("list", parents=[json_flag], help="every poll")
    command.set_defaults(action=list_polls)
    for name, action, meaning in (
        ("launch", launch, "invite the poll's audience now"),
        ("close", close, "close the poll now"),
    ):
        command = actions.add_parser(name, help=meaning)
        command.add_argument("slug", metavar="SLUG")
        command.set_defaults(action=action)
    command = actions.add_parser("results", parents=[json_flag], help="counts, rates, scores")
    command.add_argument("slug", metavar="SLUG")
    command.set_defaults(action=show_results)
    command = actions.add_parser("chart", help="a choice question's bar chart as SVG")
    command.add_argument("slug", metavar="SLUG")
    command.add_argument("question", metavar="QUESTION")
    command.add_argument("-o", "--output", required=True, metavar="FILE.svg")
    command.set_defaults(action=chart)
    command = actions.add_parser("export", help="the answers as CSV or XLSX")
    command.add_argument("slug", metavar="SLUG")
    command.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    command.add_argument("--layout", choices=export.LAYOUTS, default="long")
    command.add_argument("-o", "--output", required=True, metavar="FILE")
    command.set_defaults(action=export_answers)


ERRORS: ErrorTable = (
    (PollError, lambda e: ("", str(e))),  # already FILE:LINE: FIELD: message
    (poll_service.PollNotFound, lambda e: ("slug", str(e))),
    (poll_service.PollStateError, lambda e: ("state", str(e))),
)


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.polls_command == "validate":  # the files only: no database needed
        return validate(args)
    return await run_on_database(
        settings, lambda database: args.action(database, args, settings), ERRORS
    )
