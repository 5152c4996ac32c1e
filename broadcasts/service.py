"""Broadcasts, the imperative shell used by the HTTP API, the CLI and the scheduler.

Every change of state is one short transaction holding the change, its outbox rows and its
audit entry (making and sending are broadcasts.launch's). State changes are claims: an
UPDATE … WHERE status IN (…) that returns the row, so two processes (or a person and the
scheduler) never both send or both cancel a broadcast.

Returned dicts are JSON-able: datetimes are ISO 8601 strings in UTC.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.vocabulary.errors import Conflict, NotFound
from broadcasts import preview as preview_core
from broadcasts import route_preview, whatsapp_preview
from broadcasts.launch import (
    SCHEDULER,
    Delivery,
    draft_of,
    iso,
    missing_templates,
    refusal,
    target,
    template_rules,
    waiting_status,
)
from broadcasts.launch import insert as insert_broadcast
from broadcasts.launch import send as send_broadcast
from broadcasts.model import NEXT_CHANNEL, Draft
from storage import audit
from storage import whatsapp as templates_store
from storage.database import Database
from storage.models import Broadcast, Organisation, OutboxMessage
from storage.outbox.fallback import fallen_back
from storage.outbox.fanout import cancel_queued
from storage.outbox.states import CANCELLABLE, FAILURES, SENDABLE, BroadcastStatus, OutboxStatus
from storage.retention import delivery_tally
from storage.types import utcnow

broadcasts, outbox = Broadcast.__table__, OutboxMessage.__table__
organisations = Organisation.__table__


class BroadcastNotFound(NotFound):
    pass


class BroadcastStateError(Conflict):
    """The broadcast is in a state that does not allow this (e.g. sending a cancelled one)."""


async def known_organisations(database: Database) -> set[str]:
    """Every organisation name as stored: what audience.organisations may name."""
    async with database.sessions() as session:
        return set(await session.scalars(select(organisations.c.name)))


async def preview(
    database: Database,
    draft: Draft,
    *,
    enabled_channels: Collection[str],
    price_per_segment: float,
    currency: str = "USD",
) -> dict[str, Any]:
    now = utcnow()
    async with database.sessions() as session:
        connection = await session.connection()
        reached, excluded = await preview_core.counts(connection, draft, enabled_channels)
        windows = await templates_store.window_counts(
            connection, draft.audience, enabled_channels, now
        )
        outside_next = await templates_store.outside_window_next(
            connection, draft.audience, enabled_channels, now
        )
        rules = await template_rules(connection, draft)
        known = await templates_store.load_templates(connection)
        names = {t.sid: t.name for t in known}
        problems = templates_store.template_problems(
            draft.whatsapp, known, draft.template_variables
        )
        result = preview_core.summarise(
            draft,
            reached,
            excluded,
            enabled_channels=enabled_channels,
            price_per_segment=price_per_segment,
            currency=currency,
        )
        if "sms" in result["channels"]:  # Android gateways: the SMS per route, when any
            segments = {
                language: text["channels"]["sms"]["segments"]
                for language, text in result["texts"].items()
                if "sms" in text["channels"]
            }
            routes = await route_preview.sms_routes(
                connection, draft, enabled_channels, segments, twilio_price=price_per_segment
            )
            if routes is not None:
                result["sms"]["by_route"] = routes
        if "whatsapp" in result["channels"]:
            result["whatsapp"] = whatsapp_preview.summarise(
                draft,
                windows,
                outside_next,
                rules,
                names,
                price_per_segment=price_per_segment,
                problems=problems,
            )
            await _price_fallback_sms(connection, draft, enabled_channels, now, result,
                                      twilio_price=price_per_segment)  # fmt: skip
    return result


async def _price_fallback_sms(
    connection: AsyncConnection,
    draft: Draft,
    enabled_channels: Collection[str],
    now: datetime,
    result: dict[str, Any],
    *,
    twilio_price: float,
) -> None:
    """With Android gateways, the SMS that WhatsApp members fall back to cost what their
    routes cost (the SIM each would take, at its price), not Twilio's price."""
    window = result["whatsapp"]
    if not window["fallback_sms"]["members"]:
        return
    languages = set(window["missing_templates"])
    fallbacks = await templates_store.outside_window_sms(
        connection, draft.audience, enabled_channels, now, languages
    )
    segments = {language: whatsapp_preview.sms_segments(draft, language) for language in languages}
    routes = await route_preview.fallback_routes(
        connection, fallbacks, segments, twilio_price=twilio_price
    )
    if routes is not None:
        window["fallback_sms"]["by_route"] = routes
        window["fallback_sms"]["estimated_cost"] = routes["cost"]


