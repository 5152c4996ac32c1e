"""Sending for real through the SDKs: retries, permanent failures, throttling, status callbacks."""

from __future__ import annotations

import time

import pytest

from gateway.keys import CHANNELS
from tests.conftest import BACKENDS, database_url_for
from tests.gateway.test_registration_e2e import AWA
from tests.harness import start_harness, stop_harness

BOUBA = "+22366554433"


async def test_server_error_is_retried_until_sent(harness):
    harness.dispatcher.retry_base = 0.01
    harness.twilio.fail_next(2, 500, 20500, "Internal Server Error")
    await harness.sms(AWA, "AIDE")
    await harness.settle()
    [row] = await harness.outbox()
    assert (row.status, row.attempts, row.provider_id) == ("sent", 3, harness.twilio.sent[0].sid)


async def test_retries_end_in_failed_with_the_reason(harness):
    harness.dispatcher.retry_base = 0.01
    harness.dispatcher.max_attempts = 3
    harness.twilio.fail_next(3, 429, 20429, "Too Many Requests")
    await harness.sms(AWA, "AIDE")
    await harness.settle()
    [row] = await harness.outbox()
    assert (row.status, row.attempts, row.error_code) == ("failed", 3, "20429")
    assert harness.twilio.sent == []


async def test_permanent_errors_mark_the_address(harness):
    harness.twilio.unsubscribe(AWA)
    harness.twilio.fail_next(1, 400, 21211, "The 'To' number is not a valid phone number.")
    await harness.sms(BOUBA, "AIDE")  # gets the 21211
    await harness.sms(AWA, "AIDE")  # unsubscribed at Twilio: 21610
    await harness.settle()
    rows = {row.recipient: row for row in await harness.outbox()}
    assert (rows[BOUBA].status, rows[BOUBA].error_code, rows[BOUBA].attempts) == (
        "failed",
        "21211",
        1,
    )
    assert (rows[AWA].status, rows[AWA].error_code) == ("failed", "21610")
    assert (await harness.address("sms", BOUBA)).invalid_at is not None
    assert (await harness.address("sms", AWA)).opted_out_at is not None


async def test_blocked_bot_marks_the_telegram_address(harness):
    harness.telegram.block_chat(4242)
    await harness.tg(4242, "AIDE")
    await harness.settle()
    [row] = await harness.outbox()
    assert row.status == "failed" and row.error_code == "403"
    assert (await harness.address("telegram", "4242")).blocked_at is not None


async def test_member_blocking_the_bot_is_recorded(harness):
    update = {
        "update_id": 77,
        "my_chat_member": {
            "chat": {"id": 5151, "type": "private", "first_name": "Awa"},
            "from": {"id": 5151, "is_bot": False, "first_name": "Awa"},
            "date": int(time.time()),
            "old_chat_member": {
                "status": "member",
                "user": {"id": 1, "is_bot": True, "first_name": "B"},
            },
            "new_chat_member": {
                "status": "kicked",
                "until_date": 0,
                "user": {"id": 1, "is_bot": True, "first_name": "B"},
            },
        },
    }
    assert (await harness.post_update(update)).status == 200
    assert (await harness.address("telegram", "5151")).blocked_at is not None


async def test_telegram_429_pauses_telegram_only(harness):
    harness.telegram.throttle_next(1, retry_after=1)
    started = time.monotonic()
    await harness.tg(3131, "AIDE")
    await harness.sms(AWA, "AIDE")
    [sms] = await harness.twilio.wait_for_messages(1, to=AWA)
    [telegram] = await harness.telegram.wait_for_messages(1, chat_id=3131, timeout=5)
    assert harness.telegram.throttled_count == 1
    assert sms.at - started < 0.9  # SMS went out while Telegram waited its retry_after
    assert telegram.at - started >= 0.95
    await harness.settle()
    rows = await harness.outbox()
    assert all(row.status == "sent" for row in rows)
    assert next(r for r in rows if r.channel == "telegram").attempts == 1  # a 429 costs no attempt


