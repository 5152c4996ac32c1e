"""The preview's price of the SMS that WhatsApp members fall back to: with Android gateways,
what the route each would take costs (its SIM's price), as the broadcast's own SMS are priced."""

from __future__ import annotations

import pytest

from broadcasts import service
from broadcasts.model import NEXT_CHANNEL, Audience, Draft, WhatsAppPlan
from storage import gateways as gateway_store
from storage.gateways import SimSpec
from storage.types import utcnow
from tests.factories import add_member

ORANGE, MOOV = "+22376000011", "+22366000012"


async def test_fallback_sms_priced_by_the_sim_route_not_twilio(database):
    await gateway_store.add_gateway(
        database, name="phone-a", base_url="http://127.0.0.1:9", login="sms",
        password="pa55", signing_key="key",
        sims_=[SimSpec(1, "+22370000001", "orange", 0.01), SimSpec(2, "+22365000001", "moov", 0.02)],
    )  # fmt: skip
    now = utcnow()
    async with database.transaction() as connection:
        for name, number in (("Coumba", ORANGE), ("Fanta", MOOV)):
            # Outside the window, Bambara, no template in bm: falls back to her SMS number.
            await add_member(connection, name=name, region="kayes", now=now, language="bm",
                             wrote_at=None, addresses=[("whatsapp", number), ("sms", number)])  # fmt: skip
    draft = Draft(
        texts={"fr": "Réunion mardi", "bm": "Ɲɔgɔnye tarata"},
        audience=Audience(regions=("kayes",)),
        whatsapp=WhatsAppPlan({"bm": "benkadi_alerte"}, {"1": "text"}, outside_window=NEXT_CHANNEL),
    )
    preview = await service.preview(
        database, draft, enabled_channels=["whatsapp", "sms"], price_per_segment=0.05
    )
    fallback = preview["whatsapp"]["fallback_sms"]
    assert fallback["members"] == 2 and fallback["segments"] == 2
    routes = {r["route"]: r for r in fallback["by_route"]["routes"]}
    assert routes["phone-a/sim1 (orange)"]["members"] == 1
    assert routes["phone-a/sim2 (moov)"]["members"] == 1 and "twilio" not in routes
    assert fallback["estimated_cost"] == pytest.approx(0.01 + 0.02)  # not 2 × 0.05


async def test_without_gateways_the_fallback_sms_costs_twilio_price(database):
    async with database.transaction() as connection:
        await add_member(connection, name="Coumba", region="kayes", now=utcnow(), language="bm",
                         wrote_at=None, addresses=[("whatsapp", ORANGE), ("sms", ORANGE)])  # fmt: skip
    draft = Draft(
        texts={"fr": "Réunion mardi"},
        whatsapp=WhatsAppPlan({"fr": "benkadi_alerte"}, {"1": "text"}, outside_window=NEXT_CHANNEL),
    )
    preview = await service.preview(
        database, draft, enabled_channels=["whatsapp", "sms"], price_per_segment=0.05
    )
    fallback = preview["whatsapp"]["fallback_sms"]
    assert fallback["members"] == 1 and "by_route" not in fallback
    assert fallback["estimated_cost"] == pytest.approx(0.05)


async def test_a_fallback_plan_for_more_addresses_than_sqlite_takes_in_one_query(database):
    """40,000 fallback addresses (a national directory on WhatsApp): priced, not a 500 (asyncpg
    refuses a query of over 32,767 arguments)."""
    from broadcasts.route_preview import fallback_routes

    await gateway_store.add_gateway(
        database, name="phone-a", base_url="http://127.0.0.1:9", login="sms",
        password="pa55", signing_key="key", sims_=[SimSpec(1, "+22370000001", "orange", 0.01)],
    )  # fmt: skip
    fallbacks = [("bm", f"+2237{n:07d}", n) for n in range(40_000)]
    async with database.transaction() as connection:
        plan = await fallback_routes(connection, fallbacks, {"bm": 1}, twilio_price=None)
    assert plan is not None
    assert sum(route["members"] for route in plan["routes"]) == 40_000
