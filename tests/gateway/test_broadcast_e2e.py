"""Broadcasts through the running app: the scheduler, cancelling mid-way, rates and opt-outs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from broadcasts import service
from broadcasts.model import Audience, Draft
from storage.models import Address, Member, OutboxMessage
from storage.types import utcnow
from tests.harness import start_harness, stop_harness


async def seed_sms_members(database, count: int, opted_out: int = 0) -> list[str]:
    numbers = [f"+2237500{n:04d}" for n in range(count)]
    now = utcnow()
    async with database.transaction() as connection:
        ids = (
            (
                await connection.execute(
                    insert(Member.__table__).returning(Member.__table__.c.id),
                    [
                        {
                            "name": f"Membre {n}",
                            "region": "kayes",
                            "themes": ["vbg"],
                            "language": "fr",
                            "consent_at": now,
                            "registered_at": now,
                            "updated_at": now,
                        }
                        for n in range(count)
                    ],
                )
            )
            .scalars()
            .all()
        )
        await connection.execute(
            insert(Address.__table__),
            [
                {
                    "channel": "sms",
                    "address": number,
                    "member_id": member_id,
                    "opted_out_at": now if n < opted_out else None,
                }
                for n, (number, member_id) in enumerate(zip(numbers, ids, strict=True))
            ],
        )
    return numbers


async def wait_until(predicate, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await predicate():  # noqa: ASYNC110 - polling the database, not an event
            await asyncio.sleep(0.05)


async def test_scheduled_broadcast_goes_out_at_its_time_and_is_marked_sent(tmp_path):
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}", schedule_interval=0.1)
    try:
        numbers = await seed_sms_members(harness.database, 5, opted_out=1)
        draft = Draft(
            texts={"fr": "JIF : préparez vos activités du 8 mars."},
            send_at=utcnow() + timedelta(seconds=1),
        )
        broadcast_id = await service.create(harness.database, draft, actor="test")
        assert (await service.get_status(harness.database, broadcast_id))["status"] == "scheduled"
        await asyncio.sleep(0.5)
        assert harness.twilio.sent == []  # not before its time
        sent = await harness.twilio.wait_for_messages(4, timeout=10)
        assert sorted(m.to for m in sent) == numbers[1:]  # the opted-out member gets nothing
        assert all(m.body == "JIF : préparez vos activités du 8 mars." for m in sent)

        async def finished() -> bool:
            return (await service.get_status(harness.database, broadcast_id))["status"] == "sent"

        await wait_until(finished)
    finally:
        await stop_harness(harness, runner)


async def test_cancel_stops_what_is_not_yet_sent(tmp_path):
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}", sms_rate=20.0)
    try:
        await seed_sms_members(harness.database, 60)
        broadcast_id = await service.create(
            harness.database, Draft(texts={"fr": "Alerte"}, audience=Audience()), actor="test"
        )
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=["sms"])
        harness.dispatcher.wake()
        await harness.twilio.wait_for_messages(10, timeout=10)
        cancelled = await service.cancel(harness.database, broadcast_id, "test")
        assert cancelled > 0
        await harness.settle(timeout=10)  # what was in flight lands and is recorded
        sent_at_cancel = len(harness.twilio.sent)
        harness.dispatcher.wake()  # a dispatcher looking again finds nothing left to send
        await harness.settle(timeout=10)
        assert len(harness.twilio.sent) == sent_at_cancel
        status = await service.get_status(harness.database, broadcast_id)
        assert status["status"] == "cancelled"
        assert status["totals"].get("sent", 0) == sent_at_cancel
        assert status["totals"]["cancelled"] + sent_at_cancel == 60, status["totals"]
    finally:
        await stop_harness(harness, runner)


async def test_member_who_stops_after_fan_out_gets_nothing(tmp_path):
    """STOP between fan-out and the claim: the row is skipped."""
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        harness.dispatcher.stop()  # hold sending: fan out, then the STOP, then send
        numbers = await seed_sms_members(harness.database, 10)
        broadcast_id = await service.create(
            harness.database, Draft(texts={"fr": "Alerte"}), actor="test"
        )
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=["sms"])
        late = numbers[-1]
        assert (await harness.sms(late, "STOP")).status == 200
        from gateway.keys import CHANNELS
        from gateway.sending.dispatcher import Dispatcher

        dispatcher = Dispatcher(harness.database, harness.app[CHANNELS], rates={"sms": 1000})
        while await dispatcher.dispatch_channel("sms"):
            pass
        to_late = [m.body for m in harness.twilio.messages_to(late)]
        assert to_late and all(
            "Alerte" not in body for body in to_late
        )  # only the STOP confirmation
        assert len([m for m in harness.twilio.sent if m.body == "Alerte"]) == 9
        async with harness.database.sessions() as session:
            address = await session.scalar(select(Address).where(Address.address == late))
        assert address.opted_out_at is not None
    finally:
        await stop_harness(harness, runner)


async def test_campaign_sms_wait_out_quiet_hours_but_replies_and_hand_made_broadcasts_do_not(
    tmp_path,
):
    """A campaign still going out at 21:00 Bamako time stops until 08:00; the secretariat's own
    broadcast, sent at night on purpose, goes on."""
    from broadcasts.quiet_hours import parse_quiet_hours
    from gateway.keys import CHANNELS
    from gateway.sending.dispatcher import Dispatcher
    from storage.models import CampaignBroadcast

    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        harness.dispatcher.stop()
        await seed_sms_members(harness.database, 3)
        ids = {}
        for text in ("Campagne", "Urgent"):
            ids[text] = await service.create(harness.database, Draft(texts={"fr": text}), "test")
            await service.send_now(harness.database, ids[text], "test", enabled_channels=["sms"])
        async with harness.database.transaction() as connection:
            await connection.execute(
                insert(CampaignBroadcast.__table__).values(
                    campaign="16-jours", message="jour-01", year=2026, broadcast_id=ids["Campagne"]
                )
            )
        tomorrow = utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        now = tomorrow + timedelta(hours=22)  # Bamako is UTC+0
        dispatcher = Dispatcher(
            harness.database,
            harness.app[CHANNELS],
            rates={"sms": 1000},
            sms_quiet_hours=parse_quiet_hours("21:00-08:00"),
            clock=lambda: now,
        )
        while await dispatcher.dispatch_channel("sms"):
            pass
        assert sorted(m.body for m in harness.twilio.sent) == ["Urgent"] * 3
        now = tomorrow + timedelta(days=1, hours=8, minutes=30)
        while await dispatcher.dispatch_channel("sms"):
            pass
        assert sorted(m.body for m in harness.twilio.sent) == ["Campagne"] * 3 + ["Urgent"] * 3
    finally:
        await stop_harness(harness, runner)


@pytest.mark.parametrize(
    ("says", "left"),
    [
        (["STOP"], ("skipped", "opted_out", "kept")),  # opted out: the row says why
        (["OUBLIER", "1"], ("cancelled", None, "")),  # erased: no number kept
    ],
)
async def test_member_who_leaves_while_their_batch_goes_out_gets_nothing(tmp_path, says, left):
    """STOP or OUBLIER after the claim: the batch re-reads its addresses while it waits its
    turns, so the last member's message does not go."""
    from gateway.keys import CHANNELS
    from gateway.sending.dispatcher import Dispatcher

    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        harness.dispatcher.stop()
        numbers = await seed_sms_members(harness.database, 6)
        broadcast_id = await service.create(
            harness.database, Draft(texts={"fr": "Alerte"}), actor="test"
        )
        await service.send_now(harness.database, broadcast_id, "test", enabled_channels=["sms"])
        # 2 per second: the last of the 6 goes out about 2.5 s after the batch is claimed, time
        # enough for the member's two webhooks on a loaded box (at 4 per second it was not).
        dispatcher = Dispatcher(harness.database, harness.app[CHANNELS], rates={"sms": 2})
        sending = asyncio.create_task(dispatcher.dispatch_channel("sms"))
        late = numbers[-1]
        await harness.twilio.wait_for_messages(1, timeout=5)  # the batch is claimed, going out
        for line in says:
            assert (await harness.sms(late, line)).status == 200
        await sending
        alerts = [m.to for m in harness.twilio.sent if m.body == "Alerte"]
        assert late not in alerts and len(alerts) == 5
        async with harness.database.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        OutboxMessage.status, OutboxMessage.error_code, OutboxMessage.recipient
                    ).where(
                        OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status != "sent"
                    )
                )
            ).all()
        status, code, recipient = left
        assert [tuple(row) for row in rows] == [
            (status, code, late if recipient == "kept" else recipient)
        ]
    finally:
        await stop_harness(harness, runner)
