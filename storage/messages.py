"""Inbound messages (de-duplicated on the provider's id), conversations and the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation, InboundMessage, OutboxMessage
from storage.upsert import insert_ignore


async def record_inbound(
    session: AsyncSession, channel: str, provider_id: str, address_id: int | None, body: str | None
) -> bool:
    """Store an inbound message; False when the provider already delivered it (a replay)."""
    result = await session.execute(
        insert_ignore(session, InboundMessage.__table__, ["channel", "provider_id"])
        .values(channel=channel, provider_id=provider_id, address_id=address_id, body=body)
        .returning(InboundMessage.id)
    )
    return result.scalar() is not None


async def load_conversation(session: AsyncSession, address_id: int) -> Conversation | None:
    return await session.get(Conversation, address_id)


async def save_conversation(
    session: AsyncSession,
    address_id: int,
    existing: Conversation | None,
    flow: str | None,
    step: str = "",
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
    expires_at: datetime | None = None,
) -> None:
    """Keep the dialogue state, or forget it when the dialogue ended (flow None)."""
    if flow is None:
        if existing is not None:
            await session.execute(delete(Conversation).where(Conversation.address_id == address_id))
        return
    if existing is None:
        existing = Conversation(address_id=address_id)
        session.add(existing)
    existing.flow, existing.step, existing.data = flow, step, data or {}
    existing.updated_at, existing.expires_at = now, expires_at


async def enqueue(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Queue messages in the caller's transaction: they go out only if it commits."""
    if rows:
        await session.execute(OutboxMessage.__table__.insert(), list(rows))


async def outbox_for_provider_id(session: AsyncSession, provider_id: str) -> OutboxMessage | None:
    return await session.scalar(
        select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
    )
