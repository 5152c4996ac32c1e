"""Polls' rows: their state, the sessions their broadcasts open, and the answers the poll
dialogue reads and writes in the message's transaction. Definitions are read once per poll id
and cached (they never change after launch).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import MovePoll, PollView, RecordPollAnswer
from broadcasts.polls.model import Poll
from storage.models import OutboxMessage, PollChoice, PollResponse, PollSession
from storage.models import Poll as PollRow
from storage.upsert import insert_ignore, upsert

polls, sessions = PollRow.__table__, PollSession.__table__
outbox = OutboxMessage.__table__
responses, choices = PollResponse.__table__, PollChoice.__table__
RESPONSE_COLUMNS = (
    "position", "skipped", "options", "number", "text", "score", "max_score", "dimension",
    "channel", "answered_at",
)  # fmt: skip


class PollStatus(StrEnum):
    DRAFT = "draft"  # its definition may still change
    LAUNCHED = "launched"  # invited: fixed for good (closing sets closes_at, not a status)


_definitions: dict[tuple[str, int], Poll] = {}  # (database, poll id): several databases in tests


async def definition(connection: AsyncConnection, poll_id: int) -> Poll | None:
    key = (str(connection.engine.url), poll_id)
    if key not in _definitions:
        data = await connection.scalar(
            select(polls.c.definition).where(
                polls.c.id == poll_id, polls.c.status == PollStatus.LAUNCHED
            )
        )
        if data is None:
            return None
        _definitions[key] = Poll.from_json(data)
    return _definitions[key]


def is_open(row: Any, now: datetime) -> bool:
    return row.status == PollStatus.LAUNCHED and (row.closes_at is None or now < row.closes_at)


async def view(
    connection: AsyncConnection, member_id: int, poll_id: int | None, now: datetime
) -> PollView | None:
    """The member's session in `poll_id`, or (None) their current poll: the unfinished open
    session last invited or resumed, else the latest session of any launched poll."""
    query = (
        select(sessions, polls.c.status, polls.c.closes_at)
        .join(polls, polls.c.id == sessions.c.poll_id)
        .where(sessions.c.member_id == member_id, polls.c.status == PollStatus.LAUNCHED)
    )
    if poll_id is not None:
        query = query.where(sessions.c.poll_id == poll_id)
    rows = (await connection.execute(query.order_by(sessions.c.current_at.desc()))).all()
    if not rows:
        return None
    waiting = [r for r in rows if r.finished_at is None and is_open(r, now)]
    row = (waiting or rows)[0]
    poll = await definition(connection, row.poll_id)
    if poll is None:
        return None
    answers: dict[str, Any] = {}
    for question, skipped, options, number in await connection.execute(
        select(
            responses.c.question, responses.c.skipped, responses.c.options, responses.c.number
        ).where(responses.c.session_id == row.id)
    ):
        answers[question] = None if skipped else (number if options is None else options)
    return PollView(
        poll_id=row.poll_id,
        poll=poll,
        open=is_open(row, now),
        question=row.question,
        finished=row.finished_at is not None,
        answers=answers,
        closes_at=row.closes_at,
        newer_invitation=await _newer_invitation(connection, member_id, row, now),
    )


async def _newer_invitation(
    connection: AsyncConnection, member_id: int, row: Any, now: datetime
) -> bool:
    """Whether another open poll invited the member after this session's question was asked."""
    if row.question is None:
        return False
    newer = await connection.execute(
        select(sessions.c.id)
        .join(polls, polls.c.id == sessions.c.poll_id)
        .where(
            sessions.c.member_id == member_id,
            sessions.c.poll_id != row.poll_id,
            sessions.c.finished_at.is_(None),
            sessions.c.invited_at > row.current_at,
            polls.c.status == PollStatus.LAUNCHED,
            (polls.c.closes_at.is_(None)) | (polls.c.closes_at > now),
        )
        .limit(1)
    )
    return newer.first() is not None


async def _session_id(connection: AsyncConnection, member_id: int, poll_id: int) -> int | None:
    return await connection.scalar(
        select(sessions.c.id).where(
            sessions.c.poll_id == poll_id, sessions.c.member_id == member_id
        )
    )


