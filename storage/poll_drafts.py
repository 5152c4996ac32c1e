"""A poll draft edited in the console or the API: each save names the revision it started
from, and the UPDATE … WHERE revision = that one refuses a save over someone else's
("modifié entre-temps": nothing lost, nothing half-saved). Also: open on its date (the
scheduler's claim is the launch's own, storage.polls.claim_launch, so once whatever the
restarts).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import Conflict, NotFound
from storage import audit
from storage.polls import PollStatus, polls


class PollChanged(Conflict):
    """Someone saved the poll after this form was opened."""


class PollNotDraft(Conflict):
    """A launched poll cannot change any more."""


class NeverOpens(PollNotDraft):
    """Scheduled, it would never open: no opening date, or its closing date is past."""


class SlugTaken(Conflict):
    """A new poll named like an existing one."""


def target(slug: str) -> str:
    return f"poll:{slug}"


async def create(
    connection: AsyncConnection, slug: str, values: dict[str, Any], actor: str, now: datetime
) -> tuple[int, int]:
    """A new draft; (id, revision 1)."""
    if await connection.scalar(select(polls.c.id).where(polls.c.slug == slug)) is not None:
        raise SlugTaken(f"a poll {slug} exists already: choose another identifier", field="slug")
    poll_id = await connection.scalar(
        polls.insert()
        .values(
            slug=slug,
            status=PollStatus.DRAFT.value,
            created_by=actor,
            created_at=now,
            revision=1,
            updated_at=now,
            updated_by=actor,
            **values,
        )
        .returning(polls.c.id)
    )
    await audit.record(connection, actor, "poll.create", target(slug), {"revision": 1})
    return int(poll_id), 1


async def replace(
    connection: AsyncConnection,
    slug: str,
    revision: int,
    values: dict[str, Any],
    actor: str,
    now: datetime,
) -> tuple[int, int]:
    """The draft's new definition if nobody saved since `revision`; (id, new revision)."""
    row = (
        await connection.execute(
            update(polls)
            .where(
                polls.c.slug == slug,
                polls.c.revision == revision,
                polls.c.status == PollStatus.DRAFT,
            )
            .values(revision=revision + 1, updated_at=now, updated_by=actor, **values)
            .returning(polls.c.id, polls.c.revision)
        )
    ).one_or_none()
    if row is None:
        await _why_not(connection, slug)
        raise PollChanged(
            f"poll {slug} was changed meanwhile (revision {revision} is no longer current)",
            field="revision",
        )
    await audit.record(connection, actor, "poll.edit", target(slug), {"revision": row.revision})
    return row.id, row.revision


async def _why_not(connection: AsyncConnection, slug: str) -> None:
    status = await connection.scalar(select(polls.c.status).where(polls.c.slug == slug))
    if status is None:
        raise NotFound(f"no poll {slug}")
    if status != PollStatus.DRAFT:
        raise PollNotDraft(f"poll {slug} is {status}: it can no longer change")


async def set_schedule(
    connection: AsyncConnection, slug: str, on: bool, actor: str, now: datetime
) -> None:
    """Open (and so invite) on the poll's opening date, by the scheduler; or not any more."""
    row = (await connection.execute(select(polls).where(polls.c.slug == slug))).one_or_none()
    if row is None:
        raise NotFound(f"no poll {slug}")
    if row.status != PollStatus.DRAFT:
        raise PollNotDraft(f"poll {slug} is {row.status}: launched already")
    if on and row.opens_at is None:
        raise NeverOpens(f"poll {slug} has no opening date to open on", field="opens")
    if on and row.closes_at is not None and row.closes_at <= now:
        raise NeverOpens(f"poll {slug} closes before it could open", field="closes")
    await connection.execute(update(polls).where(polls.c.id == row.id).values(open_on_schedule=on))
    action = "poll.schedule" if on else "poll.unschedule"
    await audit.record(connection, actor, action, target(slug), {"opens_at": _iso(row.opens_at)})


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


async def due_to_open(connection: AsyncConnection, now: datetime) -> list[str]:
    """Drafts scheduled to open whose opening date has come (and that are not closed)."""
    rows = await connection.execute(
        select(polls.c.slug)
        .where(
            polls.c.status == PollStatus.DRAFT,
            polls.c.open_on_schedule.is_(True),
            polls.c.opens_at <= now,
            (polls.c.closes_at.is_(None)) | (polls.c.closes_at > now),
        )
        .order_by(polls.c.id)
    )
    return [slug for (slug,) in rows]
