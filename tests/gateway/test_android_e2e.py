"""Local two-way SMS over Android phones, end to end through the running app: the issue's
acceptance (two fake phones, Orange + Moov dual-SIM and Orange) and the webhook's bad input."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, update

from bot.vocabulary.operators import operator_of
from broadcasts import service
from broadcasts.model import BAMAKO, Audience, Draft
from gateway.fakes.android_api import sign
from storage import gateways as store
from storage.models import Address, InboundMessage, Member, OutboxMessage
from storage.types import utcnow
from tests.android import MOOV_A, ORANGE_A, ORANGE_B, Phones, busiest_second, start_phones
from tests.conftest import BACKENDS, database_url_for

AWA = "+22376123456"  # an Orange number, texting the Moov SIM


@pytest.fixture(params=BACKENDS)
async def phones(request, tmp_path):
    """Two fake phones and the app, on every configured backend (PostgreSQL with
    BENKADI_TEST_DATABASE_URL)."""
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        running = await start_phones(url)
        try:
            yield running
        finally:
            await running.stop()


async def converse(phones: Phones, sender: str, lines: list[str], sim: int = 2) -> list[str]:
    replies: list[str] = []
    for line in lines:
        before = len([m for m in phones.a.sent if m.to == sender])
        posted = await phones.a.text(sender, line, sim=sim)
        assert [p.status for p in posted] == [200], line
        sent = await phones.a.wait_for(before + 1, to=sender)
        replies += [m.text for m in sent[before:]]
    return replies


async def test_member_registers_by_texting_the_moov_sim_and_is_answered_from_it(phones):
    replies = await converse(
        phones,
        AWA,
        [
            "Inscription",
            "Awa Traoré",
            "ONG Kènèya",
            "SIKASSO.",
            "Koutiala",
            "1 6",
            "1",
            "femme",
            "22",
            "oui",
            "1",
        ],
    )
    assert "nom complet" in replies[0] and "Bienvenue" in replies[-1]
    [member] = await phones.harness.members()
    assert (member.name, member.region) == ("Awa Traoré", "sikasso")
    await phones.harness.settle()
    # Every reply from the SIM she texted, though her number is Orange's: none from elsewhere.
    assert {sim for sim, m in phones.sent() if m.to == AWA} == {MOOV_A}
    assert phones.harness.twilio.sent == []
    # STOP the same way: confirmed from the same SIM, the address opted out.
    before = len(phones.from_sim(MOOV_A))
    await phones.a.text(AWA, "STOP", sim=2)
    await phones.a.wait_for(before + 1, to=AWA)
    assert {sim for sim, m in phones.sent() if m.to == AWA} == {MOOV_A}
    assert (await phones.harness.address("sms", AWA)).opted_out_at is not None
    # The phone reported on each SMS (sms:sent, sms:delivered): the rows found by their id.
    await phones.a.reports_done()
    rows = await phones.harness.outbox()
    assert rows and all(row.status == "delivered" for row in rows), [r.status for r in rows]
    assert all(row.provider_id == f"phone-a/bk-{row.id}" for row in rows)


async def test_a_member_who_texted_no_sim_is_answered_on_net(phones):
    moov_member = "+22366554433"
    posted = await phones.b.text(moov_member, "AIDE")  # texts phone B's Orange SIM
    assert [p.status for p in posted] == [200]
    await phones.b.wait_for(1, to=moov_member)  # sticky: the SIM texted, even off-net
    assert await sticky_of(phones, moov_member) == ORANGE_B


async def sticky_of(phones: Phones, number: str) -> str | None:
    async with phones.harness.database.read_engine.connect() as connection:
        sim_id = await store.sticky_sim(connection, number)
    gateways = await store.load_gateways(phones.harness.database)
    return next((s.number for g in gateways for s in g.sims if s.id == sim_id), None)


# --- the webhook's bad input ------------------------------------------------------------------
def signed(key: str, body: dict | bytes, skew: int = 0) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = str(int(time.time()) + skew)
    return raw, {
        "Content-Type": "application/json",
        "X-Signature": sign(key, raw, stamp),
        "X-Timestamp": stamp,
    }


def received(event_id: str, text: str = "AIDE", sender: str = AWA) -> dict:
    return {
        "deviceId": "d1", "event": "sms:received", "id": event_id, "webhookId": "w1",
        "payload": {"messageId": "same-for-same-text", "message": text, "phoneNumber": sender,
                    "simNumber": 1, "receivedAt": "2026-12-01T10:00:00.000+00:00"},
    }  # fmt: skip


async def post(phones: Phones, gateway: str, raw: bytes, headers: dict[str, str]) -> int:
    url = phones.harness.url + f"/webhooks/android/{gateway}"
    async with phones.harness.http.post(url, data=raw, headers=headers) as response:
        await response.read()
        return response.status


async def inbound_count(phones: Phones) -> int:
    async with phones.harness.database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(InboundMessage))


async def test_bad_signature_stale_timestamp_unknown_gateway_malformed_unknown_event(phones):
    raw, headers = signed("key-a", received("e1"))
    assert await post(phones, "phone-a", raw, {**headers, "X-Signature": "0" * 64}) == 403
    assert await post(phones, "phone-a", raw, {**headers, "X-Signature": ""}) == 403
    assert await post(phones, "phone-b", raw, headers) == 403  # phone B's key differs
    stale_raw, stale = signed("key-a", received("e1"), skew=-301)
    assert await post(phones, "phone-a", stale_raw, stale) == 403
    assert await post(phones, "nowhere", raw, headers) == 404
    assert await inbound_count(phones) == 0
    assert await phones.harness.address("sms", AWA) is None  # nothing written before the check
    for bad in (b"{not json", b"[]", json.dumps({"event": "sms:received"}).encode()):
        assert await post(phones, "phone-a", *signed("key-a", bad)) == 400
    body = {**received("e9"), "payload": {"message": "x"}}
    assert await post(phones, "phone-a", *signed("key-a", body)) == 400
    other = {**received("e2"), "event": "mms:received"}
    assert await post(phones, "phone-a", *signed("key-a", other)) == 200
    for n, sender in enumerate(("Orange", "36050")):  # the operator's own SMS: not a member's
        operator = received(f"op{n}", "Votre solde est de 100 F", sender=sender)
        assert await post(phones, "phone-a", *signed("key-a", operator)) == 200
    assert await inbound_count(phones) == 0
    await phones.harness.settle()
    assert await phones.harness.outbox() == []  # nothing answered, to anyone


async def test_the_same_event_twice_is_handled_once_though_messageid_repeats(phones):
    assert await post(phones, "phone-a", *signed("key-a", received("e1"))) == 200
    assert await post(phones, "phone-a", *signed("key-a", received("e1"))) == 200  # a retry
    assert await post(phones, "phone-a", *signed("key-a", received("e2"))) == 200  # same text
    await phones.harness.settle()
    assert await inbound_count(phones) == 2
    assert len([m for m in phones.a.sent if m.to == AWA]) == 2


async def test_ping_brings_a_down_phone_back(phones):
    async with phones.harness.database.transaction() as connection:
        await connection.execute(
            store.gateways.update().values(down_at=utcnow(), failures=3, last_error="offline")
        )
    await phones.a.ping()
    [a, b] = await store.status(phones.harness.database)
    assert a["up"] and a["last_seen"] is not None
    assert not b["up"]


async def test_a_phone_back_after_a_ping_needs_three_failures_again_to_be_down(phones):
    routes = router(phones)
    await routes.refresh()
    [b_id] = [g.id for g in routes.gateways.values() if g.name == "phone-b"]
    for _ in range(routes.failures_to_down):
        await routes._observe(b_id, False, "503: Service Unavailable")
    assert not routes.up(b_id)
    await phones.b.ping()  # back: the webhook says so, the next refresh sees it
    await routes.refresh()
    assert routes.up(b_id)
    await routes._observe(b_id, False, "503: Service Unavailable")  # one failure, not three
    assert routes.up(b_id)


async def test_a_number_the_phone_rejects_fails_and_is_marked_invalid(phones):
    phones.a.fail_number(AWA, "RESULT_INVALID_ARGUMENTS")
    await phones.a.text(AWA, "AIDE", sim=1)
    await phones.a.wait_for(1, to=AWA)
    await phones.a.reports_done()
    [row] = await phones.harness.outbox()
    assert (row.status, row.error_message) == ("failed", "RESULT_INVALID_ARGUMENTS")
    assert (await phones.harness.address("sms", AWA)).invalid_at is not None
    await phones.harness.settle()
    assert row.reroute_from is None and row.reroute_reason is None  # not another route's job
    assert phones.b.sent == [] and phones.harness.twilio.sent == [] and len(phones.a.sent) == 1


# --- broadcasts -------------------------------------------------------------------------------
async def seed(database, orange: int, moov: int) -> list[str]:
    numbers = [f"+223760{n:05d}" for n in range(orange)] + [f"+223660{n:05d}" for n in range(moov)]
    now = utcnow()
    async with database.transaction() as connection:
        ids = (
            await connection.execute(
                insert(Member.__table__).returning(Member.__table__.c.id),
                [
                    {"name": f"M{n}", "region": "kayes", "themes": ["vbg"], "language": "fr",
                     "consent_at": now, "registered_at": now, "updated_at": now}
                    for n in range(len(numbers))
                ],
            )
        ).scalars().all()  # fmt: skip
        await connection.execute(
            insert(Address.__table__),
            [
                {"channel": "sms", "address": number, "member_id": member_id}
                for number, member_id in zip(numbers, ids, strict=True)
            ],
        )
    return numbers


async def broadcast(phones: Phones, text: str = "Atelier VBG jeudi à Kayes.") -> int:
    database = phones.harness.database
    broadcast_id = await service.create(
        database, Draft(texts={"fr": text}, audience=Audience()), actor="test"
    )
    await service.send_now(database, broadcast_id, "test", enabled_channels=["sms"])
    phones.harness.dispatcher.wake()
    return broadcast_id


async def all_sent(phones: Phones, count: int, timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while True:
            async with phones.harness.database.sessions() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "sent", OutboxMessage.broadcast_id.is_not(None))
                )
            if done >= count:
                return
            await asyncio.sleep(0.1)


@pytest.fixture(params=BACKENDS)
async def fast_phones(request, tmp_path):
    """Phones at 9,000 SMS a minute per SIM (150/s), no delivery reports: a big send stays quick."""
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        running = await start_phones(url, per_minute=9000.0, auto_report=False, sms_rate=2000.0)
        running.harness.dispatcher.retry_base = 0.05
        try:
            yield running
        finally:
            await running.stop()


def check_once_and_on_net(phones: Phones, numbers: list[str]) -> float:
    sent = phones.sent()
    to = [m.to for _, m in sent] + [m.to for m in phones.harness.twilio.sent]
    assert sorted(to) == sorted(numbers), "each member exactly once"
    on_net = sum(operator_of(sim) == operator_of(m.to) for sim, m in sent)
    return on_net / len(sent)


async def test_broadcast_to_2000_goes_once_each_on_net_within_each_sim_rate(fast_phones):
    phones = fast_phones
    numbers = await seed(phones.harness.database, orange=1200, moov=800)
    await broadcast(phones)
    await all_sent(phones, 2000, timeout=60)
    assert check_once_and_on_net(phones, numbers) >= 0.95
    assert phones.harness.twilio.sent == []
    for sim in (ORANGE_A, MOOV_A, ORANGE_B):
        assert busiest_second([m.at for m in phones.from_sim(sim)]) <= 150, sim
    assert phones.a.refused == phones.b.refused == 0
    assert len(phones.from_sim(ORANGE_A)) > 400 and len(phones.from_sim(ORANGE_B)) > 400


async def test_one_phone_offline_mid_broadcast_the_others_finish_without_duplicates(fast_phones):
    phones = fast_phones
    numbers = await seed(phones.harness.database, orange=600, moov=200)
    await broadcast(phones)
    await phones.b.wait_for(100, timeout=20)
    await phones.b.go_offline()
    gone = time.monotonic()
    await all_sent(phones, 800, timeout=60)
    assert time.monotonic() - gone < 60
    assert check_once_and_on_net(phones, numbers) >= 0.95
    assert phones.harness.twilio.sent == []
    [a, b] = await store.status(phones.harness.database)
    assert a["up"] and not b["up"]
    assert len(phones.b.sent) < 600  # B's share finished on A


async def test_with_no_phone_up_twilio_takes_over(fast_phones):
    phones = fast_phones
    await phones.a.go_offline()
    await phones.b.go_offline()
    numbers = await seed(phones.harness.database, orange=30, moov=20)
    await broadcast(phones)
    await all_sent(phones, 50, timeout=30)
    assert sorted(m.to for m in phones.harness.twilio.sent) == sorted(numbers)
    assert phones.sent() == []


@pytest.fixture
async def slow_phones(tmp_path):
    """Phones at 30 SMS a minute per SIM: a broadcast holds every SIM for a while."""
    running = await start_phones(f"sqlite:///{tmp_path / 'benkadi.db'}", per_minute=30.0)
    yield running
    await running.stop()


async def test_a_reply_during_a_broadcast_does_not_wait_behind_it(slow_phones):
    phones = slow_phones
    await seed(phones.harness.database, orange=60, moov=30)  # about a minute of sending
    await broadcast(phones)
    await phones.b.wait_for(2, timeout=20)
    asked = time.monotonic()
    await phones.b.text(AWA, "AIDE")  # texts B's Orange SIM, busy with the broadcast
    [reply] = await phones.b.wait_for(1, to=AWA, timeout=30)
    # One turn of B's SIM (2 s) at most, not the broadcast rows already handed to it.
    assert reply.at - asked < 5.0
    async with phones.harness.database.sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == "queued", OutboxMessage.broadcast_id.is_not(None))
        )  # fmt: skip
    assert left > 30  # the broadcast was still going out


async def test_a_reply_does_not_wait_for_a_broadcasts_last_batch(slow_phones):
    """The broadcast's last batch in flight and nothing more to claim: a reply queued meanwhile
    is claimed at once, not after that batch (minutes on SIMs at a few SMS a minute)."""
    phones = slow_phones
    await seed(phones.harness.database, orange=10, moov=0)  # one batch: 5 turns of 2 s per SIM
    await broadcast(phones)
    await phones.b.wait_for(1, timeout=20)
    asked = time.monotonic()
    await phones.b.text(AWA, "AIDE")  # texts B's Orange SIM, busy with the broadcast
    [reply] = await phones.b.wait_for(1, to=AWA, timeout=30)
    assert reply.at - asked < 4.5  # a turn or two of B's SIM, not the rest of the batch (≥ 8 s)
    async with phones.harness.database.sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.status == "queued", OutboxMessage.broadcast_id.is_not(None))
        )  # fmt: skip
    assert left >= 2  # the broadcast's batch was still going out


async def test_what_a_slow_batch_has_sent_is_recorded_within_seconds(tmp_path):
    """SIMs at 6 SMS a minute: the batch's first sends are recorded (provider id, sent time)
    within about RECORD_EVERY, not when its next send completes a turn later: a crash then
    could send them again from another phone."""
    phones = await start_phones(f"sqlite:///{tmp_path / 'benkadi.db'}", per_minute=6.0)
    try:
        await seed(phones.harness.database, orange=3, moov=0)  # 2 at once, the 3rd 10 s later
        await broadcast(phones)
        await phones.a.wait_for(1, timeout=20)
        await phones.b.wait_for(1, timeout=20)
        sent_at = time.monotonic()
        async with asyncio.timeout(5):
            while True:
                rows = await phones.harness.outbox()
                if sum(row.provider_id is not None for row in rows) >= 2:
                    break
                await asyncio.sleep(0.1)
        assert time.monotonic() - sent_at < 4.0
        assert sum(row.provider_id is None for row in rows) == 1  # the third waits its turn
    finally:
        await phones.stop()


# --- a phone failing --------------------------------------------------------------------------
def router(phones: Phones):
    from gateway.keys import CHANNELS

    return phones.harness.app[CHANNELS]["sms"]


async def test_a_phone_answering_5xx_is_passed_over_at_once_with_the_reason_recorded(phones):
    await phones.b.text(AWA, "AIDE")  # sticky: phone B
    await phones.b.wait_for(1, to=AWA)
    phones.b.fail_next(1, 503, "Service Unavailable")
    await phones.b.text(AWA, "AIDE")
    [reply] = await phones.a.wait_for(1, to=AWA)  # not taken by B: sent by A (on-net) at once
    assert phones.a.sims[reply.sim] == ORANGE_A
    await phones.harness.settle()
    rows = await phones.harness.outbox()
    assert [row.attempts for row in rows] == [1, 1] and len(phones.b.sent) == 1
    async with phones.harness.database.sessions() as session:
        error = await session.scalar(select(store.gateways.c.last_error).where(
            store.gateways.c.name == "phone-b"))  # fmt: skip
    assert "503" in error


async def test_a_hung_phone_times_out_and_its_row_goes_out_elsewhere_once(phones):
    phones.harness.dispatcher.retry_base = 0.01
    router(phones).send_timeout = 0.2
    await phones.b.text(AWA, "AIDE")
    await phones.b.wait_for(1, to=AWA)
    phones.b.hang()
    await phones.b.text(AWA, "AIDE")  # the webhook still comes: only the API hangs
    await phones.a.wait_for(1, to=AWA, timeout=10)
    await phones.harness.settle(timeout=10)
    rows = await phones.harness.outbox()
    assert rows[-1].status in ("sent", "delivered") and rows[-1].attempts == 4  # 3 timeouts, A
    assert rows[-1].provider_id == f"phone-a/bk-{rows[-1].id}"
    [_, b] = await store.status(phones.harness.database)
    assert not b["up"] and "timeout" in b["last_error"]
    phones.b.hang(False)


async def test_a_send_that_times_out_but_was_taken_is_not_sent_again_elsewhere(phones):
    router(phones).send_timeout = 0.2
    await phones.b.text(AWA, "AIDE")
    await phones.b.wait_for(1, to=AWA)
    phones.b.answer_delay = 1.0  # B takes the SMS, its answer comes after our timeout
    await phones.b.text(AWA, "AIDE")
    await phones.b.wait_for(2, to=AWA)
    await phones.harness.settle(timeout=10)
    rows = await phones.harness.outbox()
    # Asked by our id, B said it has it: recorded as B's, never handed to A.
    assert rows[-1].status in ("sent", "delivered") and rows[-1].attempts == 1
    assert rows[-1].provider_id == f"phone-b/bk-{rows[-1].id}"
    assert [m for m in phones.a.sent if m.to == AWA] == []
    phones.b.answer_delay = 0.0


async def test_a_send_that_times_out_untaken_goes_out_elsewhere_at_once(phones):
    router(phones).send_timeout = 0.2
    await phones.b.text(AWA, "AIDE")
    await phones.b.wait_for(1, to=AWA)
    phones.b.stall_sends()  # B hangs on the send, but says it does not have the message
    await phones.b.text(AWA, "AIDE")
    await phones.a.wait_for(1, to=AWA, timeout=10)
    await phones.harness.settle(timeout=10)
    rows = await phones.harness.outbox()
    assert rows[-1].attempts == 1 and rows[-1].provider_id == f"phone-a/bk-{rows[-1].id}"
    phones.b.stall_sends(False)
    assert len([m for m in phones.b.sent if m.to == AWA]) == 1  # only the first


# --- a phone's radio failing after it took the message ---------------------------------------
async def sent_to(phones: Phones, number: str, count: int, timeout: float = 10.0):
    """The first `count` SMS to `number`, from any phone, as (SIM number, SMS)."""
    async with asyncio.timeout(timeout):
        while len(found := [(s, m) for s, m in phones.sent() if m.to == number]) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return found


async def test_a_radio_failure_goes_once_to_another_sim_with_the_reason_recorded(phones):
    phones.a.fail_sim(2, "RESULT_ERROR_NO_SERVICE")  # A's Moov SIM: no signal
    await phones.a.text(AWA, "AIDE", sim=2)  # she texts it: her reply goes from it, and fails
    [(first, failed), (second, _)] = await sent_to(phones, AWA, 2)
    await phones.a.reports_done()
    await phones.b.reports_done()
    await phones.harness.settle()
    assert first == MOOV_A and failed.state == "Failed"
    assert second in (ORANGE_A, ORANGE_B)  # another SIM, on-net: never the one that failed
    [row] = await phones.harness.outbox()
    assert row.status in ("sent", "delivered"), (row.status, row.error_message)
    assert (row.reroute_from, row.reroute_slot) == (f"phone-a/bk-{row.id}", 2)
    assert row.reroute_reason == "RESULT_ERROR_NO_SERVICE"
    assert row.provider_id.endswith(f"/bk-{row.id}r") and row.error_code is None
    assert len([m for _, m in phones.sent() if m.to == AWA]) == 2
    assert phones.harness.twilio.sent == []


async def test_a_second_radio_failure_leaves_the_row_failed_never_a_third_send(phones):
    await phones.b.text(AWA, "AIDE")  # sticky: phone B
    await phones.b.wait_for(1, to=AWA)
    for phone, slot in ((phones.b, 1), (phones.a, 1), (phones.a, 2)):
        phone.fail_sim(slot, "RESULT_ERROR_GENERIC_FAILURE")
    await phones.b.text(AWA, "AIDE")
    await sent_to(phones, AWA, 3)  # the first reply, the one B failed, and its one re-route
    await phones.a.reports_done()
    await phones.b.reports_done()
    await phones.harness.settle()
    await asyncio.sleep(0.3)  # time for a wrong third send to show
    rows = await phones.harness.outbox()
    assert (rows[-1].status, rows[-1].error_message) == ("failed", "RESULT_ERROR_GENERIC_FAILURE")
    assert rows[-1].reroute_from == f"phone-b/bk-{rows[-1].id}"
    assert rows[-1].provider_id.startswith("phone-a/")  # its re-route went from A's Orange SIM
    assert len([m for _, m in phones.sent() if m.to == AWA]) == 3
    assert phones.harness.twilio.sent == []
    assert (await phones.harness.address("sms", AWA)).invalid_at is None  # the radio, not her


async def test_a_radio_failure_with_no_other_phone_up_goes_to_twilio(phones):
    await phones.b.text(AWA, "AIDE")  # sticky: phone B
    await phones.b.wait_for(1, to=AWA)
    await phones.a.go_offline()
    phones.b.fail_sim(1, "RESULT_ERROR_NO_SERVICE")
    await phones.b.text(AWA, "AIDE")
    [reply] = await phones.harness.twilio.wait_for_messages(1, timeout=10, to=AWA)
    await phones.b.reports_done()
    await phones.harness.settle()
    rows = await phones.harness.outbox()
    assert rows[-1].reroute_reason == "RESULT_ERROR_NO_SERVICE"
    assert rows[-1].provider_id == reply.sid and len(phones.b.sent) == 2


async def test_a_broadcast_whose_sim_fails_by_radio_reaches_each_member_once_elsewhere(phones):
    numbers = await seed(phones.harness.database, orange=0, moov=12)
    phones.a.fail_sim(2, "RESULT_ERROR_NO_SERVICE")  # the one Moov SIM has no signal
    await broadcast(phones)
    async with asyncio.timeout(20):  # each row failed once by radio, then sent elsewhere
        while len([m for sim, m in phones.sent() if sim != MOOV_A]) < 12:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await phones.a.reports_done()
    await phones.b.reports_done()
    await phones.harness.settle()
    delivered = [m.to for sim, m in phones.sent() if sim != MOOV_A]
    assert sorted(delivered) == sorted(numbers)  # each once, from an Orange SIM
    rows = [r for r in await phones.harness.outbox() if r.broadcast_id is not None]
    assert all(r.reroute_reason == "RESULT_ERROR_NO_SERVICE" for r in rows)
    assert all(r.status in ("sent", "delivered") for r in rows)


async def test_a_phone_outside_its_working_hours_is_passed_over(phones):
    await phones.b.text(AWA, "AIDE")  # sticky: phone B
    await phones.b.wait_for(1, to=AWA)
    later = datetime.now(BAMAKO) + timedelta(hours=2)  # a window that excludes now
    hours = f"{later:%H}:00-{(later + timedelta(hours=1)):%H}:00"
    await store.set_hours(phones.harness.database, "phone-b", hours)
    await router(phones).refresh()
    await phones.b.text(AWA, "AIDE")
    [reply] = await phones.a.wait_for(1, to=AWA)  # B is off work: A (on-net) answers
    assert phones.a.sims[reply.sim] == ORANGE_A
    assert len([m for m in phones.b.sent if m.to == AWA]) == 1


async def test_a_phone_that_stops_pinging_is_down_until_it_pings_again(phones):
    await phones.b.ping()
    database = phones.harness.database
    [b] = [g for g in await store.load_gateways(database) if g.name == "phone-b"]
    assert b.last_ping_at is not None
    async with database.transaction() as connection:  # its last ping, 20 minutes ago
        await connection.execute(
            update(store.gateways).where(store.gateways.c.id == b.id)
            .values(last_ping_at=utcnow() - timedelta(minutes=20))
        )  # fmt: skip
    routes = router(phones)
    await routes.refresh()
    await routes.check()  # its API still answers the health check: down all the same
    [_, status] = await store.status(database)
    assert not status["up"] and "no ping" in status["last_error"]
    await phones.b.text(AWA, "AIDE")  # texted B, which is down: answered from A
    [reply] = await phones.a.wait_for(1, to=AWA)
    assert phones.a.sims[reply.sim] == ORANGE_A
    await phones.b.ping()
    await routes.refresh()
    await routes.check()
    [_, status] = await store.status(database)
    assert status["up"] and routes.up(b.id)


# --- the preview ------------------------------------------------------------------------------
async def test_preview_shows_members_segments_cost_and_duration_per_route(phones):
    database = phones.harness.database
    await seed(database, orange=30, moov=10)
    await phones.a.text("+22366000000", "AIDE", sim=1)  # a Moov member who texted Orange A
    await phones.harness.settle()
    draft = Draft(texts={"fr": "Atelier VBG jeudi."}, audience=Audience())
    result = await service.preview(
        database, draft, enabled_channels=["sms"], price_per_segment=0.05
    )
    plan = result["sms"]["by_route"]
    by_route = {r["route"]: r for r in plan["routes"]}
    assert by_route["phone-a/sim2 (moov)"]["members"] == 9  # the tenth is sticky to Orange A
    orange = (
        by_route["phone-a/sim1 (orange)"]["members"] + by_route["phone-b/sim1 (orange)"]["members"]
    )
    assert orange == 31 and "twilio" not in by_route
    assert plan["cost"] == pytest.approx(40 * 0.01)
    assert plan["phones_up"] == 2 and plan["duration"].startswith("≈")
    assert plan["duration_minutes"] > 0
    assert result["sms"]["recipients"] == 40  # the rest of the preview unchanged


async def test_a_gateways_password_never_reaches_the_log(phones):
    import io
    import logging

    from gateway.logs import LOG_FORMAT, Redacting

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(Redacting(LOG_FORMAT, ()))
    logging.getLogger().addHandler(handler)
    try:
        await router(phones).refresh()
        logging.getLogger("test").warning("refused with %s", phones.a.password)
    finally:
        logging.getLogger().removeHandler(handler)
    assert "refused with ***" in stream.getvalue()


async def test_a_row_waiting_its_turn_on_a_phone_that_goes_down_leaves_at_once(tmp_path):
    phones = await start_phones(f"sqlite:///{tmp_path / 'slow.db'}", per_minute=6.0)
    try:
        await phones.b.text(AWA, "AIDE")
        await phones.b.wait_for(1, to=AWA)  # B's SIM: its next turn is 10 s away
        await phones.b.text(AWA, "AIDE")
        await asyncio.sleep(0.3)  # the reply is waiting for that turn
        gone = time.monotonic()
        [_, b] = await store.load_gateways(phones.harness.database)
        await store.record_health(
            phones.harness.database, b.id, up=False, error="check failed", down=True, now=utcnow()
        )
        await router(phones).refresh()  # as the next reload (or a failed check) would
        [reply] = await phones.a.wait_for(1, to=AWA, timeout=5)
        assert reply.at - gone < 2.5 and len(phones.b.sent) == 1
    finally:
        await phones.stop()
