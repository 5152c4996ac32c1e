"""WhatsApp in production, end to end through the running app, the real SDKs and the fake
Twilio that enforces the 24 h window: free text inside it, the template of the member's
language outside it, refusal or the next channel without one, and a Telegram member who
blocked the bot reached by SMS, once."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select

from bot.vocabulary.errors import FieldErrors
from broadcasts import service
from broadcasts.model import NEXT_CHANNEL, Audience, Draft, WhatsAppPlan
from broadcasts.sms import channel_text
from storage.models import OutboxMessage
from tests import cli
from tests.conftest import BACKENDS, database_url_for
from tests.factories import add_member
from tests.harness import start_harness, stop_harness

AWA, BINTA, COUMBA, DJENEBA = "+22376000001", "+22376000002", "+22376000003", "+22376000004"
DJENEBA_CHAT = 7004
TEXT = {"fr": "Réunion du réseau mardi à 10 h", "bm": "Ɲɔgɔnye tarata"}
CHANNELS = ["telegram", "whatsapp", "sms"]


@pytest.fixture(params=BACKENDS)
async def app(request, tmp_path):
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        harness, runner = await start_harness(url)
        harness.twilio.auto_callbacks = True  # WhatsApp refuses in the status callback
        yield harness
        await stop_harness(harness, runner)


async def seed(harness) -> dict[str, int]:
    from storage.types import utcnow

    now = utcnow()
    async with harness.database.transaction() as connection:
        return {
            # Wrote a moment ago (below, through the webhook): inside the window.
            "Awa": await add_member(connection, name="Awa", region="kayes", now=now,
                                    addresses=[("whatsapp", AWA)], wrote_at=None),
            # Never wrote on WhatsApp: outside it, French template.
            "Binta": await add_member(connection, name="Binta", region="kayes", now=now,
                                      addresses=[("whatsapp", BINTA)], wrote_at=None),
            # Outside it, speaks Bambara: no template in bm; has an SMS number.
            "Coumba": await add_member(connection, name="Coumba", region="kayes", now=now,
                                       language="bm", wrote_at=None,
                                       addresses=[("whatsapp", COUMBA), ("sms", COUMBA)]),
            # Telegram (she blocked the bot since) and SMS.
            "Djeneba": await add_member(connection, name="Djeneba", region="kayes", now=now,
                                        addresses=[("telegram", str(DJENEBA_CHAT)),
                                                   ("sms", DJENEBA)]),
        }  # fmt: skip


async def final_status(harness, sid: str) -> tuple[str, str | None]:
    await harness.twilio.drain_callbacks()
    resource = harness.twilio.resource(sid)
    return resource["status"], resource["error_code"]


async def rows(harness, broadcast_id: int) -> dict[str, OutboxMessage]:
    async with harness.database.sessions() as session:
        found = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
        )
        return {row.recipient: row for row in found}


async def settle_all(harness) -> None:
    """The outbox drained, callbacks in, fallbacks sent: twice, as a callback can queue more."""
    for _ in range(3):
        await harness.settle(timeout=10)
        await harness.twilio.drain_callbacks()
        await asyncio.sleep(0.1)
    await harness.settle(timeout=10)


async def test_window_templates_refusal_and_fallback(app):
    harness = app
    fr = harness.twilio.add_template("benkadi_alerte", "fr", "Benkadi : {{1}}", {"1": "texte"})
    harness.twilio.add_template("benkadi_alerte", "bm", "Benkadi : {{1}}", {"1": "x"}, "pending")
    assert await cli.run(harness.settings, "whatsapp", "templates", "sync") == 0
    await seed(harness)
    harness.telegram.block_chat(DJENEBA_CHAT)

    # Awa writes on WhatsApp: her reply is free text, and it arrives.
    assert (await harness.sms(AWA, "AIDE", whatsapp=True)).status == 200
    [reply] = await harness.twilio.wait_for_messages(1, to="whatsapp:" + AWA)
    assert "ContentSid" not in reply.params and reply.body
    assert (await final_status(harness, reply.sid))[0] == "delivered"
    await harness.settle()

    plan = WhatsAppPlan(templates={"fr": "benkadi_alerte", "bm": "benkadi_alerte"},
                        variables={"1": "text"})  # fmt: skip
    draft = Draft(texts=dict(TEXT), audience=Audience(regions=("kayes",)), whatsapp=plan)

    # The preview says who is where, and that bm has no approved template: refused.
    preview = await service.preview(
        harness.database, draft, enabled_channels=CHANNELS, price_per_segment=0.05
    )
    window = preview["whatsapp"]
    assert (window["inside_window"], window["outside_window"]) == (1, 2)
    assert window["by_language"]["fr"]["template"]["name"] == "benkadi_alerte"
    assert window["by_language"]["fr"]["template"]["sid"] == fr
    assert window["missing_templates"] == {"bm": 1}
    assert "bm (1)" in window["refused"]
    broadcast_id = await service.create(harness.database, draft, "test")
    with pytest.raises(FieldErrors) as refused:
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=CHANNELS)
    assert refused.value.field == "whatsapp.templates.bm"
    assert await rows(harness, broadcast_id) == {}  # nothing queued

    # The secretariat chooses the next channel for them: preview says SMS, and its cost.
    draft = Draft(
        texts=dict(TEXT),
        audience=Audience(regions=("kayes",)),
        whatsapp=WhatsAppPlan(plan.templates, plan.variables, outside_window=NEXT_CHANNEL),
    )
    preview = await service.preview(
        harness.database, draft, enabled_channels=CHANNELS, price_per_segment=0.05
    )
    assert preview["whatsapp"]["refused"] is None
    assert preview["whatsapp"]["falls_back"] == {"sms": 1}
    assert preview["whatsapp"]["fallback_sms"]["members"] == 1
    assert preview["whatsapp"]["fallback_sms"]["estimated_cost"] == pytest.approx(0.05)
    broadcast_id = await service.create(harness.database, draft, "test")
    assert (
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=CHANNELS)
        == 4
    )
    harness.dispatcher.wake()
    await settle_all(harness)

    # Awa (inside the window): the text as written.
    awa = [m for m in harness.twilio.messages_to("whatsapp:" + AWA) if m.body == TEXT["fr"]]
    assert len(awa) == 1 and "ContentSid" not in awa[0].params
    # Binta (outside): the French template, {{1}} = the alert's text; delivered.
    [binta] = harness.twilio.messages_to("whatsapp:" + BINTA)
    assert binta.params["ContentSid"] == fr and "Body" not in binta.params
    assert json.loads(binta.params["ContentVariables"]) == {"1": TEXT["fr"]}
    assert binta.body == f"Benkadi : {TEXT['fr']}"
    assert await final_status(harness, binta.sid) == ("delivered", None)
    # Coumba (outside, bm, no template): nothing on WhatsApp, her text by SMS.
    assert harness.twilio.messages_to("whatsapp:" + COUMBA) == []
    assert [m.body for m in harness.twilio.messages_to(COUMBA)] == [
        channel_text(draft, "bm", "sms")
    ]
    # Djeneba blocked the bot: the broadcast by SMS, once.
    assert [m.body for m in harness.twilio.messages_to(DJENEBA)] == [TEXT["fr"]]

    by_recipient = await rows(harness, broadcast_id)
    assert (by_recipient[COUMBA].channel, by_recipient[COUMBA].fallback_from) == ("sms", "whatsapp")
    assert by_recipient[COUMBA].fallback_reason.startswith("whatsapp outside-window")
    assert (by_recipient[DJENEBA].channel, by_recipient[DJENEBA].fallback_from) == (
        "sms",
        "telegram",
    )
    assert "blocked" in by_recipient[DJENEBA].fallback_reason
    assert {r.status for r in by_recipient.values()} <= {"sent", "delivered"}
    assert (await harness.address("telegram", str(DJENEBA_CHAT))).blocked_at is not None

    status = await service.get_status(harness.database, broadcast_id)
    assert status["fallbacks"]["total"] == 2
    assert {(f["from"], f["to"]) for f in status["fallbacks"]["by_reason"]} == {
        ("whatsapp", "sms"), ("telegram", "sms"),
    }  # fmt: skip


async def send(harness, draft: Draft) -> int:
    broadcast_id = await service.create(harness.database, draft, "test")
    await service.send_now(harness.database, broadcast_id, "test", enabled_channels=CHANNELS)
    harness.dispatcher.wake()
    await settle_all(harness)
    return broadcast_id


@pytest.mark.parametrize("callback_first", [False, True])
async def test_63016_in_the_callback_falls_back_to_sms(app, callback_first):
    """Benkadi thought the window open (she wrote to us), Twilio says it is closed: the
    callback's 63016 sends her the broadcast by SMS — also when the callback overtakes
    Twilio's own answer to the send (the recording then moves the row)."""
    harness = app
    harness.twilio.callbacks_before_answer = callback_first
    from storage.types import utcnow

    async with harness.database.transaction() as connection:
        await add_member(connection, name="Awa", region="kayes", now=utcnow(),
                         addresses=[("whatsapp", AWA), ("sms", AWA)])  # fmt: skip
    broadcast_id = await send(harness, Draft(texts={"fr": "Alerte"}))
    [refused] = harness.twilio.messages_to("whatsapp:" + AWA)
    assert await final_status(harness, refused.sid) == ("failed", 63016)
    assert [m.body for m in harness.twilio.messages_to(AWA)] == ["Alerte"]
    [row] = (await rows(harness, broadcast_id)).values()
    assert (row.channel, row.fallback_from, row.status) in {
        ("sms", "whatsapp", "sent"), ("sms", "whatsapp", "delivered"),
    }  # fmt: skip
    assert row.fallback_reason.startswith("whatsapp 63016")
    assert row.provider_id == harness.twilio.messages_to(AWA)[0].sid


