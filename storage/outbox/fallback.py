"""The SQL of a fallback: a broadcast row the channel could not carry, moved once to the
member's next usable address. What to send there is decided in broadcasts/fallback.py.

The row itself moves (the unique (broadcast, member) key stays true: one message per member
per broadcast), remembering the channel it left and why; `fallback_from` set means it has
fallen back already and never will again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.audience import usable
from storage.models import Address, Broadcast, Member, OutboxMessage
from storage.outbox.states import BroadcastStatus, OutboxStatus, Priority

outbox, addresses = OutboxMessage.__table__, Address.__table__
members, broadcasts = Member.__table__, Broadcast.__table__
# A provider id no status report carries: reports on the message that failed (and on the new
# one, until its send is recorded) no longer find the row.
MOVED = ""


@dataclass(frozen=True)
class Candidate:
    """A broadcast row that may fall back: its member, broadcast and where it failed."""

    row_id: int
    member_id: int
    language: str
    channel: str
    address_id: int | None
    broadcast: Row[Any]


async def candidates(
    connection: AsyncConnection, row_ids: Sequence[int], *, provider_id: str | None = None
) -> list[Candidate]:
    """Those of `row_ids` that may still fall back: a bulk row of a broadcast that asks for it
    (not cancelled), its member still there and consenting, never fallen back before."""
    if not row_ids:
        return []
    query = (
        select(
            outbox.c.id, outbox.c.member_id, outbox.c.channel, outbox.c.address_id,
            members.c.language, broadcasts,
        )
        .select_from(
            outbox.join(members, members.c.id == outbox.c.member_id).join(
                broadcasts, broadcasts.c.id == outbox.c.broadcast_id
            )
        )
        .where(
            outbox.c.id.in_(list(row_ids)),
            outbox.c.priority == int(Priority.BULK),
            outbox.c.fallback_from.is_(None),
            broadcasts.c.fallback.is_(True),
            broadcasts.c.status != BroadcastStatus.CANCELLED,
            members.c.erased_at.is_(None),
            members.c.consent_at.is_not(None),
        )
        .order_by(outbox.c.id)
    )  # fmt: skip
    if provider_id is not None:  # a report: only once the send it is about is recorded
        query = query.where(outbox.c.provider_id == provider_id)
    return [
        Candidate(row.id, row.member_id, row.language, row.channel, row.address_id, row)
        for row in await connection.execute(query)
    ]


async def next_address(
    connection: AsyncConnection, candidate: Candidate, channels: Sequence[str]
) -> Any:
    """The member's first usable address on `channels` (in that order) other than the channel
    that failed: never one opted out, blocked or invalid."""
    others = [channel for channel in channels if channel != candidate.channel]
    if not others:
        return None
    rank = case({channel: index for index, channel in enumerate(others)}, value=addresses.c.channel)
    query = (
        select(addresses.c.id, addresses.c.channel, addresses.c.address)
        .where(
            addresses.c.member_id == candidate.member_id,
            addresses.c.channel.in_(others),
            usable(),
        )
        .order_by(rank, addresses.c.id)
        .limit(1)
    )
    return (await connection.execute(query)).first()


async def move(
    connection: AsyncConnection,
    candidate: Candidate,
    address: Any,  # a row of next_address
    *,
    body: str,
    content_sid: str | None,
    content_variables: dict[str, str] | None,
    reason: str,
    now: datetime,
) -> bool:
    """Queue the row again on `address`, at once; False when another process came first."""
    moved = await connection.execute(
        update(outbox)
        .where(outbox.c.id == candidate.row_id, outbox.c.fallback_from.is_(None))
        .values(
            channel=address.channel,
            address_id=address.id,
            recipient=address.address,
            body=body,
            choices=None,
            content_sid=content_sid,
            content_variables=content_variables,
            status=OutboxStatus.QUEUED.value,
            attempts=0,
            next_attempt_at=now,
            lease_until=None,
            provider_id=MOVED,
            error_code=None,
            error_message=None,
            sent_at=None,
            fallback_from=candidate.channel,
            fallback_reason=reason[:500],
            updated_at=now,
        )
    )
    if not moved.rowcount:
        return False
    # A broadcast already marked sent is sending again until this row is done.
    await connection.execute(
        update(broadcasts)
        .where(
            broadcasts.c.id == candidate.broadcast.id,
            broadcasts.c.status == BroadcastStatus.SENT,
        )
        .values(status=BroadcastStatus.SENDING.value, finished_at=None)
    )
    return True


async def ask(connection: AsyncConnection, row_id: int, reason: str) -> None:
    """A report asks for a fallback before the send it is about is recorded (Twilio's callback
    can overtake its own REST answer): kept on the row, for the recording to act on."""
    await connection.execute(
        update(outbox)
        .where(
            outbox.c.id == row_id,
            outbox.c.fallback_from.is_(None),
            outbox.c.provider_id.is_(None),
        )
        .values(fallback_reason=reason[:500])
    )


async def asked(connection: AsyncConnection, row_ids: Sequence[int]) -> dict[int, str]:
    """Of rows just recorded as sent, those a report had already failed and asked to move."""
    if not row_ids:
        return {}
    query = select(outbox.c.id, outbox.c.fallback_reason).where(
        outbox.c.id.in_(list(row_ids)),
        outbox.c.fallback_from.is_(None),
        outbox.c.fallback_reason.is_not(None),
        outbox.c.status.in_([OutboxStatus.FAILED.value, OutboxStatus.UNDELIVERED.value]),
    )
    return {row.id: row.fallback_reason for row in await connection.execute(query)}


def fallen_back(broadcast_id: int) -> Any:
    """The broadcast's rows that fell back."""
    return and_(outbox.c.broadcast_id == broadcast_id, outbox.c.fallback_from.is_not(None))
