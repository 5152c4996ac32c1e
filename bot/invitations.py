"""Invitations of people brought in by a directory import: one SMS each, in their language,
saying who holds their data and asking OUI or STOP; a single reminder after a set time; then
nothing. The answers are read by the dialogue (bot/flows/invitation.py).

Rows go through the outbox like any reply (at bulk priority), so the dispatcher's routes pick
the SIM or provider (a local Malian SIM where one is configured)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Reply
from bot.render import render_for_channel
from bot.vocabulary.i18n import _, use_locale
from storage import suppression
from storage.database import Database
from storage.models import Address, Member, OutboxMessage
from storage.outbox.rows import reply_row
from storage.outbox.states import Priority

members, addresses = Member.__table__, Address.__table__
# Invitations are SMS first (where a number exists), WhatsApp if that is all there is.
INVITATION_CHANNELS = ("sms", "whatsapp")


def invitation_text(holder: str | None, reminder: bool = False) -> str:
    """In the current locale; `holder`: who keeps the directory (a proper name) or None."""
    who = holder or _("le secrétariat de la coordination")
    if reminder:
        return _(
            "Benkadi, rappel : votre nom et votre numéro sont dans le répertoire des OSC tenu par {holder}. OUI pour rejoindre, STOP pour refuser. Sans réponse, nous ne vous écrirons plus."
        ).format(holder=who)
    return _(
        "Benkadi : votre nom et votre numéro sont dans le répertoire national des OSC tenu par {holder}. Répondez OUI pour recevoir les messages de la coordination, STOP pour refuser."
    ).format(holder=who)


def _pending() -> list:
    """Imported people who have neither joined nor refused (and are not erased)."""
    return [
        members.c.imported_at.is_not(None),
        members.c.consent_at.is_(None),
        members.c.refused_at.is_(None),
        members.c.erased_at.is_(None),
    ]


def _usable_phone() -> list:
    return [
        addresses.c.member_id == members.c.id,
        addresses.c.channel.in_(INVITATION_CHANNELS),
        addresses.c.opted_out_at.is_(None),
        addresses.c.blocked_at.is_(None),
        addresses.c.invalid_at.is_(None),
    ]


async def _queue(
    connection: AsyncConnection,
    conditions: list,
    now: datetime,
    holder: str | None,
    reminder: bool,
    key: suppression.SuppressionKey | None,
) -> list[int]:
    """Claim the members matching `conditions` who have a usable phone address (a conditional
    UPDATE: two schedulers never both send), then one row each to the first such address.

    An address on the erasure suppression list (`key`) is never written to: a member whose
    every usable address is on it stays claimed (so never tried again) with nothing sent, and
    is not among the ids returned. (The import leaves such people out; this is the last check
    on the one path that writes first to someone who has not joined.)"""
    column = "reminded_at" if reminder else "invited_at"
    usable = exists(select(1).select_from(addresses).where(*_usable_phone()))
    claimed = await connection.execute(
        update(members).where(*conditions, usable).values({column: now}).returning(members.c.id)
    )
    ids = sorted(claimed.scalars())
    if not ids:
        return []
    query = (
        select(
            members.c.id,
            members.c.language,
            addresses.c.id.label("address_id"),
            addresses.c.channel,
            addresses.c.address,
        )
        .join(addresses, addresses.c.member_id == members.c.id)
        .where(members.c.id.in_(ids), *_usable_phone())
        .order_by(members.c.id, addresses.c.channel, addresses.c.id)  # sms before whatsapp
    )
    candidates = list(await connection.execute(query))
    barred: set[tuple[str, str]] = set()
    if key is not None:
        barred = await suppression.suppressed(
            connection, key, {(suppression.PHONE, member.address) for member in candidates}
        )
    rows: list[dict] = []
    seen: set[int] = set()
    texts: dict[str, str] = {}
    for member in candidates:
        if member.id in seen or (suppression.PHONE, member.address) in barred:
            continue
        seen.add(member.id)
        if member.language not in texts:
            with use_locale(member.language):
                texts[member.language] = invitation_text(holder, reminder)
        body, _choices = render_for_channel(Reply(texts[member.language]), member.channel)
        rows.append(
            reply_row(
                address_id=member.address_id,
                member_id=member.id,
                channel=member.channel,
                recipient=member.address,
                body=body,
                choices=None,
                now=now,
                priority=Priority.BULK,
            )
        )
    if rows:
        await connection.execute(OutboxMessage.__table__.insert(), rows)
    return sorted(seen)


async def invite(
    connection: AsyncConnection,
    member_ids: Sequence[int],
    now: datetime,
    holder: str | None,
    key: suppression.SuppressionKey | None,
) -> list[int]:
    """Queue the one invitation of each of these imported people not invited yet; returns the
    ids invited (those without a usable number are not)."""
    invited: list[int] = []
    for start in range(0, len(member_ids), 500):
        chunk = list(member_ids[start : start + 500])
        conditions = [*_pending(), members.c.invited_at.is_(None), members.c.id.in_(chunk)]
        invited += await _queue(connection, conditions, now, holder, False, key)
    return invited


def _reminder_due(now: datetime, after: timedelta) -> list:
    return [
        *_pending(),
        and_(members.c.invited_at.is_not(None), members.c.invited_at <= now - after),
        members.c.reminded_at.is_(None),
    ]


async def reminders_due(database: Database, now: datetime, after: timedelta) -> bool:
    """Whether anyone is due a reminder: a read (no write lock), asked every scheduler tick."""
    usable = exists(select(1).select_from(addresses).where(*_usable_phone()))
    query = select(members.c.id).where(*_reminder_due(now, after), usable).limit(1)
    async with database.sessions() as session:
        return (await session.scalar(query)) is not None


async def remind(
    connection: AsyncConnection,
    now: datetime,
    after: timedelta,
    holder: str | None,
    key: suppression.SuppressionKey | None = None,
) -> list[int]:
    """The single reminder, to everyone invited at least `after` ago who has not answered."""
    return await _queue(connection, _reminder_due(now, after), now, holder, True, key)
