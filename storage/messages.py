"""Inbound messages (de-duplicated on the provider's id), conversations and the outbox."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import (
    Address,
    Conversation,
    InboundMessage,
    Member,
    Organisation,
    OutboxMessage,
)
from storage.upsert import insert_ignore, upsert

conversations, inbound, outbox = (
    Conversation.__table__,
    InboundMessage.__table__,
    OutboxMessage.__table__,
)


async def record_inbound(
    connection: AsyncConnection,
    channel: str,
    provider_id: str,
    address_id: int | None,
    body: str | None,
) -> bool:
    """Store an inbound message; False when the provider already delivered it (a replay)."""
    result = await connection.execute(
        insert_ignore(connection, inbound, ["channel", "provider_id"])
        .values(channel=channel, provider_id=provider_id, address_id=address_id, body=body)
        .returning(inbound.c.id)
    )
    return result.scalar() is not None


async def load_conversation(connection: AsyncConnection, address_id: int) -> Row | None:
    return (
        await connection.execute(
            select(conversations).where(conversations.c.address_id == address_id)
        )
    ).one_or_none()


async def save_conversation(
    connection: AsyncConnection,
    address_id: int,
    flow: str | None,
    step: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    expires_at: datetime | None = None,
    existed: bool = True,
) -> None:
    """Keep the dialogue state, or forget it when the dialogue ended (flow None)."""
    if flow is None:
        if existed:
            await connection.execute(
                delete(conversations).where(conversations.c.address_id == address_id)
            )
        return
    values = {
        "flow": flow,
        "step": step,
        "data": data or {},
        "updated_at": now,
        "expires_at": expires_at,
    }
    await save_conversations(connection, [{"address_id": address_id, **values}], [])


async def enqueue(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue messages in the caller's transaction: they go out only if it commits."""
    if rows:
        await connection.execute(outbox.insert(), list(rows))


async def record_inbound_many(
    connection: AsyncConnection, rows: Sequence[dict[str, Any]]
) -> set[tuple[str, str]]:
    """Store inbound messages; returns the (channel, provider_id) of those not seen before."""
    statement = insert_ignore(connection, inbound, ["channel", "provider_id"])
    result = await connection.execute(
        statement.returning(inbound.c.channel, inbound.c.provider_id), list(rows)
    )
    return {(channel, provider_id) for channel, provider_id in result}


async def load_conversations(
    connection: AsyncConnection, address_ids: Sequence[int]
) -> dict[int, Row]:
    query = select(conversations).where(conversations.c.address_id.in_(address_ids))
    return {row.address_id: row for row in await connection.execute(query)}


async def save_conversations(
    connection: AsyncConnection, kept: Sequence[dict[str, Any]], ended: Sequence[int]
) -> None:
    """Upsert the dialogues that go on and delete the ones that ended, in two statements."""
    if kept:
        columns = ("flow", "step", "data", "updated_at", "expires_at")
        await connection.execute(
            upsert(connection, conversations, ("address_id",), columns), list(kept)
        )
    if ended:
        await connection.execute(delete(conversations).where(conversations.c.address_id.in_(ended)))


@functools.cache
def _dialogue_query():
    members, organisations = Member.__table__, Organisation.__table__
    addresses = Address.__table__
    joined = (
        addresses.outerjoin(conversations, conversations.c.address_id == addresses.c.id)
        .outerjoin(
            members, and_(members.c.id == addresses.c.member_id, members.c.erased_at.is_(None))
        )
        .outerjoin(organisations, organisations.c.id == members.c.organisation_id)
    )
    return (
        select(
            addresses.c.id.label("address_id"),
            conversations.c.flow,
            conversations.c.step,
            conversations.c.data,
            conversations.c.expires_at,
            members.c.id.label("member_id"),
            members.c.name,
            members.c.region,
            members.c.cercle,
            members.c.themes,
            members.c.language,
            members.c.sex,
            members.c.age_band,
            members.c.consent_at,
            members.c.imported_at,
            members.c.refused_at,
            organisations.c.name.label("organisation_name"),
        )
        .select_from(joined)
        .where(addresses.c.id.in_(bindparam("address_ids", expanding=True)))
    )


async def load_dialogues(connection: AsyncConnection, address_ids: Sequence[int]) -> dict[int, Row]:
    """For each address, in one query: its unfinished dialogue (flow None if there is none)
    and its member with their organisation's name (member_id None if none, or erased)."""
    result = await connection.execute(_dialogue_query(), {"address_ids": list(address_ids)})
    return {row.address_id: row for row in result}
