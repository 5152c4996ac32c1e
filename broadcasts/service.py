"""Broadcasts, the imperative shell used by the HTTP API, the CLI and the scheduler.

Every change of state is one short transaction holding the change, its outbox rows and its
audit entry. State changes are claims: an UPDATE … WHERE status IN (…) that returns the row,
so two processes (or a person and the scheduler) never both send or both cancel a broadcast.

Returned dicts are JSON-able: datetimes are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import Conflict, NotFound
from broadcasts import preview as preview_core
from broadcasts.fanout import fan_out
from broadcasts.model import Audience, Draft
from storage import audit
from storage.audience import allowed_channels
from storage.database import Database
from storage.models import Broadcast, Organisation, OutboxMessage
from storage.types import utcnow

broadcasts, outbox = Broadcast.__table__, OutboxMessage.__table__
organisations = Organisation.__table__

SENDABLE = ("draft", "scheduled")
CANCELLABLE = ("draft", "scheduled", "sending")
FAILED = ("failed", "undelivered")
SCHEDULER = "scheduler"


class BroadcastNotFound(NotFound):
    pass


class BroadcastStateError(Conflict):
    """The broadcast is in a state that does not allow this (e.g. sending a cancelled one)."""


def _target(broadcast_id: int) -> str:
    return f"broadcast:{broadcast_id}"


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def draft_of(row: Row) -> Draft:
    """The draft a stored broadcast was made from."""
    return Draft(
        texts=dict(row.texts),
        audience=Audience.from_json(row.audience),
        send_at=row.send_at,
        sms_gsm_safe=row.sms_gsm_safe,
        title=row.title,
    )


async def known_organisations(database: Database) -> set[str]:
    """Every organisation name as stored: what audience.organisations may name."""
    async with database.sessions() as session:
        return set(await session.scalars(select(organisations.c.name)))


async def preview(
    database: Database,
    draft: Draft,
    *,
    enabled_channels: Collection[str],
    price_per_segment: float,
    currency: str = "USD",
) -> dict[str, Any]:
    async with database.sessions() as session:
        connection = await session.connection()
        reached, excluded = await preview_core.counts(connection, draft, enabled_channels)
    return preview_core.summarise(
        draft,
        reached,
        excluded,
        enabled_channels=enabled_channels,
        price_per_segment=price_per_segment,
        currency=currency,
    )


async def insert_broadcast(
    connection: AsyncConnection,
    draft: Draft,
    *,
    status: str,
    created_by: str,
    now: datetime,
    **more: Any,
) -> int:
    """The broadcasts row for a draft (by hand or from a campaign); returns its id."""
    return await connection.scalar(
        broadcasts.insert()
        .values(
            title=draft.title,
            texts=dict(draft.texts),
            audience=draft.audience.to_json(),
            sms_gsm_safe=draft.sms_gsm_safe,
            send_at=draft.send_at,
            status=status,
            created_by=created_by,
            created_at=now,
            recipients=0,
            **more,
        )
        .returning(broadcasts.c.id)
    )


async def create(database: Database, draft: Draft, actor: str) -> int:
    status = "scheduled" if draft.send_at else "draft"
    async with database.transaction() as connection:
        broadcast_id = await insert_broadcast(
            connection, draft, status=status, created_by=actor, now=utcnow()
        )
        await audit.record(
            connection,
            actor,
            "broadcast.create",
            _target(broadcast_id),
            {
                "title": draft.title,
                "status": status,
                "send_at": _iso(draft.send_at),
                "languages": sorted(draft.texts),
                "audience": draft.audience.to_json(),
            },
        )
    return broadcast_id


async def _refusal(connection: AsyncConnection, broadcast_id: int, verb: str) -> Exception:
    """Why a claim on a broadcast found nothing: it does not exist, or its state forbids it."""
    status = await connection.scalar(
        select(broadcasts.c.status).where(broadcasts.c.id == broadcast_id)
    )
    if status is None:
        return BroadcastNotFound(f"no broadcast {broadcast_id}")
    return BroadcastStateError(f"broadcast {broadcast_id} is {status}: cannot {verb} it")


async def _claim_and_fan_out(
    connection: AsyncConnection,
    broadcast_id: int,
    from_statuses: tuple[str, ...],
    actor: str,
    enabled_channels: Collection[str],
    now: datetime,
) -> int | None:
    """Mark the broadcast "sending" and queue its rows; None when another claim came first."""
    claimed = (
        await connection.execute(
            update(broadcasts)
            .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(from_statuses))
            .values(status="sending", fanned_out_at=now)
            .returning(broadcasts)
        )
    ).one_or_none()
    if claimed is None:
        return None
    draft = draft_of(claimed)
    queued = await fan_out(connection, broadcast_id, draft, enabled_channels, now)
    await connection.execute(
        update(broadcasts).where(broadcasts.c.id == broadcast_id).values(recipients=queued)
    )
    channels = allowed_channels(draft.audience, enabled_channels)
    await audit.record(
        connection,
        actor,
        "broadcast.send",
        _target(broadcast_id),
        {"recipients": queued, "channels": list(channels), "was": claimed.status},
    )
    return queued


async def send_now(
    database: Database,
    broadcast_id: int,
    actor: str,
    *,
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> int:
    """Fan a draft or scheduled broadcast out now; returns the outbox rows queued."""
    now = now or utcnow()
    async with database.transaction() as connection:
        queued = await _claim_and_fan_out(
            connection, broadcast_id, SENDABLE, actor, enabled_channels, now
        )
        if queued is None:
            raise await _refusal(connection, broadcast_id, "send")
    return queued


async def cancel(database: Database, broadcast_id: int, actor: str) -> int:
    """Cancel a broadcast and its rows not yet sent; returns how many rows were cancelled.

    A row a dispatcher holds under lease at this moment may still go out, and is then
    recorded as sent: the outbox stays the truth of what was sent.
    """
    now = utcnow()
    async with database.transaction() as connection:
        claimed = (
            await connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(CANCELLABLE))
                .values(status="cancelled", cancelled_at=now)
                .returning(broadcasts.c.status)
            )
        ).one_or_none()
        if claimed is None:
            raise await _refusal(connection, broadcast_id, "cancel")
        result = await connection.execute(
            update(outbox)
            .where(outbox.c.broadcast_id == broadcast_id, outbox.c.status == "queued")
            .values(status="cancelled", error_message="broadcast cancelled", updated_at=now)
        )
        await audit.record(
            connection, actor, "broadcast.cancel", _target(broadcast_id), {"rows": result.rowcount}
        )
    return result.rowcount


async def run_due(
    database: Database, now: datetime, *, enabled_channels: Collection[str]
) -> list[int]:
    """Fan out every scheduled broadcast whose time has come; returns the ids this call sent.

    Safe with several schedulers at once: each broadcast is claimed in its own transaction,
    and a claim that finds it no longer "scheduled" leaves it to whoever got it.
    """
    async with database.sessions() as session:
        due = list(
            await session.scalars(
                select(broadcasts.c.id)
                .where(broadcasts.c.status == "scheduled", broadcasts.c.send_at <= now)
                .order_by(broadcasts.c.send_at, broadcasts.c.id)
            )
        )
    sent = []
    for broadcast_id in due:
        async with database.transaction() as connection:
            queued = await _claim_and_fan_out(
                connection, broadcast_id, ("scheduled",), SCHEDULER, enabled_channels, now
            )
        if queued is not None:
            sent.append(broadcast_id)
    return sent


async def finish_completed(database: Database, now: datetime) -> list[int]:
    """Mark "sent" every sending broadcast with no row left waiting to go out."""
    waiting = exists().where(outbox.c.broadcast_id == broadcasts.c.id, outbox.c.status == "queued")
    async with database.transaction() as connection:
        finished = list(
            await connection.scalars(
                update(broadcasts)
                .where(broadcasts.c.status == "sending", ~waiting)
                .values(status="sent", finished_at=now)
                .returning(broadcasts.c.id)
            )
        )
        for broadcast_id in finished:
            await audit.record(connection, SCHEDULER, "broadcast.finish", _target(broadcast_id))
    return sorted(finished)


def _summary(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "status": row.status,
        "send_at": _iso(row.send_at),
        "created_by": row.created_by,
        "created_at": _iso(row.created_at),
        "fanned_out_at": _iso(row.fanned_out_at),
        "finished_at": _iso(row.finished_at),
        "cancelled_at": _iso(row.cancelled_at),
        "recipients": row.recipients,
    }


async def get_status(database: Database, broadcast_id: int) -> dict[str, Any]:
    """The broadcast, and where its outbox rows are: per channel and status, and why some failed."""
    async with database.sessions() as session:
        row = (
            await session.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id))
        ).one_or_none()
        if row is None:
            raise BroadcastNotFound(f"no broadcast {broadcast_id}")
        mine = outbox.c.broadcast_id == broadcast_id
        by_status = await session.execute(
            select(outbox.c.channel, outbox.c.status, func.count())
            .where(mine)
            .group_by(outbox.c.channel, outbox.c.status)
        )
        failures = await session.execute(
            select(outbox.c.channel, outbox.c.error_code, outbox.c.error_message, func.count())
            .where(mine, outbox.c.status.in_(FAILED))
            .group_by(outbox.c.channel, outbox.c.error_code, outbox.c.error_message)
            .order_by(func.count().desc(), outbox.c.channel)
        )
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for channel, status, n in by_status:
        counts.setdefault(channel, {})[status] = n
        totals[status] = totals.get(status, 0) + n
    return {
        **_summary(row),
        "texts": row.texts,
        "audience": row.audience,
        "sms_gsm_safe": row.sms_gsm_safe,
        "counts": counts,
        "totals": totals,
        "failures": [
            {"channel": channel, "code": code, "message": message, "count": n}
            for channel, code, message, n in failures
        ],
    }


async def list_broadcasts(database: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The latest broadcasts, newest first, each with its outbox rows per status."""
    async with database.sessions() as session:
        rows = (
            await session.execute(select(broadcasts).order_by(broadcasts.c.id.desc()).limit(limit))
        ).all()
        totals: dict[int, dict[str, int]] = {row.id: {} for row in rows}
        if rows:
            grouped = await session.execute(
                select(outbox.c.broadcast_id, outbox.c.status, func.count())
                .where(outbox.c.broadcast_id.in_(list(totals)))
                .group_by(outbox.c.broadcast_id, outbox.c.status)
            )
            for broadcast_id, status, n in grouped:
                totals[broadcast_id][status] = n
    return [{**_summary(row), "totals": totals[row.id]} for row in rows]


async def get_draft(database: Database, broadcast_id: int) -> Draft:
    """The draft of a stored broadcast (to preview it again, or copy it)."""
    async with database.sessions() as session:
        row = (
            await session.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id))
        ).one_or_none()
    if row is None:
        raise BroadcastNotFound(f"no broadcast {broadcast_id}")
    return draft_of(row)
