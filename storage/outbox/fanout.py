"""A broadcast's outbox rows: made by fan-out, given a button, cancelled.

Fan-out is one INSERT … SELECT over the audience query: no member is loaded into Python, and
ON CONFLICT (broadcast_id, member_id) DO NOTHING makes a second run, or a second process, add
nothing. What each member's row says comes in as BodyRules (broadcasts.sms computes the few
variants per language and channel), bound once into a SQL CASE.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    and_,
    case,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from broadcasts.model import Audience, BodyRule, TemplateRule
from storage.audience import ranked_addresses
from storage.models import Member, OutboxMessage
from storage.outbox.rows import FAN_OUT_COLUMNS
from storage.outbox.states import OutboxStatus, Priority
from storage.types import UTCDateTime

outbox, members = OutboxMessage.__table__, Member.__table__


def body_for(
    rules: Sequence[BodyRule], language: ColumnElement[str], channel: ColumnElement[str]
) -> ColumnElement[str]:
    """A CASE over (language, channel) applying `rules` in order; the last is the default."""
    *specific, default = rules
    whens = []
    for rule in specific:
        matches = []
        if rule.language is not None:
            matches.append(language == rule.language)
        if rule.channel is not None:
            matches.append(channel == rule.channel)
        whens.append((and_(*matches), literal(rule.body, Text)))
    fallback = literal(default.body, Text)
    return case(*whens, else_=fallback) if whens else fallback


async def fan_out(
    connection: AsyncConnection,
    broadcast_id: int,
    audience: Audience,
    bodies: Sequence[BodyRule],
    enabled_channels: Collection[str],
    now: datetime,
    *,
    sms_not_before: datetime | None = None,
    only_members: Select[Any] | None = None,
) -> int:
    """Queue the broadcast for its audience in the caller's transaction; returns rows added.

    With `sms_not_before` (quiet hours), SMS rows are first tried then, not now. With
    `only_members` (a SELECT of member ids), members of the audience outside it get nothing.
    """
    dialect = connection.dialect.name
    ranked = ranked_addresses(audience, enabled_channels, dialect)
    moment = literal(now, UTCDateTime())
    first_attempt: ColumnElement[datetime] = moment
    if sms_not_before is not None:  # quiet hours: SMS waits, other channels go now
        held = literal(sms_not_before, UTCDateTime())
        first_attempt = case((ranked.c.channel == "sms", held), else_=moment)
    rows = select(
        ranked.c.address_id,
        ranked.c.member_id,
        literal(broadcast_id, Integer),
        ranked.c.channel,
        ranked.c.recipient,
        body_for(bodies, ranked.c.language, ranked.c.channel),
        literal(int(Priority.BULK), Integer),
        literal(OutboxStatus.QUEUED.value, String),
        literal(0, Integer),
        first_attempt,
        moment,
        moment,
    ).where(ranked.c.choice == 1)  # a WHERE also keeps SQLite's parser from reading ON as a join's
    if only_members is not None:
        rows = rows.where(ranked.c.member_id.in_(only_members))
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(outbox)
        .from_select(list(FAN_OUT_COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=["broadcast_id", "member_id"])
    )
    return (await connection.execute(statement)).rowcount


async def set_choices(
    connection: AsyncConnection,
    broadcast_id: int,
    channel: str,
    by_language: Mapping[str, list[list[str]]],
) -> None:
    """The broadcast's rows on `channel` get choices (buttons), in each member's language."""
    for language, choices in by_language.items():
        in_their_language = select(members.c.id).where(members.c.language == language)
        await connection.execute(
            update(outbox)
            .where(
                outbox.c.broadcast_id == broadcast_id,
                outbox.c.channel == channel,
                outbox.c.member_id.in_(in_their_language),
            )
            .values(choices=choices)
        )


async def set_templates(
    connection: AsyncConnection, broadcast_id: int, rules: Sequence[TemplateRule]
) -> None:
    """The broadcast's WhatsApp rows carry the approved template of their member's language
    (a few UPDATEs, one per language): sent instead of the text outside the 24 h window."""
    for rule in rules:
        in_their_language = select(members.c.id).where(members.c.language == rule.language)
        await connection.execute(
            update(outbox)
            .where(
                outbox.c.broadcast_id == broadcast_id,
                outbox.c.channel == "whatsapp",
                outbox.c.member_id.in_(in_their_language),
            )
            .values(content_sid=rule.content_sid, content_variables=rule.variables)
        )


async def cancel_queued(
    connection: AsyncConnection, broadcast_id: int, reason: str, now: datetime
) -> int:
    """Cancel the broadcast's rows not yet sent; returns how many."""
    result = await connection.execute(
        update(outbox)
        .where(outbox.c.broadcast_id == broadcast_id, outbox.c.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.CANCELLED.value, error_message=reason, updated_at=now)
    )
    return result.rowcount
