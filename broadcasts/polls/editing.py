"""Polls edited in the console (or the API): save a draft over the revision it was opened at,
duplicate an old poll as the start of a new one, schedule it to open by itself, and the
scheduler's part (open what is due). The rows and the revision check are storage.poll_drafts';
the launch is broadcasts.polls.service's, so a poll opens once whoever opens it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime
from typing import Any

from broadcasts.launch import SCHEDULER
from broadcasts.polls import service
from broadcasts.polls.definition_file import file_form
from broadcasts.polls.model import Poll
from broadcasts.polls.parse import parse_poll_json
from broadcasts.quiet_hours import QuietHours
from storage import poll_drafts
from storage.database import Database

log = logging.getLogger(__name__)


def _values(poll: Poll) -> dict[str, Any]:
    return {
        "title": poll.title["fr"][:200],
        "definition": poll.to_json(),
        "opens_at": poll.opens_at,
        "closes_at": poll.closes_at,
        "reminder_days": poll.reminder_days,
    }


async def save_draft(
    database: Database, poll: Poll, actor: str, now: datetime, revision: int | None
) -> dict[str, Any]:
    """A new poll (revision None) or the draft's new definition; its id and new revision."""
    async with database.transaction() as connection:
        if revision is None:
            poll_id, new = await poll_drafts.create(
                connection, poll.slug, _values(poll), actor, now
            )
        else:
            poll_id, new = await poll_drafts.replace(
                connection, poll.slug, revision, _values(poll), actor, now
            )
    return {"id": poll_id, "slug": poll.slug, "revision": new}


async def duplicate(
    database: Database, slug: str, new_slug: str, actor: str, now: datetime
) -> dict[str, Any]:
    """A new draft from an old poll's definition, without its dates (a new round's own)."""
    row = await service.poll_row(database, slug)
    poll = replace(Poll.from_json(row.definition), slug=new_slug, opens_at=None, closes_at=None)
    poll = parse_poll_json(file_form(poll))  # the new slug checked as a file's would be
    return await save_draft(database, poll, actor, now, None)


async def schedule(database: Database, slug: str, on: bool, actor: str, now: datetime) -> None:
    async with database.transaction() as connection:
        await poll_drafts.set_schedule(connection, slug, on, actor, now)


async def open_due(
    database: Database,
    now: datetime,
    *,
    enabled_channels: Collection[str],
    quiet_hours: QuietHours | None = None,
) -> list[int]:
    """Launch the scheduled polls whose opening date has come; their invitation broadcasts
    (SMS made inside quiet hours wait for their end, as a campaign's and the reminder's do)."""
    async with database.sessions() as session:  # a read: no write lock taken every tick
        due = await poll_drafts.due_to_open(await session.connection(), now)
    made = []
    for slug in due:
        try:
            launched = await service.launch(
                database,
                slug,
                SCHEDULER,
                enabled_channels=enabled_channels,
                now=now,
                quiet_hours=quiet_hours,
            )
        except service.PollStateError:
            continue  # another scheduler launched it first
        log.info("poll %s opened on its date", launched["id"])
        made.append(int(launched["broadcast"]))
    return made