async def record_answer(
    connection: AsyncConnection,
    member_id: int,
    answer: RecordPollAnswer,
    channel: str,
    now: datetime,
) -> None:
    """Store an answer; an earlier answer to the same question is replaced (latest wins)."""
    session_id = await _session_id(connection, member_id, answer.poll_id)
    if session_id is None:  # not invited: the dialogue never asks then; nothing to attach to
        return
    row = {
        "session_id": session_id,
        "poll_id": answer.poll_id,
        "question": answer.question,
        "position": answer.position,
        "skipped": answer.skipped,
        "options": list(answer.options) if answer.options else None,
        "number": answer.number,
        "text": answer.text,
        "score": answer.score,
        "max_score": answer.max_score,
        "dimension": answer.dimension,
        "channel": channel,
        "answered_at": now,
    }
    await connection.execute(
        upsert(connection, responses, ("session_id", "question"), RESPONSE_COLUMNS), [row]
    )
    await connection.execute(
        delete(choices).where(
            choices.c.session_id == session_id, choices.c.question == answer.question
        )
    )
    if answer.options:
        await connection.execute(
            choices.insert(),
            [
                {
                    "session_id": session_id,
                    "poll_id": answer.poll_id,
                    "question": answer.question,
                    "option": option,
                }
                for option in answer.options
            ],
        )
    await connection.execute(
        update(sessions).where(sessions.c.id == session_id).values(channel=channel)
    )


async def move(
    connection: AsyncConnection, member_id: int, moved: MovePoll, channel: str, now: datetime
) -> None:
    """The session goes to a question (or is finished) and becomes the member's current poll."""
    session_id = await _session_id(connection, member_id, moved.poll_id)
    if session_id is None:
        return
    values: dict[str, Any] = {"question": moved.question, "current_at": now, "channel": channel}
    if moved.finished:
        values["finished_at"] = now
    await connection.execute(update(sessions).where(sessions.c.id == session_id).values(**values))
    await connection.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.started_at.is_(None))
        .values(started_at=now)
    )


# --- launch and reminder ---------------------------------------------------------------------
async def claim_launch(connection: AsyncConnection, poll_id: int, now: datetime) -> bool:
    """Mark a draft poll launched; False when it is launched already (by anyone)."""
    claimed = await connection.scalar(
        update(polls)
        .where(polls.c.id == poll_id, polls.c.status == PollStatus.DRAFT)
        .values(status=PollStatus.LAUNCHED.value, launched_at=now)
        .returning(polls.c.id)
    )
    return claimed is not None


async def open_sessions(
    connection: AsyncConnection, poll_id: int, broadcast_id: int, now: datetime
) -> None:
    """A session for each member the invitation broadcast reached; the poll records it."""
    invited = select(literal(poll_id), outbox.c.member_id, literal(now), literal(now)).where(
        outbox.c.broadcast_id == broadcast_id, outbox.c.member_id.is_not(None)
    )
    await connection.execute(
        insert_ignore(connection, sessions, ["poll_id", "member_id"]).from_select(
            ["poll_id", "member_id", "invited_at", "current_at"], invited
        )
    )
    await connection.execute(
        update(polls).where(polls.c.id == poll_id).values(broadcast_id=broadcast_id)
    )


async def claim_reminder(connection: AsyncConnection, poll_id: int, now: datetime) -> bool:
    """Mark the poll reminded; False when it was already (by another scheduler)."""
    claimed = await connection.scalar(
        update(polls)
        .where(polls.c.id == poll_id, polls.c.reminded_at.is_(None))
        .values(reminded_at=now)
        .returning(polls.c.id)
    )
    return claimed is not None


def unfinished_members(poll_id: int) -> Select[Any]:
    """Members invited to the poll who have not finished it: whom a reminder is for."""
    return select(sessions.c.member_id).where(
        sessions.c.poll_id == poll_id, sessions.c.finished_at.is_(None)
    )


async def mark_reminded(
    connection: AsyncConnection, poll_id: int, broadcast_id: int, now: datetime
) -> None:
    """The sessions the reminder broadcast reached are reminded; the poll records it."""
    reminded = select(outbox.c.member_id).where(outbox.c.broadcast_id == broadcast_id)
    await connection.execute(
        update(sessions)
        .where(sessions.c.poll_id == poll_id, sessions.c.member_id.in_(reminded))
        .values(reminded_at=now)
    )
    await connection.execute(
        update(polls).where(polls.c.id == poll_id).values(reminder_broadcast_id=broadcast_id)
    )
