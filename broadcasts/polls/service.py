"""Polls, the imperative shell used by the HTTP API, the CLI and the scheduler: save a
definition, launch it (an ordinary broadcast invites the audience and opens one session per
member reached), send the reminder once, close it.

Launch and reminder are claims (UPDATE … WHERE status/reminded_at … RETURNING) in the same
transaction as their broadcast (broadcasts.launch: row, fan-out, audit) and their sessions: two
processes never both launch or both remind, and a crash half-way leaves nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from bot.vocabulary.errors import Conflict, NotFound
from bot.vocabulary.i18n import LANGUAGES, N_
from broadcasts.launch import SCHEDULER, Button, Delivery, iso
from broadcasts.launch import launch as launch_broadcast
from broadcasts.model import Draft
from broadcasts.polls.model import Poll
from broadcasts.quiet_hours import QuietHours
from storage import audit
from storage import polls as poll_rows
from storage.database import Database
from storage.polls import PollStatus, polls


class PollNotFound(NotFound):
    pass


class PollStateError(Conflict):
    """The poll's state forbids this (e.g. changing a launched poll, launching it twice)."""


class PollClosed(PollStateError):
    """Its closing date has passed (or it was closed early)."""


class PollNotYetOpen(PollStateError):
    """Its opening date is still to come: launched then, by hand or by the scheduler."""


class PollNotLaunched(PollStateError):
    """A draft: nothing to close (unschedule it, or change its dates)."""


class PollLaunched(PollStateError):
    """Launched already: it cannot change, nor be launched again."""


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
        if row is not None and row.status != PollStatus.DRAFT:
            raise PollLaunched(f"poll {poll.slug} is {row.status}: it can no longer change")
        if row is None:
            poll_id = await connection.scalar(
                polls.insert()
                .values(
                    slug=poll.slug,
                    status=PollStatus.DRAFT.value,
                    created_by=actor,
                    created_at=now,
                    **values,
                )
                .returning(polls.c.id)
            )
        else:
            poll_id = row.id
            # A new revision: a console editor who opened the draft before this save is told
            # "modifié entre-temps" rather than saving over it (broadcasts/polls/editing.py).
            await connection.execute(
                update(polls)
                .where(polls.c.id == poll_id)
                .values(**values, revision=polls.c.revision + 1, updated_at=now, updated_by=actor)
            )
        await audit.record(
            connection, actor, "poll.save", target(poll.slug), {"questions": len(poll.questions)}
        )
    return poll_id


def broadcast_of(poll: Poll, texts: dict[str, str], title: str) -> Draft:
    """The invitation or the reminder: `texts` to the poll's audience, titled `title`."""
    return Draft(
        texts=texts,
        audience=poll.audience,
        sms_gsm_safe=poll.sms_gsm_safe,
        title=f"{title} : {poll.title['fr']}"[:200],
        whatsapp=poll.whatsapp,
        fallback=poll.fallback,
    )


def start_button(poll_id: int, label: str) -> Button:
    """Telegram members start (or go on with) the poll with one press."""
    return Button(f"p:{poll_id}:start", label)


async def launch(
    database: Database,
    slug: str,
    actor: str,
    *,
    enabled_channels: Collection[str],
    now: datetime,
    quiet_hours: QuietHours | None = None,
) -> dict[str, Any]:
    """Invite the poll's audience (a broadcast) and open a session for each member reached.
    `quiet_hours`: the scheduler's launch on the opening date holds SMS made inside them until
    their end, as a campaign's; a launch by hand (None) is never held."""
    async with database.transaction() as connection:
        row = (await connection.execute(select(polls).where(polls.c.slug == slug))).one_or_none()
        if row is None:
            raise PollNotFound(f"no poll {slug}")
        if row.closes_at is not None and row.closes_at <= now:
            raise PollClosed(f"poll {slug} closed at {iso(row.closes_at)}")
        if row.opens_at is not None and row.opens_at > now:
            raise PollNotYetOpen(f"poll {slug} opens at {iso(row.opens_at)}: launch it then")
        if not await poll_rows.claim_launch(connection, row.id, now):
            raise PollLaunched(f"poll {slug} is {row.status}: launched already")
        delivery = Delivery(
            enabled_channels,
            now,
            quiet_hours=quiet_hours,
            button=start_button(row.id, N_("Commencer")),
        )
        poll = Poll.from_json(row.definition)
        draft = broadcast_of(poll, poll.invitation, "Sondage")
        launched = await launch_broadcast(connection, draft, actor, delivery, about={"poll": slug})
        await poll_rows.open_sessions(connection, row.id, launched.broadcast_id, now)
        details = {"broadcast": launched.broadcast_id, "invited": launched.recipients}
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
                        polls.c.status == PollStatus.LAUNCHED,
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
            if not await poll_rows.claim_reminder(connection, row.id, now):
                continue  # another scheduler got it
            delivery = Delivery(
                enabled_channels,
                now,
                quiet_hours=quiet_hours,
                # the audience as it is now, less everyone who finished (or was never invited)
                only_members=poll_rows.unfinished_members(row.id),
                button=start_button(row.id, N_("Continuer")),
            )
            poll = Poll.from_json(row.definition)
            draft = broadcast_of(poll, poll.reminder, "Rappel sondage")
            launched = await launch_broadcast(
                connection, draft, SCHEDULER, delivery, about={"poll": row.slug}
            )
            await poll_rows.mark_reminded(connection, row.id, launched.broadcast_id, now)
            await audit.record(
                connection, SCHEDULER, "poll.remind", target(row.slug),
                {"broadcast": launched.broadcast_id, "reminded": launched.recipients},
            )  # fmt: skip
        made.append(launched.broadcast_id)
    return made


async def close(database: Database, slug: str, actor: str, now: datetime) -> None:
    """Close a launched poll now: later answers are told it is closed. A draft is refused (it
    would stay a draft that can never be launched: unschedule it or change its dates)."""
    async with database.transaction() as connection:
        closed = await connection.scalar(
            update(polls)
            .where(
                polls.c.slug == slug,
                polls.c.status == PollStatus.LAUNCHED,
                (polls.c.closes_at.is_(None)) | (polls.c.closes_at > now),
            )
            .values(closes_at=now)
            .returning(polls.c.id)
        )
        if closed is None:
            status = await connection.scalar(select(polls.c.status).where(polls.c.slug == slug))
            if status is None:
                raise PollNotFound(f"no poll {slug}")
            if status == PollStatus.DRAFT:
                raise PollNotLaunched(f"poll {slug} is not launched: there is nothing to close")
            raise PollClosed(f"poll {slug} is closed already")
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
        "opens_at": iso(row.opens_at),
        "closes_at": iso(row.closes_at),
        "reminder_days": row.reminder_days,
        "launched_at": iso(row.launched_at),
        "reminded_at": iso(row.reminded_at),
        "broadcast_id": row.broadcast_id,
        "questions": len(row.definition.get("questions", ())),
        "revision": row.revision,  # what an edit names (PUT …/definition?revision=N)
        "open_on_schedule": row.open_on_schedule,
        # The languages its texts are in, and those no native speaker has reviewed yet.
        "languages": [code for code in LANGUAGES if code in row.definition.get("invitation", {})],
        "awaiting_review": sorted((row.definition.get("review") or {}).get("pending") or ()),
    }
