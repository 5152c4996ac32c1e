"""Members, their organisations and their addresses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.text import fold
from storage.models import (
    Address,
    Conversation,
    InboundMessage,
    Member,
    Organisation,
    OutboxMessage,
)
from storage.upsert import insert_ignore

PHONE_CHANNELS = ("sms", "whatsapp")


async def address_for(session: AsyncSession, channel: str, address: str) -> Address:
    """The address row, created on first contact (a stranger's STOP must be kept too)."""
    await session.execute(
        insert_ignore(session, Address.__table__, ["channel", "address"]).values(
            channel=channel, address=address
        )
    )
    query = select(Address).where(Address.channel == channel, Address.address == address)
    if session.bind.dialect.name == "postgresql":
        # Two messages from one person at once must not both read the same dialogue state.
        query = query.with_for_update()
    row = await session.scalar(query)
    assert row is not None
    return row


async def member_with_details(session: AsyncSession, member_id: int) -> Member | None:
    return await session.scalar(
        select(Member)
        .where(Member.id == member_id, Member.erased_at.is_(None))
        .options(selectinload(Member.organisation), selectinload(Member.addresses))
    )


async def sibling_phone_member(session: AsyncSession, address: Address) -> int | None:
    """A member reachable on the same number on the other phone channel (SMS ↔ WhatsApp).

    Twilio vouches for the sender's number on both, so the two are the same person.
    """
    if address.channel not in PHONE_CHANNELS:
        return None
    other = "whatsapp" if address.channel == "sms" else "sms"
    return await session.scalar(
        select(Address.member_id).where(
            Address.channel == other,
            Address.address == address.address,
            Address.member_id.is_not(None),
        )
    )


async def listed_organisations(session: AsyncSession) -> tuple[str, ...]:
    names = await session.scalars(
        select(Organisation.name).where(Organisation.listed.is_(True)).order_by(Organisation.name)
    )
    return tuple(names)


async def organisation_named(session: AsyncSession, name: str, now: datetime) -> Organisation:
    key = fold(name)
    organisation = await session.scalar(select(Organisation).where(Organisation.name_key == key))
    if organisation is None:
        organisation = Organisation(name=name, name_key=key, created_at=now)
        session.add(organisation)
        await session.flush()
    return organisation


async def erase_member(session: AsyncSession, member: Member, now: datetime) -> list[int]:
    """Remove everything personal; keep an anonymous tombstone so counts stay right.

    Returns the ids of the member's addresses, which the caller deletes after queueing the
    goodbye message (the outbox row keeps only the recipient it needs to be sent).
    """
    address_ids = list(
        await session.scalars(select(Address.id).where(Address.member_id == member.id))
    )
    member.name = None
    member.organisation_id = None
    member.cercle = None
    member.themes = []
    member.consent_at = None
    member.erased_at = now
    await session.execute(
        update(InboundMessage).where(InboundMessage.address_id.in_(address_ids)).values(body=None)
    )
    theirs = or_(OutboxMessage.member_id == member.id, OutboxMessage.address_id.in_(address_ids))
    await session.execute(
        update(OutboxMessage)
        .where(theirs, OutboxMessage.status == "queued")
        .values(status="cancelled", error_message="member erased")
    )
    await session.execute(
        update(OutboxMessage).where(theirs).values(body="", recipient="", choices=None)
    )
    await session.execute(
        Conversation.__table__.delete().where(Conversation.address_id.in_(address_ids))
    )
    return address_ids
