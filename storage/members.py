"""Members, their organisations and their addresses (Core statements on one connection)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.channels import PHONE_CHANNELS
from bot.vocabulary.text import fold
from storage import provider_media, suppression
from storage.database import mark_erasure
from storage.models import (
    Address,
    Conversation,
    InboundMessage,
    Member,
    Organisation,
    OutboxMessage,
    PollResponse,
    PollSession,
    Report,
)
from storage.outbox.states import OutboxStatus
from storage.upsert import insert_ignore, upsert

addresses, members, organisations = Address.__table__, Member.__table__, Organisation.__table__
outbox, inbound = OutboxMessage.__table__, InboundMessage.__table__
reports = Report.__table__
poll_sessions, poll_responses = PollSession.__table__, PollResponse.__table__


async def address_for(connection: AsyncConnection, channel: str, address: str) -> Row:
    """The address row, created on first contact (a stranger's STOP must be kept too).

    One statement: an upsert that returns the row. On PostgreSQL the no-op update also locks the
    row, so two messages from one person at once see one dialogue state, in turn.
    """
    statement = upsert(connection, addresses, ("channel", "address"), ("channel",)).returning(
        addresses
    )
    return (await connection.execute(statement, {"channel": channel, "address": address})).one()


async def update_address(connection: AsyncConnection, address_id: int, **values: Any) -> None:
    await connection.execute(update(addresses).where(addresses.c.id == address_id).values(**values))


async def listed_organisations(connection: AsyncConnection) -> tuple[str, ...]:
    names = await connection.scalars(
        select(organisations.c.name)
        .where(organisations.c.listed.is_(True))
        .order_by(organisations.c.name)
    )
    return tuple(names)


async def organisation_id_named(connection: AsyncConnection, name: str) -> int:
    """The organisation of that name, whatever the spelling ("ONG Kènèya" = "ong keneya")."""
    key = fold(name)
    # A name merged into another organisation (organisation_records.merge) finds that one.
    merged = await connection.execute(
        select(organisations.c.id, organisations.c.aliases).where(
            organisations.c.aliases.is_not(None), organisations.c.name_key != key
        )
    )
    for organisation_id, aliases in merged:
        if key in (aliases or ()):
            return int(organisation_id)
    await connection.execute(
        insert_ignore(connection, organisations, ["name_key"]).values(name=name, name_key=key)
    )
    found = await connection.execute(
        select(organisations.c.id).where(organisations.c.name_key == key)
    )
    return int(found.scalar_one())


async def create_member(connection: AsyncConnection, **values: Any) -> int:
    made = await connection.execute(members.insert().values(**values).returning(members.c.id))
    return int(made.scalar_one())


async def update_member(connection: AsyncConnection, member_id: int, **values: Any) -> None:
    await connection.execute(update(members).where(members.c.id == member_id).values(**values))


@dataclass(frozen=True)
class Erased:
    address_ids: list[int]  # deleted by the caller once the goodbye is queued
    addresses: list[tuple[str, str]]  # (channel, address): what the counts were keyed on
    photos: list[str]  # report photos on disk: removed by the caller after the commit
    # (kind, value) for the erasure suppression list (storage/suppression.py): each address,
    # normalised, and the Telegram username a directory import gave them, if any.
    suppressed: list[tuple[str, str]] = field(default_factory=list)


async def erase_member(connection: AsyncConnection, member_id: int, now: datetime) -> Erased:
    """Remove everything personal; keep an anonymous tombstone so counts stay right.

    What only this member brought goes too: an organisation they typed that nobody else uses
    (not one of the coordination's listed ones), and their reports' photos (the reports stay,
    the organisations' record). The caller deletes the addresses after queueing the goodbye
    message (its outbox row keeps only the recipient it needs to be sent), and the photo files
    after the commit. The transaction is marked for a WAL checkpoint (storage/database.py), so
    no copy of what was erased stays in the SQLite journal.
    """
    mark_erasure(connection)
    rows = (
        await connection.execute(
            select(addresses.c.id, addresses.c.channel, addresses.c.address).where(
                addresses.c.member_id == member_id
            )
        )
    ).all()
    address_ids = [row.id for row in rows]
    before = (
        await connection.execute(
            select(members.c.organisation_id, members.c.telegram_username).where(
                members.c.id == member_id
            )
        )
    ).one()
    organisation_id = before.organisation_id
    suppressed = [(suppression.kind_of(row.channel), row.address) for row in rows]
    if before.telegram_username:
        suppressed.append((suppression.USERNAME, before.telegram_username))
    await update_member(
        connection,
        member_id,
        name=None,
        organisation_id=None,
        cercle=None,
        themes=[],
        consent_at=None,
        erased_at=now,
        # The directory's fields too: with a region, sex and age could point to someone.
        sex=None,
        age_band=None,
        role=None,
        email=None,
        telegram_username=None,
        consent_channel=None,
    )
    await connection.execute(
        update(organisations)
        .where(organisations.c.focal_member_id == member_id)
        .values(focal_member_id=None)
    )
    await connection.execute(
        update(inbound).where(inbound.c.address_id.in_(address_ids)).values(body=None)
    )
    theirs = or_(outbox.c.member_id == member_id, outbox.c.address_id.in_(address_ids))
    await connection.execute(
        update(outbox)
        .where(theirs, outbox.c.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED.value, error_message="member erased")
    )
    await connection.execute(
        update(outbox).where(theirs).values(body="", recipient="", choices=None)
    )
    await connection.execute(
        delete(Conversation.__table__).where(Conversation.__table__.c.address_id.in_(address_ids))
    )
    # What they typed in poll answers; the answers stay counted (choices, numbers: no text).
    await connection.execute(
        update(poll_responses)
        .where(
            poll_responses.c.session_id.in_(
                select(poll_sessions.c.id).where(poll_sessions.c.member_id == member_id)
            ),
            poll_responses.c.text.is_not(None),
        )
        .values(text=None)
    )
    photos = await _forget_report_texts_and_photos(connection, member_id, now)
    await provider_media.sent_by_erased(connection, address_ids, now)  # a draft's photo too
    if organisation_id is not None:
        await _drop_if_only_theirs(connection, organisation_id, member_id)
    return Erased(address_ids, [(row.channel, row.address) for row in rows], photos, suppressed)


async def _forget_report_texts_and_photos(
    connection: AsyncConnection, member_id: int, now: datetime
) -> list[str]:
    """What their reports carry beyond the figures, as the report_text purge leaves them: the
    free text (it may name the people the activity served), the photo files (removed by the
    caller once this commits) and, for a photo a provider still holds (a WhatsApp photo not
    fetched yet), its deletion there."""
    theirs = reports.c.member_id == member_id
    paths = await connection.scalars(
        select(reports.c.media_path).where(theirs, reports.c.media_path.is_not(None))
    )
    found = list(paths)
    held = await connection.execute(
        select(reports.c.media_kind, reports.c.media_ref).where(
            theirs, reports.c.media_path.is_(None)
        )
    )
    await provider_media.to_delete(connection, [tuple(row) for row in held], now)
    await connection.execute(
        update(reports)
        .where(theirs, reports.c.media_kind.is_not(None))
        .values(
            media_kind=None,
            media_ref=None,
            media_path=None,
            media_error=None,
            media_next_attempt_at=None,
        )
    )
    await connection.execute(
        update(reports)
        .where(theirs, reports.c.text_purged_at.is_(None))
        .values(description="", text_purged_at=now)
    )
    return found


async def _drop_if_only_theirs(
    connection: AsyncConnection, organisation_id: int, member_id: int
) -> None:
    """An organisation a member typed (not listed) that no other member or report names."""
    others = select(members.c.id).where(
        members.c.organisation_id == organisation_id, members.c.id != member_id
    )
    other_reports = select(reports.c.id).where(
        reports.c.organisation_id == organisation_id,
        or_(reports.c.member_id.is_(None), reports.c.member_id != member_id),
    )
    await connection.execute(
        delete(organisations).where(
            organisations.c.id == organisation_id,
            organisations.c.listed.is_(False),
            ~others.exists(),
            ~other_reports.exists(),
        )
    )


async def delete_addresses(connection: AsyncConnection, address_ids: Sequence[int]) -> None:
    await connection.execute(delete(addresses).where(addresses.c.id.in_(address_ids)))


async def addresses_for(
    connection: AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Row]:
    """Many addresses in one upsert, keyed by (channel, address). Keys must be distinct.

    Executed as "executemany" so SQLAlchemy compiles it once and batches the VALUES itself.
    """
    statement = upsert(connection, addresses, ("channel", "address"), ("channel",)).returning(
        addresses
    )
    result = await connection.execute(statement, [{"channel": c, "address": a} for c, a in keys])
    return {(row.channel, row.address): row for row in result}


async def record_last_inbound(
    connection: AsyncConnection, moments: Sequence[tuple[int, datetime]]
) -> None:
    """Each address's latest message from its member (never moved back by a late one): on
    WhatsApp, what opens the 24 h window for free text."""
    if not moments:
        return
    await connection.execute(
        update(addresses)
        .where(
            addresses.c.id == bindparam("address_id"),
            or_(
                addresses.c.last_inbound_at.is_(None),
                addresses.c.last_inbound_at < bindparam("at"),
            ),
        )
        .values(last_inbound_at=bindparam("at")),
        [{"address_id": address_id, "at": at} for address_id, at in moments],
    )


async def link_phone_siblings(
    connection: AsyncConnection, member_id: int, channel: str, address: str
) -> None:
    """At registration: the same number on the other phone channel is the same member."""
    if channel in PHONE_CHANNELS:
        await connection.execute(
            update(addresses)
            .where(
                addresses.c.address == address,
                addresses.c.channel.in_(PHONE_CHANNELS),
                addresses.c.member_id.is_(None),
            )
            .values(member_id=member_id)
        )


async def member_profiles(connection: AsyncConnection, member_ids: Sequence[int]) -> dict[int, Row]:
    if not member_ids:
        return {}
    query = (
        select(members, organisations.c.name.label("organisation_name"))
        .select_from(members.outerjoin(organisations))
        .where(members.c.id.in_(member_ids), members.c.erased_at.is_(None))
    )
    return {row.id: row for row in await connection.execute(query)}


async def sibling_phone_members(
    connection: AsyncConnection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """For each (sms|whatsapp, number), the member registered on the other phone channel."""
    numbers = [address for channel, address in keys if channel in PHONE_CHANNELS]
    if not numbers:
        return {}
    query = select(addresses.c.channel, addresses.c.address, addresses.c.member_id).where(
        addresses.c.address.in_(numbers),
        addresses.c.channel.in_(PHONE_CHANNELS),
        addresses.c.member_id.is_not(None),
    )
    found: dict[tuple[str, str], int] = {}
    for channel, address, member_id in await connection.execute(query):
        other = "whatsapp" if channel == "sms" else "sms"
        found[(other, address)] = member_id
    return found


async def phone_members(connection: AsyncConnection, number: str) -> set[int]:
    """The members a phone number already belongs to, on any phone channel (nothing created)."""
    query = select(addresses.c.member_id).where(
        addresses.c.address == number,
        addresses.c.channel.in_(PHONE_CHANNELS),
        addresses.c.member_id.is_not(None),
    )
    return set(await connection.scalars(query))
