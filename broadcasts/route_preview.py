"""The preview's SMS per route: how many members each SIM (and Twilio) would carry, their
segments, the cost at that route's price and how long the send takes at those rates.

Only when Android gateways are configured; the route each member gets is the one the sender
would pick (broadcasts/routing.py), from their number's operator and their sticky SIM.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.operators import operator_of
from broadcasts.model import Draft
from broadcasts.routing import SimRoute, format_duration, plan
from storage import gateways as gateway_store
from storage.audience import reachable

CHUNK = 5_000  # address ids per query (asyncpg takes at most 32,767 arguments, old SQLite 32,766)


async def sms_routes(
    connection: AsyncConnection,
    draft: Draft,
    enabled_channels: Collection[str],
    segments_by_language: Mapping[str, int],
    *,
    twilio_price: float | None,
    twilio_rate: float = 10.0,
) -> dict[str, Any] | None:
    """The plan per route, or None when no gateway is configured (Twilio alone: the preview
    says what it always said)."""
    sims = await _sims(connection)
    if not sims:
        return None
    chosen = reachable(draft.audience, enabled_channels, connection.dialect.name).subquery()
    sticky = gateway_store.sticky
    rows = await connection.execute(
        select(chosen.c.recipient, chosen.c.language, sticky.c.sim_id)
        .select_from(chosen.outerjoin(sticky, sticky.c.address_id == chosen.c.address_id))
        .where(chosen.c.channel == "sms")
    )
    recipients = [
        (operator_of(recipient), segments_by_language.get(language, 1), sim_id)
        for recipient, language, sim_id in rows
    ]
    return _summary(recipients, sims, twilio_price, twilio_rate)


async def fallback_routes(
    connection: AsyncConnection,
    fallbacks: Sequence[tuple[str, str, int]],
    segments_by_language: Mapping[str, int],
    *,
    twilio_price: float | None,
    twilio_rate: float = 10.0,
) -> dict[str, Any] | None:
    """The same plan for the SMS addresses (language, recipient, address id) that WhatsApp
    members fall back to; None without gateways (then Twilio's price is the cost)."""
    sims = await _sims(connection)
    if not sims:
        return None
    sticky = gateway_store.sticky
    ids = [address_id for _, _, address_id in fallbacks]
    stuck: dict[int, int] = {}
    for start in range(0, len(ids), CHUNK):
        found = await connection.execute(
            select(sticky.c.address_id, sticky.c.sim_id).where(
                sticky.c.address_id.in_(ids[start : start + CHUNK])
            )
        )
        stuck.update({address_id: sim_id for address_id, sim_id in found})
    recipients = [
        (operator_of(recipient), segments_by_language.get(language, 1), stuck.get(address_id))
        for language, recipient, address_id in fallbacks
    ]
    return _summary(recipients, sims, twilio_price, twilio_rate)


async def _sims(connection: AsyncConnection) -> list[SimRoute]:
    configured = await gateway_store.load_gateways_on(connection)
    return [
        SimRoute(
            sim.id, gateway.name, sim.slot, sim.operator, sim.rate_per_minute,
            sim.price_per_segment, healthy=gateway.enabled and gateway.down_at is None,
        )
        for gateway in configured
        for sim in gateway.sims
    ]  # fmt: skip


def _summary(
    recipients: Sequence[tuple[str | None, int, int | None]],
    sims: Sequence[SimRoute],
    twilio_price: float | None,
    twilio_rate: float,
) -> dict[str, Any]:
    result = plan(recipients, sims, twilio_price=twilio_price)
    minutes = result.duration_minutes(twilio_rate)
    up = {sim.gateway for sim in sims if sim.healthy}
    return {
        "routes": [
            {
                "route": route.route,
                "members": route.members,
                "segments": route.segments,
                "price_per_segment": route.price_per_segment,
                "cost": round(route.cost, 6),
                "duration": format_duration(route.minutes(twilio_rate)),
            }
            for route in result.routes
        ],
        "cost": round(result.cost, 6),
        "duration_minutes": round(minutes, 3),
        "duration": format_duration(minutes),  # "≈ 3 h 20 min": the slowest route's
        "phones_up": len(up),
    }
