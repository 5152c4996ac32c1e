"""The dispatcher's SQL: claim due rows under a lease, read their addresses' states, record what
became of them. What to record is decided elsewhere (gateway/sending/policy.py); this writes it.

Rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL, so several processes share the work;
on SQLite the one write transaction at a time does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import mark_erasure
from storage.models import Address, Broadcast, CampaignBroadcast, OutboxMessage
from storage.outbox.states import (
    ADDRESS_COLUMN,
    STATUS_RANK,
    AddressState,
    BroadcastStatus,
    OutboxStatus,
    Priority,
)

outbox = OutboxMessage.__table__
addresses = Address.__table__
broadcasts = Broadcast.__table__
campaign_broadcasts = CampaignBroadcast.__table__

# What a provider reported (a status callback may land before the send is recorded): the
# recording of the send never writes over it. Plain literals: an expanding IN cannot go in an
# executemany.
REPORTED = [status for status, rank in STATUS_RANK.items() if rank > STATUS_RANK[OutboxStatus.SENT]]


@dataclass(frozen=True)
class Claimed:
    """A row taken under a lease, with what sending it needs."""

    id: int
    channel: str
    recipient: str
    body: str
    choices: list[list[str]] | None
    attempts: int
    address_id: int | None
    priority: int
    broadcast_id: int | None = None
    member_id: int | None = None
    content_sid: str | None = None  # WhatsApp's template for outside the window, if any
    content_variables: dict[str, str] | None = None
    reroute_from: str | None = None  # an SMS whose radio failed on this send: another route
    reroute_slot: int | None = None

    @property
    def bulk(self) -> bool:
        return self.priority == Priority.BULK


@dataclass(frozen=True)
class AddressSnapshot:
    """What may stop a send to an address, as the database said when it was read."""

    states: frozenset[AddressState] = frozenset()
    gone: bool = False  # erased with its member (OUBLIER) since the row was made
    last_inbound_at: datetime | None = None  # the member's last message on it (the window)


GONE = AddressSnapshot(gone=True)


@dataclass(frozen=True)
class RowUpdate:
    """What to write on a claimed row (None: leave the column as it is). The lease always ends."""

    row_id: int
    status: OutboxStatus | None = None  # None: still queued, tried again at next_attempt_at
    attempts: int | None = None
    next_attempt_at: datetime | None = None
    provider_id: str | None = None
    sent: bool = False  # sent_at is the recording's time
    error_code: str | None = None
    error_message: str | None = None
    forget_recipient: bool = False  # an erased member's goodbye keeps no number once sent
    mark_address: tuple[int, AddressState] | None = None  # (address id, what it now is)


async def claim_due(
    connection: AsyncConnection,
    channel: str,
    now: datetime,
    *,
    lease: timedelta,
    limit: int,
    hold_campaigns: bool = False,
    skip_locked: bool = False,
    replies_only: bool = False,
) -> list[Claimed]:
    """Lease up to `limit` due rows of one channel, replies before bulk, oldest first
    (replies_only: no broadcast row).

    hold_campaigns: rows of campaign broadcasts wait (SMS quiet hours); replies and the
    secretariat's own broadcasts do not.
    """
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.status == OutboxStatus.QUEUED,
            outbox.c.channel == channel,
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .order_by(outbox.c.priority, outbox.c.id)
        .limit(limit)
    )
    if hold_campaigns:
        due = due.where(_not_a_campaign())
    if replies_only:
        due = due.where(outbox.c.priority < Priority.BULK)
    if skip_locked:
        due = due.with_for_update(skip_locked=True)
    claim = (
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(lease_until=now + lease)
        .returning(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.recipient,
            outbox.c.body,
            outbox.c.choices,
            outbox.c.attempts,
            outbox.c.address_id,
            outbox.c.priority,
            outbox.c.broadcast_id,
            outbox.c.member_id,
            outbox.c.content_sid,
            outbox.c.content_variables,
            outbox.c.reroute_from,
            outbox.c.reroute_slot,
        )
    )
    rows = (Claimed(*row) for row in await connection.execute(claim))
    return sorted(rows, key=lambda row: (row.priority, row.id))


def _not_a_campaign() -> Any:
    campaign_rows = select(campaign_broadcasts.c.broadcast_id).where(
        campaign_broadcasts.c.broadcast_id.is_not(None)
    )
    return or_(outbox.c.broadcast_id.is_(None), outbox.c.broadcast_id.not_in(campaign_rows))


async def next_due(
    connection: AsyncConnection, channel: str, *, hold_campaigns: bool = False
) -> datetime | None:
    """When the next queued row of a channel may be claimed (its retry time, or the end of
    another sender's lease); None when nothing is queued. The idle dispatcher sleeps till then."""
    queued = [outbox.c.status == OutboxStatus.QUEUED, outbox.c.channel == channel]
    if hold_campaigns:
        queued.append(_not_a_campaign())
    soonest = select(func.min(outbox.c.next_attempt_at), func.min(outbox.c.lease_until)).where(
        *queued
    )
    row = (await connection.execute(soonest)).one()
    times = [_aware(value) for value in row if value is not None]
    return min(times) if times else None


def _aware(value: datetime) -> datetime:
    """SQLite gives naive datetimes back from an aggregate: they are UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def oldest_due(connection: AsyncConnection, now: datetime) -> dict[str, datetime]:
    """Per channel, since when its oldest row that is due now has waited to go out."""
    query = (
        select(outbox.c.channel, func.min(outbox.c.next_attempt_at))
        .where(outbox.c.status == OutboxStatus.QUEUED, outbox.c.next_attempt_at <= now)
        .group_by(outbox.c.channel)
    )
    return {channel: _aware(when) for channel, when in await connection.execute(query)}


async def extend_leases(
    connection: AsyncConnection, ids: Sequence[int], now: datetime, lease: timedelta
) -> None:
    """Keep rows still going out leased to us: a slow batch must not outlive its lease and be
    claimed again (and sent twice) while we are still sending it."""
    if ids:
        await connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(list(ids)), outbox.c.lease_until.is_not(None))
            .values(lease_until=now + lease)
        )


async def address_states(
    connection: AsyncConnection, ids: Sequence[int]
) -> dict[int, AddressSnapshot]:
    """What may stop a send to these addresses, as the database says now."""
    if not ids:
        return {}
    columns = {state: addresses.c[column] for state, column in ADDRESS_COLUMN.items()}
    query = select(addresses.c.id, addresses.c.last_inbound_at, *columns.values()).where(
        addresses.c.id.in_(ids)
    )
    found = {
        row.id: AddressSnapshot(
            frozenset(
                state for state, column in columns.items() if row._mapping[column] is not None
            ),
            last_inbound_at=row.last_inbound_at,
        )
        for row in await connection.execute(query)
    }
    return {address_id: found.get(address_id, GONE) for address_id in ids}


async def cancelled_broadcasts(connection: AsyncConnection) -> frozenset[int]:
    query = select(broadcasts.c.id).where(broadcasts.c.status == BroadcastStatus.CANCELLED)
    return frozenset(await connection.scalars(query))


async def record(connection: AsyncConnection, updates: Sequence[RowUpdate], now: datetime) -> None:
    """Write what became of claimed rows, in a few statements for the whole lot."""
    if any(row.forget_recipient for row in updates):
        mark_erasure(connection)  # an erased member's goodbye went: its number leaves the WAL too
    values = [_values(row, now) for row in updates]
    for group in _by_keys(values):
        columns = [key for key in group[0] if key != "row_id"]
        assignments: dict[str, Any] = {column: bindparam(column) for column in columns}
        if "status" in assignments:
            assignments["status"] = case(
                (outbox.c.status.in_([literal(s) for s in REPORTED]), outbox.c.status),
                else_=bindparam("status"),
            )
        statement = update(outbox).where(outbox.c.id == bindparam("row_id")).values(assignments)
        await connection.execute(statement, group)
    for row in updates:
        if row.mark_address is not None:
            address_id, state = row.mark_address
            await connection.execute(
                update(addresses)
                .where(addresses.c.id == address_id)
                .values({ADDRESS_COLUMN[state]: now})
            )


def _values(row: RowUpdate, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {"row_id": row.row_id, "lease_until": None, "updated_at": now}
    optional = {
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at,
        "provider_id": row.provider_id,
        "sent_at": now if row.sent else None,
        "error_code": row.error_code,
        "error_message": row.error_message,
        "recipient": "" if row.forget_recipient else None,
    }
    values |= {column: value for column, value in optional.items() if value is not None}
    return values


def _by_keys(rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Bulk UPDATE by primary key needs the same columns in every row of one call."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())