async def check_templates(
    database: Database, draft: Draft, *, enabled_channels: Collection[str]
) -> None:
    """Before making a draft that is to go at once: refused as send_now would refuse it (every
    language without a template named), so a refusal leaves no draft behind."""
    if draft.outside_window == NEXT_CHANNEL:
        return
    async with database.sessions() as session:
        connection = await session.connection()
        missing = await missing_templates(connection, draft, enabled_channels, utcnow())
    if missing:
        raise refusal(missing)


async def create(database: Database, draft: Draft, actor: str) -> int:
    """Store a draft: "scheduled" when it has a send time, else a "draft" to send by hand."""
    async with database.transaction() as connection:
        return await insert_broadcast(
            connection, draft, actor, status=waiting_status(draft), now=utcnow()
        )


async def _refusal(connection: AsyncConnection, broadcast_id: int, verb: str) -> Exception:
    """Why a claim on a broadcast found nothing: it does not exist, or its state forbids it."""
    status = await connection.scalar(
        select(broadcasts.c.status).where(broadcasts.c.id == broadcast_id)
    )
    if status is None:
        return BroadcastNotFound(f"no broadcast {broadcast_id}")
    return BroadcastStateError(f"broadcast {broadcast_id} is {status}: cannot {verb} it")


async def send_now(
    database: Database,
    broadcast_id: int,
    actor: str,
    *,
    enabled_channels: Collection[str],
    now: datetime | None = None,
) -> int:
    """Fan a draft or scheduled broadcast out now; returns the outbox rows queued.

    Refused (naming each language) when WhatsApp members outside the 24 h window have no
    approved template in their language, unless the draft sends those to their next channel."""
    delivery = Delivery(enabled_channels, now or utcnow(), refuse_missing_templates=True)
    async with database.transaction() as connection:
        queued = await send_broadcast(connection, broadcast_id, SENDABLE, actor, delivery)
        if queued is None:
            raise await _refusal(connection, broadcast_id, "send")
    return queued


async def cancel(database: Database, broadcast_id: int, actor: str) -> int:
    """Cancel a broadcast and its rows not yet sent; returns how many rows were cancelled.

    A row a dispatcher holds under lease at this moment may still go out, and is then
    recorded as sent: the outbox stays the truth of what was sent.
    """
    now = utcnow()
    async with database.transaction() as connection:
        claimed = (
            await connection.execute(
                update(broadcasts)
                .where(broadcasts.c.id == broadcast_id, broadcasts.c.status.in_(CANCELLABLE))
                .values(status=BroadcastStatus.CANCELLED.value, cancelled_at=now)
                .returning(broadcasts.c.status)
            )
        ).one_or_none()
        if claimed is None:
            raise await _refusal(connection, broadcast_id, "cancel")
        rows = await cancel_queued(connection, broadcast_id, "broadcast cancelled", now)
        await audit.record(
            connection, actor, "broadcast.cancel", target(broadcast_id), {"rows": rows}
        )
    return rows


async def run_due(
    database: Database, now: datetime, *, enabled_channels: Collection[str]
) -> list[int]:
    """Fan out every scheduled broadcast whose time has come; returns the ids this call sent.

    Safe with several schedulers at once: each broadcast is claimed in its own transaction,
    and a claim that finds it no longer scheduled leaves it to whoever got it.
    """
    async with database.sessions() as session:
        due = list(
            await session.scalars(
                select(broadcasts.c.id)
                .where(
                    broadcasts.c.status == BroadcastStatus.SCHEDULED, broadcasts.c.send_at <= now
                )
                .order_by(broadcasts.c.send_at, broadcasts.c.id)
            )
        )
    delivery = Delivery(enabled_channels, now)
    sent = []
    for broadcast_id in due:
        async with database.transaction() as connection:
            queued = await send_broadcast(
                connection, broadcast_id, (BroadcastStatus.SCHEDULED,), SCHEDULER, delivery
            )
        if queued is not None:
            sent.append(broadcast_id)
    return sent


