"""The SQL of an SMS re-route: a message a phone accepted and its radio then failed (no signal,
a generic failure — not a number the phone calls invalid) is queued once more on the SMS
channel, for another route (another SIM or phone, then Twilio; the route layer skips the one
that failed).

Once: `reroute_from` set (the failed send's provider id) means it was re-routed and never will
be again; reports on the failed send no longer find the row (storage/outbox/delivery.py). A
report can come before the dispatcher has recorded the send it is about: it leaves its reason
on the row (`reroute_reason` alone) and the recording moves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Broadcast, OutboxMessage
from storage.outbox.states import BroadcastStatus, OutboxStatus

outbox, broadcasts = OutboxMessage.__table__, Broadcast.__table__
CHANNEL = "sms"


async def reroute(
    connection: AsyncConnection,
    row_id: int,
    provider_id: str,
    slot: int | None,
    reason: str,
    now: datetime,
) -> bool:
    """After a report failed the row (record_status): queue it again for another route, or,
    its send not recorded yet, ask the recording to. True: queued again now."""
    if await _move(connection, row_id, provider_id, slot, reason, now):
        return True
    await connection.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.channel == CHANNEL,
            outbox.c.provider_id.is_(None),
            outbox.c.reroute_from.is_(None),
            outbox.c.reroute_reason.is_(None),
        )
        .values(reroute_slot=slot, reroute_reason=reason[:500])
    )
    return False


async def after_recording(connection: AsyncConnection, sent: Sequence[int], now: datetime) -> int:
    """Rows just recorded as sent that a report had already failed by radio: queued again."""
    if not sent:
        return 0
    asked = await connection.execute(
        select(
            outbox.c.id, outbox.c.provider_id, outbox.c.reroute_slot, outbox.c.reroute_reason
        ).where(
            outbox.c.id.in_(list(sent)),
            outbox.c.channel == CHANNEL,
            outbox.c.reroute_from.is_(None),
            outbox.c.reroute_reason.is_not(None),
            outbox.c.provider_id.is_not(None),
            outbox.c.status == OutboxStatus.FAILED.value,
        )
    )
    moved = 0
    for row in asked.all():
        moved += await _move(
            connection, row.id, row.provider_id, row.reroute_slot, row.reroute_reason, now
        )
    return moved


async def _move(
    connection: AsyncConnection,
    row_id: int,
    provider_id: str,
    slot: int | None,
    reason: str,
    now: datetime,
) -> bool:
    moved = await connection.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.channel == CHANNEL,
            outbox.c.provider_id == provider_id,
            outbox.c.reroute_from.is_(None),
            outbox.c.status == OutboxStatus.FAILED.value,
        )
        .values(
            status=OutboxStatus.QUEUED.value,
            next_attempt_at=now,
            lease_until=None,
            provider_id=None,
            sent_at=None,
            error_code=None,
            error_message=None,
            reroute_from=provider_id,
            reroute_slot=slot,
            reroute_reason=reason[:500],
            updated_at=now,
        )
        .returning(outbox.c.broadcast_id)
    )
    found = moved.first()
    if found is None:
        return False
    if found.broadcast_id is not None:  # a broadcast already done is sending again meanwhile
        await connection.execute(
            update(broadcasts)
            .where(
                broadcasts.c.id == found.broadcast_id,
                broadcasts.c.status == BroadcastStatus.SENT,
            )
            .values(status=BroadcastStatus.SENDING.value, finished_at=None)
        )
    return True