async def test_status_callbacks_move_rows_to_delivered_or_undelivered(harness):
    await harness.sms(AWA, "AIDE")
    await harness.sms(BOUBA, "AIDE")
    await harness.settle()
    by_to = {m.to: m for m in harness.twilio.sent}
    assert await harness.twilio.send_status_callback(by_to[AWA].sid, "delivered") == 204
    assert await harness.twilio.send_status_callback(by_to[AWA].sid, "sent") == 204  # late: ignored
    assert (
        await harness.twilio.send_status_callback(by_to[BOUBA].sid, "undelivered", error_code=21610)
        == 204
    )
    rows = {row.recipient: row for row in await harness.outbox()}
    assert rows[AWA].status == "delivered"
    assert (rows[BOUBA].status, rows[BOUBA].error_code) == ("undelivered", "21610")
    assert (await harness.address("sms", BOUBA)).opted_out_at is not None


async def test_status_callback_with_bad_signature_changes_nothing(harness):
    await harness.sms(AWA, "AIDE")
    await harness.settle()
    sid = harness.twilio.sent[0].sid
    params = {
        "MessageSid": sid,
        "MessageStatus": "failed",
        "ErrorCode": "30003",
        "AccountSid": "AC" + "1" * 32,
    }
    forged = harness.sign("/webhooks/twilio/status", params, token="e" * 32)
    assert (await harness.post_form("/webhooks/twilio/status", params, forged)).status == 403
    [row] = await harness.outbox()
    assert row.status == "sent"


async def _queue_rows(harness, rows: list[dict]) -> None:
    from sqlalchemy import insert

    from storage.models import OutboxMessage

    async with harness.database.transaction() as connection:
        await connection.execute(insert(OutboxMessage.__table__), rows)
    harness.dispatcher.wake()


async def test_address_is_checked_again_just_before_sending(harness):
    from storage import members as member_store

    async with harness.database.transaction() as connection:
        opted = await member_store.address_for(connection, "sms", AWA)
        blocked = await member_store.address_for(connection, "telegram", "6262")
        await member_store.update_address(connection, opted.id, opted_out_at=harness_now())
        await member_store.update_address(connection, blocked.id, blocked_at=harness_now())
    await _queue_rows(
        harness,
        [
            {
                "address_id": opted.id,
                "channel": "sms",
                "recipient": AWA,
                "body": "broadcast",
                "priority": 1,
            },
            {
                "address_id": opted.id,
                "channel": "sms",
                "recipient": AWA,
                "body": "reply",
                "priority": 0,
            },
            {
                "address_id": blocked.id,
                "channel": "telegram",
                "recipient": "6262",
                "body": "x",
                "priority": 1,
            },
        ],
    )
    await harness.settle()
    rows = {row.body: row for row in await harness.outbox()}
    assert (rows["broadcast"].status, rows["broadcast"].error_code) == ("skipped", "opted_out")
    assert rows["reply"].status == "sent"  # they wrote to us: the answer still goes
    assert (rows["x"].status, rows["x"].error_code) == ("skipped", "blocked")
    assert [m.body for m in harness.twilio.sent] == ["reply"] and harness.telegram.sent == []


async def test_replies_go_before_bulk(harness):
    harness.dispatcher.stop()  # queue everything first, then send with a fresh dispatcher
    bulk = [
        {"channel": "sms", "recipient": f"+2236600{n:04d}", "body": f"bulk {n}", "priority": 1}
        for n in range(30)
    ]
    reply = [{"channel": "sms", "recipient": BOUBA, "body": "reply", "priority": 0}]
    await _queue_rows(harness, bulk + reply)
    from gateway.sending.dispatcher import Dispatcher

    dispatcher = Dispatcher(
        harness.database, harness.app[CHANNELS], rates={"sms": 1000}, batch_size=10
    )
    await dispatcher.dispatch_channel("sms")
    assert "reply" in [m.body for m in harness.twilio.sent]


def harness_now():
    from storage.types import utcnow

    return utcnow()