async def finish_completed(database: Database, now: datetime) -> list[int]:
    """Mark sent every sending broadcast with no row left waiting to go out."""
    waiting = exists().where(
        outbox.c.broadcast_id == broadcasts.c.id, outbox.c.status == OutboxStatus.QUEUED
    )
    async with database.transaction() as connection:
        finished = list(
            await connection.scalars(
                update(broadcasts)
                .where(broadcasts.c.status == BroadcastStatus.SENDING, ~waiting)
                .values(status=BroadcastStatus.SENT.value, finished_at=now)
                .returning(broadcasts.c.id)
            )
        )
        for broadcast_id in finished:
            await audit.record(connection, SCHEDULER, "broadcast.finish", target(broadcast_id))
    return sorted(finished)


def _summary(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "status": row.status,
        "send_at": iso(row.send_at),
        "created_by": row.created_by,
        "created_at": iso(row.created_at),
        "fanned_out_at": iso(row.fanned_out_at),
        "finished_at": iso(row.finished_at),
        "cancelled_at": iso(row.cancelled_at),
        "recipients": row.recipients,
    }


async def _broadcast(session: AsyncSession, broadcast_id: int) -> Row[Any]:
    row = (
        await session.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id))
    ).one_or_none()
    if row is None:
        raise BroadcastNotFound(f"no broadcast {broadcast_id}")
    return row


async def get_status(database: Database, broadcast_id: int) -> dict[str, Any]:
    """The broadcast, and where its outbox rows are: per channel and status, and why some failed."""
    async with database.sessions() as session:
        row = await _broadcast(session, broadcast_id)
        # Rows still held and rows retention counted before deleting them (storage/retention).
        tally = delivery_tally([broadcast_id])
        n = func.sum(tally.c.rows)
        by_status = await session.execute(
            select(tally.c.channel, tally.c.status, n).group_by(tally.c.channel, tally.c.status)
        )
        failures = await session.execute(
            select(tally.c.channel, tally.c.error_code, tally.c.error_message, n)
            .where(tally.c.status.in_(FAILURES))
            .group_by(tally.c.channel, tally.c.error_code, tally.c.error_message)
            .order_by(n.desc(), tally.c.channel)
        )
        moved = await session.execute(
            select(outbox.c.fallback_from, outbox.c.channel, outbox.c.fallback_reason, func.count())
            .where(fallen_back(broadcast_id))
            .group_by(outbox.c.fallback_from, outbox.c.channel, outbox.c.fallback_reason)
            .order_by(func.count().desc(), outbox.c.fallback_from, outbox.c.channel)
        )
    fallbacks = [
        {"from": source, "to": channel, "reason": reason, "count": n}
        for source, channel, reason, n in moved
    ]
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for channel, status, rows in by_status:
        counts.setdefault(channel, {})[status] = int(rows)
        totals[status] = totals.get(status, 0) + int(rows)
    return {
        **_summary(row),
        "texts": row.texts,
        "audience": row.audience,
        "sms_gsm_safe": row.sms_gsm_safe,
        "counts": counts,
        "totals": totals,
        "failures": [
            {"channel": channel, "code": code, "message": message, "count": int(rows)}
            for channel, code, message, rows in failures
        ],
        # Rows a channel could not carry, gone once on the member's next one (counted in
        # `counts` under the channel they went on).
        "fallback": row.fallback,
        "fallbacks": {"total": sum(f["count"] for f in fallbacks), "by_reason": fallbacks},
        "whatsapp": row.whatsapp,
    }


async def list_broadcasts(database: Database, limit: int = 50) -> list[dict[str, Any]]:
    """The latest broadcasts, newest first, each with its outbox rows per status."""
    async with database.sessions() as session:
        rows = (
            await session.execute(select(broadcasts).order_by(broadcasts.c.id.desc()).limit(limit))
        ).all()
        totals: dict[int, dict[str, int]] = {row.id: {} for row in rows}
        if rows:
            tally = delivery_tally(list(totals))
            grouped = await session.execute(
                select(tally.c.broadcast_id, tally.c.status, func.sum(tally.c.rows)).group_by(
                    tally.c.broadcast_id, tally.c.status
                )
            )
            for broadcast_id, status, n in grouped:
                totals[broadcast_id][status] = int(n)
    return [{**_summary(row), "totals": totals[row.id]} for row in rows]


async def get_draft(database: Database, broadcast_id: int) -> Draft:
    """The draft of a stored broadcast (to preview it again, or copy it)."""
    async with database.sessions() as session:
        return draft_of(await _broadcast(session, broadcast_id))