@pytest.mark.parametrize("case", ["fallback off", "sms opted out", "sms fails too"])
async def test_no_fallback_when_off_opted_out_or_already_fallen_back(app, case):
    harness = app
    from storage.types import utcnow

    async with harness.database.transaction() as connection:
        await add_member(connection, name="Djeneba", region="kayes", now=utcnow(),
                         addresses=[("telegram", str(DJENEBA_CHAT)), ("sms", DJENEBA)])  # fmt: skip
    harness.telegram.block_chat(DJENEBA_CHAT)
    if case == "sms opted out":
        assert (await harness.sms(DJENEBA, "STOP")).status == 200
        await settle_all(harness)
    if case == "sms fails too":
        harness.twilio.fail_next(1, 400, 21211, "The 'To' number is not a valid phone number.")
    sent_before = len(harness.twilio.sent)
    broadcast_id = await send(
        harness, Draft(texts={"fr": "Alerte"}, fallback=case != "fallback off")
    )
    [row] = (await rows(harness, broadcast_id)).values()
    assert row.status == "failed"
    assert [m.body for m in harness.twilio.sent[sent_before:]] == []
    if case == "sms fails too":  # tried once on SMS, never moved again
        assert (row.channel, row.fallback_from, row.error_code) == ("sms", "telegram", "21211")
    else:
        assert (row.channel, row.fallback_from) == ("telegram", None)
    status = await service.get_status(harness.database, broadcast_id)
    assert status["fallbacks"]["total"] == (1 if case == "sms fails too" else 0)


async def test_the_api_refuses_naming_the_language_and_makes_nothing(app):
    """POST /broadcasts with send: the refusal is a 400 naming each language; no draft left."""
    from sqlalchemy import func

    from gateway.api.common import PREFIX
    from storage.models import Broadcast
    from storage.tokens import create_token
    from storage.types import utcnow

    harness = app
    async with harness.database.transaction() as connection:
        await add_member(connection, name="Binta", region="kayes", now=utcnow(), language="bm",
                         addresses=[("whatsapp", BINTA)], wrote_at=None)  # fmt: skip
    token = await create_token(harness.database, "secretariat-1", "secretariat", actor="test")
    body = {"texts": {"fr": "Alerte"}, "send": True,
            "whatsapp": {"templates": {"fr": "benkadi_alerte"}, "variables": {"1": "text"}}}  # fmt: skip
    async with harness.http.post(
        harness.url + PREFIX + "/broadcasts", json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:  # fmt: skip
        status, answer = response.status, await response.json()
    assert status == 400 and answer["field"] == "whatsapp.templates.bm", answer
    async with harness.database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 0
