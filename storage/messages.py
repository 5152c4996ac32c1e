"""Inbound messages (de-duplicated on the provider's id), conversations and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Conversation, InboundMessage, OutboxMessage
from storage.upsert import dialect_insert, insert_ignore

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
    statement = dialect_insert(connection, conversations).values(address_id=address_id, **values)
    await connection.execute(
        statement.on_conflict_do_update(index_elements=["address_id"], set_=values)
    )


async def enqueue(connection: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Queue messages in the caller's transaction: they go out only if it commits."""
    if rows:
        await connection.execute(outbox.insert(), list(rows))


async def outbox_by_provider_id(connection: AsyncConnection, provider_id: str) -> Row | None:
    query = select(outbox).where(outbox.c.provider_id == provider_id)
    return (await connection.execute(query)).one_or_none()
