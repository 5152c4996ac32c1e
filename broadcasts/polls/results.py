"""Poll results, computed in SQL (GROUP BY): counts and percentages per question, broken down
by region, organisation kind, language, channel, sex and age band; response and completion
rates; capacity scores per organisation and dimension, and by sex, age band and region.
Nothing loads the answers themselves into Python.

In every breakdown, counts of 1 to 4 people are shown as "< 5" (bot/vocabulary/disclosure.py);
the overall counts of a question are not a breakdown and stay whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.disclosure import NOTE, SUPPRESSED, is_small, suppress_options
from bot.vocabulary.i18n import in_language
from bot.vocabulary.small_cells import EXCLUSIVE_KINDS
from broadcasts.polls.model import CHOICE_KINDS, Poll, text_in
from storage.database import Database
from storage.models import Member, Organisation
from storage.polls import choices, responses, sessions

members, organisations = Member.__table__, Organisation.__table__
NONE = "-"  # the breakdown value of a member with no region, organisation…


def breakdowns() -> dict[str, ColumnElement]:
    return {
        "region": func.coalesce(members.c.region, NONE),
        "organisation_kind": func.coalesce(organisations.c.kind, NONE),
        "language": func.coalesce(members.c.language, NONE),
        "channel": func.coalesce(sessions.c.channel, NONE),
        "sex": func.coalesce(members.c.sex, NONE),
        "age_band": func.coalesce(members.c.age_band, NONE),
    }


SCORE_BREAKDOWNS = ("sex", "age_band", "region")


def _joined(table: Any) -> Any:
    return (
        table.join(sessions, sessions.c.id == table.c.session_id)
        .join(members, members.c.id == sessions.c.member_id)
        .outerjoin(organisations, organisations.c.id == members.c.organisation_id)
    )


def _percent(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


async def participation(connection: AsyncConnection, poll_id: int) -> dict[str, Any]:
    invited, started, finished = (
        await connection.execute(
            select(func.count(), func.count(sessions.c.started_at), func.count(sessions.c.finished_at))
            .where(sessions.c.poll_id == poll_id)
        )
    ).one()  # fmt: skip
    return {
        "invited": invited,
        "started": started,
        "finished": finished,
        "response_rate": _percent(started, invited),
        "completion_rate": _percent(finished, invited),
    }


async def _grouped(connection: AsyncConnection, query: Select) -> list[tuple]:
    return [tuple(row) for row in await connection.execute(query)]


async def _choice_counts(
    connection: AsyncConnection, poll_id: int, by: ColumnElement | None
) -> tuple[dict, dict]:
    """(answered[(question, group)], counts[(question, group, option)]); group "" overall."""
    group = by if by is not None else None
    answered_cols = [responses.c.question, *([group] if group is not None else [])]
    answered = await _grouped(
        connection,
        select(*answered_cols, func.count())
        .select_from(_joined(responses) if group is not None else responses)
        .where(responses.c.poll_id == poll_id, responses.c.skipped.is_(False))
        .group_by(*answered_cols),
    )
    count_cols = [choices.c.question, *([group] if group is not None else []), choices.c.option]
    counted = await _grouped(
        connection,
        select(*count_cols, func.count())
        .select_from(_joined(choices) if group is not None else choices)
        .where(choices.c.poll_id == poll_id)
        .group_by(*count_cols),
    )
    if group is None:
        return (
            {(q, ""): n for q, n in answered},
            {(q, "", option): n for q, option, n in counted},
        )
    return (
        {(q, g): n for q, g, n in answered},
        {(q, g, option): n for q, g, option, n in counted},
    )


async def _numbers(connection: AsyncConnection, poll_id: int) -> dict[str, dict[str, Any]]:
    rows = await connection.execute(
        select(
            responses.c.question,
            func.count(responses.c.number),
            func.avg(responses.c.number),
            func.min(responses.c.number),
            func.max(responses.c.number),
            func.sum(responses.c.number),
        )
        .where(responses.c.poll_id == poll_id, responses.c.number.is_not(None))
        .group_by(responses.c.question)
    )
    return {
        q: {"count": n, "mean": round(avg, 2), "min": low, "max": high, "total": total}
        for q, n, avg, low, high, total in rows
    }


async def _skipped(connection: AsyncConnection, poll_id: int) -> dict[str, int]:
    rows = await connection.execute(
        select(responses.c.question, func.count())
        .where(responses.c.poll_id == poll_id, responses.c.skipped.is_(True))
        .group_by(responses.c.question)
    )
    return dict(tuple(row) for row in rows)


async def scores(connection: AsyncConnection, poll_id: int) -> dict[str, Any]:
    """Per respondent and dimension: the score as a percentage of the maximum over the scored
    questions they answered; per organisation: the mean over its respondents."""
    per_respondent = (
        select(
            sessions.c.member_id.label("member_id"),
            responses.c.dimension.label("dimension"),
            (100.0 * func.sum(responses.c.score) / func.sum(responses.c.max_score)).label("pct"),
        )
        .select_from(responses.join(sessions, sessions.c.id == responses.c.session_id))
        .where(
            responses.c.poll_id == poll_id,
            responses.c.skipped.is_(False),
            responses.c.max_score > 0,
            responses.c.dimension.is_not(None),
        )
        .group_by(sessions.c.id, sessions.c.member_id, responses.c.dimension)
        .subquery()
    )
    name = func.coalesce(organisations.c.name, NONE)
    rows = await connection.execute(
        select(
            name,
            func.coalesce(organisations.c.kind, NONE),
            per_respondent.c.dimension,
            func.avg(per_respondent.c.pct),
            func.count(),
        )
        .select_from(
            per_respondent.join(members, members.c.id == per_respondent.c.member_id).outerjoin(
                organisations, organisations.c.id == members.c.organisation_id
            )
        )
        .group_by(name, organisations.c.kind, per_respondent.c.dimension)
        .order_by(name, per_respondent.c.dimension)
    )
    by_org: dict[str, dict[str, Any]] = {}
    for org, kind, dimension, pct, respondents in rows:
        entry = by_org.setdefault(org, {"organisation": org, "kind": kind, "scores": {}})
        entry["scores"][dimension] = {"percent": round(pct, 1), "respondents": respondents}
    overall = await connection.execute(
        select(per_respondent.c.dimension, func.avg(per_respondent.c.pct), func.count())
        .group_by(per_respondent.c.dimension)
        .order_by(per_respondent.c.dimension)
    )
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for breakdown in SCORE_BREAKDOWNS:
        column = breakdowns()[breakdown]
        grouped = await connection.execute(
            select(column, per_respondent.c.dimension, func.avg(per_respondent.c.pct), func.count())
            .select_from(per_respondent.join(members, members.c.id == per_respondent.c.member_id))
            .group_by(column, per_respondent.c.dimension)
            .order_by(column, per_respondent.c.dimension)
        )
        for group, dimension, pct, respondents in grouped:
            small = is_small(respondents)  # a mean of 1-4 people's scores is theirs: hidden
            by.setdefault(breakdown, {}).setdefault(group, {})[dimension] = {
                "percent": None if small else round(pct, 1),
                "respondents": SUPPRESSED if small else respondents,
            }
    return {
        "overall": {d: {"percent": round(p, 1), "respondents": n} for d, p, n in overall},
        "organisations": list(by_org.values()),
        "by": by,
    }


def _options_of(
    question: Any, answered: Mapping, counts: Mapping, group: str, language: str
) -> dict[str, Any]:
    whole = answered.get((question.key, group), 0)
    labels = (
        [("yes", in_language(language, "Oui")), ("no", in_language(language, "Non"))]
        if question.kind == "yes_no"
        else [(o.key, text_in(o.texts, language)) for o in question.options]
    )
    return {
        "answered": whole,
        "options": [
            {
                "key": key,
                "label": label,
                "count": counts.get((question.key, group, key), 0),
                "percent": _percent(counts.get((question.key, group, key), 0), whole),
            }
            for key, label in labels
        ],
    }


async def compute(database: Database, slug: str, language: str = "fr") -> dict[str, Any]:
    from broadcasts.polls.service import poll_row, summary

    row = await poll_row(database, slug)
    poll = Poll.from_json(row.definition)
    async with database.sessions() as session:
        connection = await session.connection()
        rates = await participation(connection, row.id)
        answered, counts = await _choice_counts(connection, row.id, None)
        by = {
            name: await _choice_counts(connection, row.id, column)
            for name, column in breakdowns().items()
        }
        numbers = await _numbers(connection, row.id)
        skipped = await _skipped(connection, row.id)
        capacity = await scores(connection, row.id)
    questions = []
    for question in poll.questions:
        entry: dict[str, Any] = {
            "key": question.key,
            "kind": question.kind,
            "text": text_in(question.texts, language),
            "dimension": question.dimension,
            "answered": answered.get((question.key, ""), 0)
            if question.kind in CHOICE_KINDS
            else None,
            "skipped": skipped.get(question.key, 0),
        }
        if question.kind in CHOICE_KINDS:
            entry.update(_options_of(question, answered, counts, "", language))
            entry["by"] = {
                name: {
                    group: _suppressed(
                        _options_of(question, group_answered, group_counts, group, language),
                        question.kind,
                    )
                    for group in sorted({g for q, g in group_answered if q == question.key})
                }
                for name, (group_answered, group_counts) in by.items()
            }
        elif question.kind == "number":
            entry["number"] = numbers.get(question.key, {"count": 0})
            entry["answered"] = entry["number"]["count"]
        else:
            entry["answered"] = answered.get((question.key, ""), 0)
        questions.append(entry)
    return {
        "poll": summary(row),
        "rates": rates,
        "questions": questions,
        "scores": capacity,
        "small_cells": NOTE,
    }


def _suppressed(group: dict[str, Any], kind: str) -> dict[str, Any]:
    answered, options = suppress_options(
        group["answered"], group["options"], exclusive=kind in EXCLUSIVE_KINDS
    )
    return {**group, "answered": answered, "options": options}


def shareable(result: dict[str, Any]) -> dict[str, Any]:
    """The results as they may leave the console (the HTTP API): each choice question's own
    counts suppressed as its breakdowns are, as the counts sheet and the charts show them
    (a question 3 people answered shows none of its counts). The console's pages and the
    CLI on the server keep the exact figures."""
    questions = []
    for question in result["questions"]:
        if "options" in question:
            question = _suppressed(question, question.get("kind", ""))
        questions.append(question)
    return {**result, "questions": questions}
