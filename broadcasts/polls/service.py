"""Polls, the imperative shell used by the HTTP API, the CLI and the scheduler: save a
definition, launch it (an ordinary broadcast invites the audience and opens one session per
member reached), send the reminder once, close it.

Launch and reminder are claims (UPDATE … WHERE status/reminded_at … RETURNING) in the same
transaction as their broadcast, fan-out and audit entry: two processes never both launch or
both remind, and a crash half-way leaves nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import Conflict, NotFound
from bot.vocabulary.i18n import LANGUAGES, N_, in_language
from broadcasts.campaigns.calendar import QuietHours
from broadcasts.fanout import fan_out
from broadcasts.model import Draft
from broadcasts.polls.model import Poll
from broadcasts.service import SCHEDULER, insert_broadcast
from storage import audit
from storage.database import Database
from storage.models import Broadcast, Member, OutboxMessage
from storage.polls import polls, sessions
from storage.upsert import insert_ignore

broadcasts, outbox, members = Broadcast.__table__, OutboxMessage.__table__, Member.__table__


class PollNotFound(NotFound):
    pass


class PollStateError(Conflict):
    """The poll's state forbids this (e.g. changing a launched poll, launching it twice)."""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def target(slug: str) -> str:
    return f"poll:{slug}"


async def save(database: Database, poll: Poll, actor: str, now: datetime) -> int:
    """Store a new poll, or replace a draft's definition; a launched poll cannot change."""
    values = {
        "title": poll.title["fr"][:200],
        "definition": poll.to_json(),
        "opens_at": poll.opens_at,
        "closes_at": poll.closes_at,
        "reminder_days": poll.reminder_days,
    }
    async with database.transaction() as connection:
        row = (
            await connection.execute(
                select(polls.c.id, polls.c.status).where(polls.c.slug == poll.slug)
            )
        ).one_or_none()
        if row is not None and row.status != "draft":
            raise PollStateError(f"poll {poll.slug} is {row.status}: it can no longer change")
        if row is None:
            poll_id = await connection.scalar(
                polls.insert()
                .values(slug=poll.slug, status="draft", created_by=actor, created_at=now, **values)
                .returning(polls.c.id)
            )
        else:
            poll_id = row.id
            await connection.execute(update(polls).where(polls.c.id == poll_id).values(**values))
        await audit.record(
            connection, actor, "poll.save", target(poll.slug), {"questions": len(poll.questions)}
        )
    return poll_id


async def _button(connection: AsyncConnection, broadcast_id: int, key: str, label: str) -> None:
    """Telegram rows of the broadcast get a button, labelled in each member's language."""
    for language in LANGUAGES:
        in_their_language = select(members.c.id).where(members.c.language == language)
        await connection.execute(
            update(outbox)
            .where(
                outbox.c.broadcast_id == broadcast_id,
                outbox.c.channel == "telegram",
                outbox.c.member_id.in_(in_their_language),
            )
            .values(choices=[[key, in_language(language, label)]])
        )


async def launch(
    database: Database,
    slug: str,
    actor: str,
    *,
    enabled_channels: Collection[str],
    now: datetime,
) -> dict[str, Any]:
    """Invite the poll's audience (a broadcast) and open a session for each member reached."""
    async with database.transaction() as connection:
        row = (await connection.execute(select(polls).where(polls.c.slug == slug))).one_or_none()
        if row is None:
            raise PollNotFound(f"no poll {slug}")
        if row.closes_at is not None and row.closes_at <= now:
            raise PollStateError(f"poll {slug} closed at {_iso(row.closes_at)}")
        if row.opens_at is not None and row.opens_at > now:
            raise PollStateError(f"poll {slug} opens at {_iso(row.opens_at)}: launch it then")
        claimed = await connection.scalar(
            update(polls)
            .where(polls.c.id == row.id, polls.c.status == "draft")
            .values(status="launched", launched_at=now)
            .returning(polls.c.id)
        )
        if claimed is None:
            raise PollStateError(f"poll {slug} is {row.status}: launched already")
        poll = Poll.from_json(row.definition)
        draft = Draft(
            texts=poll.invitation,
            audience=poll.audience,
            sms_gsm_safe=poll.sms_gsm_safe,
            title=f"Sondage : {poll.title['fr']}"[:200],
        )
        broadcast_id = await insert_broadcast(
            connection, draft, status="sending", created_by=actor, now=now, fanned_out_at=now
        )
        queued = await fan_out(connection, broadcast_id, draft, enabled_channels, now)
        await connection.execute(
            update(broadcasts).where(broadcasts.c.id == broadcast_id).values(recipients=queued)
        )
        invited = select(literal(row.id), outbox.c.member_id, literal(now), literal(now)).where(
            outbox.c.broadcast_id == broadcast_id, outbox.c.member_id.is_not(None)
        )
        await connection.execute(
            insert_ignore(connection, sessions, ["poll_id", "member_id"]).from_select(
                ["poll_id", "member_id", "invited_at", "current_at"], invited
            )
        )
        await _button(connection, broadcast_id, f"p:{row.id}:start", N_("Commencer"))
        await connection.execute(
            update(polls).where(polls.c.id == row.id).values(broadcast_id=broadcast_id)
        )
        details = {"broadcast": broadcast_id, "invited": queued}
        await audit.record(
            connection,
            actor,
            "broadcast.create",
            f"broadcast:{broadcast_id}",
            {"poll": slug, "title": draft.title},
        )
        await audit.record(connection, actor, "poll.launch", target(slug), details)
    return {"id": row.id, "slug": slug, **details}


