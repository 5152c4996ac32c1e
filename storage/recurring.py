"""Recurring messages' rows: whether each is on (and its day and time when changed), and one
row per occurrence, claimed by INSERT … ON CONFLICT DO NOTHING in the transaction that makes
its broadcast, so an occurrence goes out once whatever the restarts or schedulers. And the
data-dependent audience of the monthly report reminder.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from broadcasts.model import Audience
from storage import audit
from storage.audience import reachable
from storage.models import Broadcast, Member, RecurringOccurrence, RecurringSchedule, Report
from storage.upsert import insert_ignore, upsert

schedules, occurrences = RecurringSchedule.__table__, RecurringOccurrence.__table__
members, reports = Member.__table__, Report.__table__


def target(key: str) -> str:
    return f"recurring:{key}"


async def state(connection: AsyncConnection, key: str) -> Any:
    """The schedule's row (None: never switched on, so off)."""
    return (await connection.execute(select(schedules).where(schedules.c.key == key))).one_or_none()


async def change(
    connection: AsyncConnection,
    key: str,
    actor: str,
    now: datetime,
    *,
    enabled: bool | None = None,
    day: int | None = None,
    time: str | None = None,
) -> None:
    """Switch on or off, or move the day and time; audited with what changed."""
    values: dict[str, Any] = {"changed_by": actor, "changed_at": now}
    if enabled is not None:
        values["enabled"] = enabled
    if day is not None:
        values["day"] = day
    if time is not None:
        values["time"] = time
    # One statement: two first changes at once (two processes) cannot both insert.
    await connection.execute(
        upsert(connection, schedules, ("key",), tuple(values)), {"key": key, **values}
    )
    details = {k: v for k, v in values.items() if k in ("enabled", "day", "time")}
    await audit.record(connection, actor, "recurring.change", target(key), details)


async def claim(connection: AsyncConnection, key: str, occurs_at: datetime, now: datetime) -> bool:
    """This occurrence is ours to send (False: someone sent or skipped it already)."""
    done = await connection.execute(
        insert_ignore(connection, occurrences, ["schedule_key", "occurs_at"]).values(
            schedule_key=key, occurs_at=occurs_at, created_at=now, recipients=0
        )
    )
    return bool(done.rowcount)


async def occurred(connection: AsyncConnection, key: str, occurs_at: datetime) -> bool:
    """Whether the occurrence was claimed already (a cheap read before the claim)."""
    found = await connection.scalar(
        select(occurrences.c.id).where(
            occurrences.c.schedule_key == key, occurrences.c.occurs_at == occurs_at
        )
    )
    return found is not None


async def record(
    connection: AsyncConnection, key: str, occurs_at: datetime, broadcast_id: int, recipients: int
) -> None:
    await connection.execute(
        update(occurrences)
        .where(occurrences.c.schedule_key == key, occurrences.c.occurs_at == occurs_at)
        .values(broadcast_id=broadcast_id, recipients=recipients)
    )


async def history(connection: AsyncConnection, key: str, limit: int = 24) -> list[Any]:
    """The last occurrences, newest first, each with its broadcast's status (None: skipped)."""
    broadcasts = Broadcast.__table__
    rows = await connection.execute(
        select(occurrences, broadcasts.c.status.label("broadcast_status"))
        .select_from(
            occurrences.outerjoin(broadcasts, broadcasts.c.id == occurrences.c.broadcast_id)
        )
        .where(occurrences.c.schedule_key == key)
        .order_by(occurrences.c.occurs_at.desc())
        .limit(limit)
    )
    return list(rows)


def without_report(month: str) -> Select[Any]:
    """Members of organisations that have no activity report for `month` ("2026-11")."""
    reported = select(reports.c.organisation_id).where(
        reports.c.activity_month == month, reports.c.organisation_id.is_not(None)
    )
    return select(members.c.id).where(
        members.c.organisation_id.is_not(None), members.c.organisation_id.not_in(reported)
    )


async def reachable_count(
    connection: AsyncConnection, only: Select[Any], enabled_channels: Collection[str]
) -> int:
    """How many of `only` a broadcast to everyone would reach now."""
    reached = reachable(Audience(), enabled_channels, connection.dialect.name).subquery()
    count = await connection.scalar(
        select(func.count()).select_from(reached).where(reached.c.member_id.in_(only))
    )
    return int(count or 0)
