"""Fan-out: a broadcast becomes one outbox row per member reached, in one statement.

INSERT … SELECT over the audience query: no member is loaded into Python, and ON CONFLICT
(broadcast_id, member_id) DO NOTHING makes a second run, or a second process, add nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import ColumnElement, Insert, Integer, String, Text, and_, case, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from broadcasts.model import Draft
from broadcasts.sms import body_rules
from storage.audience import ranked_addresses
from storage.models import OutboxMessage
from storage.outbox.rows import FAN_OUT_COLUMNS
from storage.outbox.states import OutboxStatus, Priority
from storage.types import UTCDateTime

outbox = OutboxMessage.__table__


def body_for(
    draft: Draft, language: ColumnElement[str], channel: ColumnElement[str]
) -> ColumnElement[str]:
    """A CASE over (language, channel) whose few bodies are computed in Python, bound once."""
    *rules, default = body_rules(draft)
    whens = []
    for rule in rules:
        matches = []
        if rule.language is not None:
            matches.append(language == rule.language)
        if rule.channel is not None:
            matches.append(channel == rule.channel)
        whens.append((and_(*matches), literal(rule.body, Text)))
    fallback = literal(default.body, Text)
    return case(*whens, else_=fallback) if whens else fallback


def fan_out_statement(
    dialect: str,
    broadcast_id: int,
    draft: Draft,
    enabled_channels: Collection[str],
    now: datetime,
    sms_not_before: datetime | None = None,
) -> Insert:
    ranked = ranked_addresses(draft.audience, enabled_channels, dialect)
    moment = literal(now, UTCDateTime())
    first_attempt: ColumnElement = moment
    if sms_not_before is not None:  # quiet hours: SMS waits, other channels go now
        held = literal(sms_not_before, UTCDateTime())
        first_attempt = case((ranked.c.channel == "sms", held), else_=moment)
    rows = select(
        ranked.c.address_id,
        ranked.c.member_id,
        literal(broadcast_id, Integer),
        ranked.c.channel,
        ranked.c.recipient,
        body_for(draft, ranked.c.language, ranked.c.channel),
        literal(int(Priority.BULK), Integer),
        literal(OutboxStatus.QUEUED.value, String),
        literal(0, Integer),
        first_attempt,
        moment,
        moment,
    ).where(ranked.c.choice == 1)  # a WHERE also keeps SQLite's parser from reading ON as a join's
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(outbox)
        .from_select(list(FAN_OUT_COLUMNS), rows)
        .on_conflict_do_nothing(index_elements=["broadcast_id", "member_id"])
    )


async def fan_out(
    connection: AsyncConnection,
    broadcast_id: int,
    draft: Draft,
    enabled_channels: Collection[str],
    now: datetime,
    sms_not_before: datetime | None = None,
) -> int:
    """Queue the broadcast for its audience in the caller's transaction; returns rows added.

    With `sms_not_before` (quiet hours), SMS rows are first tried then, not now.
    """
    statement = fan_out_statement(
        connection.dialect.name, broadcast_id, draft, enabled_channels, now, sms_not_before
    )
    return (await connection.execute(statement)).rowcount
