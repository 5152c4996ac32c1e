"""The preview's SMS per route: how many members each SIM (and Twilio) would carry, their
segments, the cost at that route's price and how long the send takes at those rates.

Only when Android gateways are configured; the route each member gets is the one the sender
would pick (broadcasts/routing.py), from their number's operator and their sticky SIM.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.operators import operator_of
from broadcasts.model import Draft
from broadcasts.routing import SimRoute, format_duration, plan
from storage import gateways as gateway_store
from storage.audience import reachable


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
    configured = await gateway_store.load_gateways_on(connection)
    sims = [
        SimRoute(
            sim.id, gateway.name, sim.slot, sim.operator, sim.rate_per_minute,
            sim.price_per_segment, healthy=gateway.enabled and gateway.down_at is None,
        )
        for gateway in configured
        for sim in gateway.sims
    ]  # fmt: skip
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
