"""Poll answers as tables for storage.tabular: long (one row per answer) and wide (one row per
respondent), streamed from the database in pages: memory stays flat at any size. The XLSX
also carries the counts and the capacity scores as sheets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select

from bot.vocabulary.disclosure import NOTE
from bot.vocabulary.i18n import in_language
from bot.vocabulary.reference import KIND_LABELS
from bot.vocabulary.small_cells import EXCLUSIVE_KINDS, HIDDEN, SECONDARY, option_counts, shown
from broadcasts.polls.model import Poll, text_in
from broadcasts.polls.results import NONE
from storage.database import Database
from storage.models import Member, Organisation
from storage.polls import responses, sessions
from storage.tabular import Table

members, organisations = Member.__table__, Organisation.__table__
PAGE = 2000
LAYOUTS = ("long", "wide")
RESPONDENT = ("member_id", "organisation", "organisation_kind", "region", "language")
# Long: a few columns, since the cells are what an XLSX costs (about 100,000 a second).
# A skipped optional question is a row with no answer.
LONG_HEADER = (*RESPONDENT, "channel", "question", "answer", "score", "answered_at")
WIDE_BASE = (*RESPONDENT, "channel", "started_at", "finished_at")


def answer_labels(poll: Poll) -> dict[str, dict[str, str]]:
    """Question → option key → its French label: built once per export, not once per row."""
    yes_no = {"yes": in_language("fr", "Oui"), "no": in_language("fr", "Non")}
    return {
        q.key: yes_no if q.kind == "yes_no" else {o.key: text_in(o.texts, "fr") for o in q.options}
        for q in poll.questions
    }


def answer_text(labels: dict[str, str] | None, options: Sequence[str] | None, number, text) -> Any:
    """An answer as a person reads it: option labels (French), the number, or the text."""
    if options:
        return "; ".join((labels or {}).get(o, o) for o in options)
    if number is not None:
        return int(number) if number == int(number) else number
    return text


def _query(poll_id: int, wide: bool):
    respondent = (
        responses.c.session_id,
        sessions.c.member_id,
        organisations.c.name,
        organisations.c.kind,
        members.c.region,
        members.c.language,
    )
    answer = (
        responses.c.question,
        responses.c.options,
        responses.c.number,
        responses.c.text,
        responses.c.skipped,
    )
    more = (
        (sessions.c.channel, sessions.c.started_at, sessions.c.finished_at)
        if wide
        else (responses.c.channel, responses.c.score, responses.c.answered_at)
    )
    return (
        select(*respondent, *answer, *more)
        .select_from(
            responses.join(sessions, sessions.c.id == responses.c.session_id)
            .join(members, members.c.id == sessions.c.member_id)
            .outerjoin(organisations, organisations.c.id == members.c.organisation_id)
        )
        .where(responses.c.poll_id == poll_id)
        .order_by(responses.c.session_id, responses.c.position)
    )


async def _stream(database: Database, poll_id: int, wide: bool) -> AsyncIterator[Any]:
    """The poll's answers in (respondent, question) order, a page of rows at a time."""
    async with database.sessions() as session:
        result = await session.stream(_query(poll_id, wide).execution_options(yield_per=PAGE))
        async for page in result.partitions(PAGE):  # one trip to the database thread a page
            for row in page:
                yield row


def _kind(key: str | None) -> str:
    """An organisation's kind as people read it ("Association"), as the console shows it."""
    return KIND_LABELS.get(key, key) if key else NONE


def _respondent(row: Any) -> list[Any]:
    return [row.member_id, row.name or NONE, _kind(row.kind), row.region or NONE, row.language]


async def long_rows(database: Database, poll_id: int, poll: Poll) -> AsyncIterator[list]:
    labels = answer_labels(poll)
    async for row in _stream(database, poll_id, wide=False):
        yield [
            *_respondent(row),
            row.channel,
            row.question,
            None
            if row.skipped
            else answer_text(labels.get(row.question), row.options, row.number, row.text),
            row.score,
            row.answered_at,
        ]


async def wide_rows(database: Database, poll_id: int, poll: Poll) -> AsyncIterator[list]:
    columns = {q.key: n for n, q in enumerate(poll.questions)}
    labels = answer_labels(poll)
    current: list = []  # the session's row, empty before the first
    session_id = None
    async for row in _stream(database, poll_id, wide=True):
        if row.session_id != session_id:
            if current:
                yield current
            session_id = row.session_id
            base = [*_respondent(row), row.channel, row.started_at, row.finished_at]
            current = base + [None] * len(columns)
        if row.question in columns and not row.skipped:
            value = answer_text(labels.get(row.question), row.options, row.number, row.text)
            current[len(WIDE_BASE) + columns[row.question]] = value
    if current:
        yield current


async def _listed(rows: list[list]) -> AsyncIterator[list]:
    for row in rows:
        yield row


def _counted(question: dict[str, Any]) -> list[list]:
    """A question's counts as they may leave the console: under 5 people hidden, with the
    percentage that would give it away, and for one-answer questions the next smallest count
    with a lone hidden one (bot/vocabulary/small_cells.py)."""
    answered, options = question["answered"], question.get("options", ())
    marks = option_counts(
        answered, [o["count"] for o in options], question.get("kind") in EXCLUSIVE_KINDS
    )
    rows = []
    for option, count in zip(options, marks, strict=True):
        hidden = isinstance(count, str) or shown(answered) == HIDDEN
        percent = SECONDARY if hidden else option["percent"]
        rows.append(
            [question["key"], question["text"], option["label"], count, shown(answered), percent]
        )
    return rows


def summary_tables(results: dict[str, Any]) -> list[Table]:
    """The counts per option and the capacity scores, as sheets (small: no streaming needed)."""
    counts = [row for q in results["questions"] for row in _counted(q)]
    scores = [
        [org["organisation"], _kind(org["kind"]), dimension, value["percent"], value["respondents"]]
        for org in results["scores"]["organisations"]
        for dimension, value in org["scores"].items()
    ]
    breakdown = [
        [name, group, q["key"], option["label"], option["count"], entry["answered"],
         option["percent"]]
        for q in results["questions"]
        for name, groups in q.get("by", {}).items()
        for group, entry in groups.items()
        for option in entry["options"]
    ]  # fmt: skip
    return [
        Table(
            "counts",
            ("question", "text", "option", "count", "answered", "percent"),
            _listed(counts),
        ),
        Table(
            "scores",
            ("organisation", "organisation_kind", "dimension", "percent", "respondents"),
            _listed(scores),
        ),
        Table(
            "breakdowns",
            ("breakdown", "group", "question", "option", "count", "answered", "percent"),
            _listed(breakdown),
        ),
        Table("small_cells", ("note",), _listed([[NOTE]])),  # the exports say so
    ]


def answer_table(database: Database, poll_id: int, poll: Poll, layout: str) -> Table:
    if layout == "long":
        return Table(f"{poll.slug}-long", LONG_HEADER, long_rows(database, poll_id, poll))
    if layout == "wide":
        header = (*WIDE_BASE, *(q.key for q in poll.questions))
        return Table(f"{poll.slug}-wide", header, wide_rows(database, poll_id, poll))
    raise ValueError(f"unknown layout {layout!r} (long or wide)")