async def test_a_status_callback_that_arrives_before_its_send_is_recorded_still_lands(harness):
    """Twilio may call back before its answer to the send reaches us: here the fake posts
    "sent" then "delivered" and waits for our answers before it answers the send itself, so
    each row is delivered before the dispatcher records it as sent. The recording keeps the
    later status, and still writes the SID, the time and the attempt."""
    harness.twilio.auto_callbacks = True
    harness.twilio.callbacks_before_answer = True
    for member in (AWA, BOUBA):
        await harness.sms(member, "AIDE")
    await harness.settle()
    assert sorted(harness.twilio.callbacks) == sorted(
        (message.sid, status, 204)
        for message in harness.twilio.sent
        for status in ("sent", "delivered")
    )
    rows = await harness.outbox()
    assert [row.status for row in rows] == ["delivered", "delivered"]
    sids = {message.to: message.sid for message in harness.twilio.sent}
    assert {row.recipient: row.provider_id for row in rows} == sids
    assert all(row.attempts == 1 and row.sent_at is not None for row in rows)


async def test_each_send_asks_for_a_status_callback_carrying_its_row(harness):
    await harness.sms(AWA, "AIDE")
    await harness.settle()
    [row] = await harness.outbox()
    [message] = harness.twilio.sent
    assert message.status_callback == (
        f"{harness.settings.public_url}/webhooks/twilio/status?id={row.id}"
    )


async def test_a_callback_without_a_row_id_finds_its_row_by_sid_once(harness):
    """Rows sent before the callback URL carried their id are found by their SID, at once; a
    SID that is not ours is answered without waiting for it."""
    await harness.sms(AWA, "AIDE")
    await harness.settle()
    [message] = harness.twilio.sent
    path = "/webhooks/twilio/status"

    async def callback(sid: str, status: str) -> int:
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": "AC" + "1" * 32}
        return (await harness.post_form(path, params, harness.sign(path, params))).status

    assert await callback(message.sid, "delivered") == 204
    [row] = await harness.outbox()
    assert row.status == "delivered"
    started = time.monotonic()
    assert await callback("SM" + "0" * 32, "delivered") == 204
    assert time.monotonic() - started < 1.0  # the old lookup waited about 3 s for it


async def test_wrong_twilio_credentials_keep_the_rows_and_pause_the_channel(harness):
    """Twilio answers 401/20003 to a wrong auth token: an operator's fix, not the message's
    fault. Nothing fails; the channel waits; the row keeps its attempts."""
    from datetime import timedelta

    from gateway.channels.twilio import TwilioChannel
    from gateway.sending.dispatcher import Dispatcher
    from storage.types import utcnow
    from tests.harness import ACCOUNT_SID, BENKADI_NUMBER

    harness.dispatcher.stop()
    await harness.sms(AWA, "AIDE")
    wrong = TwilioChannel(
        "sms", ACCOUNT_SID, "0" * 32, harness.twilio.base_url, None, from_=BENKADI_NUMBER
    )
    await wrong.start()
    try:
        dispatcher = Dispatcher(harness.database, {"sms": wrong})
        assert await dispatcher.dispatch_channel("sms") == 1
        assert await dispatcher.dispatch_channel("sms") == 0  # the channel waits
    finally:
        await wrong.stop()
    [row] = await harness.outbox()
    assert (row.status, row.attempts, row.error_code) == ("queued", 0, "20003")
    assert row.next_attempt_at >= utcnow() + timedelta(seconds=50)
    assert harness.twilio.sent == []


@pytest.mark.parametrize("backend", BACKENDS)
async def test_sending_and_early_callbacks_on_every_backend(backend, tmp_path):
    """The whole path on each database: a webhook in, the claim (FOR UPDATE SKIP LOCKED on
    PostgreSQL), the send, callbacks that land before the send is recorded, the recording."""
    async for url in database_url_for(backend, tmp_path, migrated=True):
        harness, runner = await start_harness(url)
        try:
            harness.twilio.auto_callbacks = True
            harness.twilio.callbacks_before_answer = True
            await harness.sms(AWA, "AIDE")
            await harness.tg(5001, "AIDE")
            await harness.settle()  # waits for the recording too, not only for the callbacks
            rows = {row.channel: row for row in await harness.outbox()}
            assert (rows["sms"].status, rows["sms"].provider_id) == (
                "delivered",
                harness.twilio.sent[0].sid,
            )
            assert rows["telegram"].status == "sent"  # Telegram reports nothing back
        finally:
            await stop_harness(harness, runner)