async def send_reminders(
    database: Database,
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None = None,
) -> list[int]:
    """Remind, once per poll, the members who have not finished, `reminder_days` after launch
    (SMS made inside quiet hours wait for their end, as a campaign's do). Returns the reminder
    broadcasts made by this call."""
    async with database.sessions() as session:
        due = [
            row
            for row in (
                await session.execute(
                    select(polls).where(
                        polls.c.status == "launched",
                        polls.c.reminder_days.is_not(None),
                        polls.c.reminded_at.is_(None),
                    )
                )
            ).all()
            if row.launched_at + timedelta(days=row.reminder_days) <= now
            and (row.closes_at is None or now < row.closes_at)
        ]
    made = []
    for row in due:
        async with database.transaction() as connection:
            claimed = await connection.scalar(
                update(polls)
                .where(polls.c.id == row.id, polls.c.reminded_at.is_(None))
                .values(reminded_at=now)
                .returning(polls.c.id)
            )
            if claimed is None:
                continue  # another scheduler got it
            hold = quiet_hours.hold_until(now) if quiet_hours else None
            made.append(await _remind(connection, row, now, enabled_channels, hold))
    return made


async def _remind(
    connection: AsyncConnection,
    row: Any,
    now: datetime,
    enabled_channels: Collection[str],
    sms_not_before: datetime | None,
) -> int:
    poll = Poll.from_json(row.definition)
    draft = Draft(
        texts=poll.reminder,
        audience=poll.audience,
        sms_gsm_safe=poll.sms_gsm_safe,
        title=f"Rappel sondage : {poll.title['fr']}"[:200],
    )
    broadcast_id = await insert_broadcast(
        connection, draft, status="sending", created_by=SCHEDULER, now=now, fanned_out_at=now
    )
    await fan_out(connection, broadcast_id, draft, enabled_channels, now, sms_not_before)
    # The audience as it is now, less everyone who finished (or was never invited).
    unfinished = select(sessions.c.member_id).where(
        sessions.c.poll_id == row.id, sessions.c.finished_at.is_(None)
    )
    await connection.execute(
        delete(outbox).where(
            outbox.c.broadcast_id == broadcast_id,
            (outbox.c.member_id.is_(None)) | (outbox.c.member_id.not_in(unfinished)),
        )
    )
    queued = await connection.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.broadcast_id == broadcast_id)
    )
    await connection.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id).values(recipients=queued)
    )
    reminded = select(outbox.c.member_id).where(outbox.c.broadcast_id == broadcast_id)
    await connection.execute(
        update(sessions)
        .where(and_(sessions.c.poll_id == row.id, sessions.c.member_id.in_(reminded)))
        .values(reminded_at=now)
    )
    await _button(connection, broadcast_id, f"p:{row.id}:start", N_("Continuer"))
    await connection.execute(
        update(polls).where(polls.c.id == row.id).values(reminder_broadcast_id=broadcast_id)
    )
    await audit.record(
        connection, SCHEDULER, "poll.remind", target(row.slug),
        {"broadcast": broadcast_id, "reminded": queued},
    )  # fmt: skip
    return broadcast_id


async def close(database: Database, slug: str, actor: str, now: datetime) -> None:
    """Close a poll now: later answers are told it is closed."""
    async with database.transaction() as connection:
        closed = await connection.scalar(
            update(polls)
            .where(polls.c.slug == slug, (polls.c.closes_at.is_(None)) | (polls.c.closes_at > now))
            .values(closes_at=now)
            .returning(polls.c.id)
        )
        if closed is None:
            exists = await connection.scalar(select(polls.c.id).where(polls.c.slug == slug))
            if exists is None:
                raise PollNotFound(f"no poll {slug}")
            raise PollStateError(f"poll {slug} is closed already")
        await audit.record(connection, actor, "poll.close", target(slug))


async def poll_row(database: Database, slug: str) -> Any:
    async with database.sessions() as session:
        row = (await session.execute(select(polls).where(polls.c.slug == slug))).one_or_none()
    if row is None:
        raise PollNotFound(f"no poll {slug}")
    return row


async def list_polls(database: Database) -> list[dict[str, Any]]:
    async with database.sessions() as session:
        rows = (await session.execute(select(polls).order_by(polls.c.id))).all()
    return [summary(row) for row in rows]


def summary(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "slug": row.slug,
        "title": row.title,
        "status": row.status,
        "opens_at": _iso(row.opens_at),
        "closes_at": _iso(row.closes_at),
        "reminder_days": row.reminder_days,
        "launched_at": _iso(row.launched_at),
        "reminded_at": _iso(row.reminded_at),
        "broadcast_id": row.broadcast_id,
        "questions": len(row.definition.get("questions", ())),
    }
