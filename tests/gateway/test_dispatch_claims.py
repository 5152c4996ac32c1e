"""The dispatcher's SQL and the status callbacks' on every configured backend: claims under a
lease, recording that never lowers a status a provider reported, reports found by row id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from gateway.sending.dispatcher import Dispatcher
from storage import members as member_store
from storage.models import OutboxMessage
from storage.outbox import claims
from storage.outbox.claims import GONE, AddressSnapshot, RowUpdate
from storage.outbox.delivery import StatusReport, record_status
from storage.outbox.states import AddressState, OutboxStatus, Priority

NOW = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def queue(database, *rows: dict) -> list[int]:
    defaults = {
        "channel": "sms",
        "recipient": "+22376123456",
        "body": "x",
        "next_attempt_at": NOW,
        "priority": Priority.REPLY,
        "status": "queued",
        "address_id": None,
        "provider_id": None,
    }
    async with database.transaction() as connection:
        result = await connection.execute(
            insert(OutboxMessage.__table__).returning(
                OutboxMessage.id, sort_by_parameter_order=True
            ),
            [defaults | row for row in rows],
        )
        return list(result.scalars())


async def outbox(database) -> dict[int, OutboxMessage]:
    async with database.sessions() as session:
        return {row.id: row for row in await session.scalars(select(OutboxMessage))}


async def claim(database, channel: str = "sms", now: datetime = NOW, limit: int = 10):
    async with database.transaction() as connection:
        return await claims.claim_due(connection, channel, now, lease=LEASE, limit=limit)


async def test_claims_replies_first_and_leases_them(database):
    bulk, reply, later, other = await queue(
        database,
        {"priority": Priority.BULK},
        {"priority": Priority.REPLY},
        {"next_attempt_at": NOW + timedelta(minutes=5)},
        {"channel": "telegram", "recipient": "7001"},
    )
    assert [row.id for row in await claim(database)] == [reply, bulk]
    assert await claim(database) == []  # leased: not claimed twice
    later_on = NOW + timedelta(minutes=10)  # the leases are over, the later row is due
    assert [row.id for row in await claim(database, now=later_on)] == [reply, later, bulk]
    assert [row.id for row in await claim(database, "telegram")] == [other]


async def test_address_states_as_the_database_says(database):
    async with database.transaction() as connection:
        awa = await member_store.address_for(connection, "sms", "+22376123456")
        bouba = await member_store.address_for(connection, "telegram", "7001")
        await member_store.update_address(connection, bouba.id, blocked_at=NOW, opted_out_at=NOW)
        states = await claims.address_states(connection, [awa.id, bouba.id, 999])
    assert states == {
        awa.id: AddressSnapshot(),
        bouba.id: AddressSnapshot(frozenset({AddressState.BLOCKED, AddressState.OPTED_OUT})),
        999: GONE,  # erased with its member
    }


async def test_recording_a_send_keeps_what_the_provider_reported_first(database):
    """A callback may land before the send is recorded: the row stays delivered (or failed),
    and the SID, the time and the attempt are recorded all the same."""
    early_delivered, early_failed, plain = await queue(database, {}, {}, {})
    rows = {row.id: row for row in await claim(database)}
    async with database.transaction() as connection:
        for row_id, status in ((early_delivered, "delivered"), (early_failed, "failed")):
            report = StatusReport(f"SM{row_id}", OutboxStatus(status), row_id)
            assert await record_status(connection, report, NOW)
    sent = [
        RowUpdate(row_id, OutboxStatus.SENT, attempts=1, provider_id=f"SM{row_id}", sent=True)
        for row_id in rows
    ]
    async with database.transaction() as connection:
        await claims.record(connection, sent, NOW)
    after = await outbox(database)
    assert {row_id: after[row_id].status for row_id in rows} == {
        early_delivered: "delivered",
        early_failed: "failed",
        plain: "sent",
    }
    assert all(
        (row.provider_id, row.attempts, row.sent_at is not None, row.lease_until)
        == (f"SM{row.id}", 1, True, None)
        for row in after.values()
    )


async def test_recording_writes_each_kind_of_verdict(database):
    async with database.transaction() as connection:
        address = await member_store.address_for(connection, "sms", "+22376000001")
    retry, failed, goodbye = await queue(database, {}, {"address_id": address.id}, {})
    await claim(database)
    async with database.transaction() as connection:
        await claims.record(
            connection,
            [
                RowUpdate(
                    retry,
                    attempts=1,
                    next_attempt_at=NOW + timedelta(seconds=4),
                    error_code="20500",
                    error_message="server",
                ),
                RowUpdate(
                    failed,
                    OutboxStatus.FAILED,
                    attempts=1,
                    error_code="21610",
                    error_message="unsubscribed",
                    mark_address=(address.id, AddressState.OPTED_OUT),
                ),
                RowUpdate(
                    goodbye,
                    OutboxStatus.SENT,
                    attempts=1,
                    provider_id="SM9",
                    sent=True,
                    forget_recipient=True,
                ),
            ],
            NOW,
        )
        marked = await member_store.address_for(connection, "sms", "+22376000001")
    rows = await outbox(database)
    assert (rows[retry].status, rows[retry].attempts, rows[retry].error_code) == (
        "queued",
        1,
        "20500",
    )
    assert rows[retry].next_attempt_at.replace(tzinfo=UTC) == NOW + timedelta(seconds=4)
    assert (rows[failed].status, rows[failed].error_code) == ("failed", "21610")
    assert marked.opted_out_at is not None
    assert (rows[goodbye].status, rows[goodbye].recipient) == ("sent", "")


async def test_a_status_report_finds_its_row_by_id_then_by_sid(database):
    by_id, by_sid, resent = await queue(
        database, {"provider_id": None}, {"provider_id": "SM-old"}, {"provider_id": "SM-second"}
    )
    async with database.transaction() as connection:
        # By primary key, before the send is recorded (no SID on the row yet).
        assert await record_status(connection, StatusReport("SM-x", OutboxStatus.SENT, by_id), NOW)
        # A row sent again after a crash went out under another SID: a late failure of the first
        # attempt is not about what was delivered since.
        first = StatusReport("SM-first", OutboxStatus.FAILED, resent, error_code="30003")
        assert not await record_status(connection, first, NOW)
        # A row sent before callbacks carried ids: by its SID.
        old = StatusReport("SM-old", OutboxStatus.DELIVERED, None)
        assert await record_status(connection, old, NOW)
        # Not ours: nothing to record.
        assert not await record_status(connection, StatusReport("SM-none", OutboxStatus.SENT), NOW)
        assert not await record_status(connection, StatusReport("SM", OutboxStatus.SENT, 999), NOW)
        # A late "sent" never undoes "delivered".
        late = StatusReport("SM-old", OutboxStatus.SENT, by_sid)
        assert await record_status(connection, late, NOW)
    rows = await outbox(database)
    assert (rows[by_id].status, rows[by_sid].status) == ("sent", "delivered")
    assert (rows[resent].status, rows[resent].error_code) == ("queued", None)


async def test_a_status_report_marks_the_address(database):
    async with database.transaction() as connection:
        address = await member_store.address_for(connection, "sms", "+22376000002")
    [row_id] = await queue(database, {"address_id": address.id, "status": "sent"})
    report = StatusReport(
        "SM1",
        OutboxStatus.UNDELIVERED,
        row_id,
        "21610",
        "Twilio undelivered",
        AddressState.OPTED_OUT,
    )
    async with database.transaction() as connection:
        assert await record_status(connection, report, NOW)
        marked = await member_store.address_for(connection, "sms", "+22376000002")
    [row] = (await outbox(database)).values()
    assert (row.status, row.error_code, row.error_message) == (
        "undelivered",
        "21610",
        "Twilio undelivered",
    )
    assert marked.opted_out_at is not None


async def test_cancelled_broadcasts(database):
    from storage.models import Broadcast

    async with database.session_transaction() as session:
        kept, cancelled = (
            Broadcast(texts={"fr": "a"}, created_by="t"),
            Broadcast(texts={"fr": "b"}, created_by="t", status="cancelled"),
        )
        session.add_all([kept, cancelled])
    async with database.transaction() as connection:
        assert await claims.cancelled_broadcasts(connection) == frozenset({cancelled.id})


class SlowChannel:
    """A provider that takes longer to answer than the dispatcher's lease lasts."""

    name = "sms"

    def __init__(self, seconds: float) -> None:
        self.seconds, self.sent = seconds, []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message) -> str:
        self.sent.append(message.outbox_id)
        await asyncio.sleep(self.seconds)
        return f"SM{message.outbox_id}"


async def test_a_batch_slower_than_its_lease_is_not_claimed_again(database):
    """Two senders on one database; the first one's batch outlasts the lease by far. It keeps
    its rows leased while it sends, so the second finds nothing to take: nobody gets it twice."""
    ids = await queue(database, *({"recipient": f"+2237612345{i}"} for i in range(3)))
    channel = SlowChannel(seconds=0.7)
    first = Dispatcher(database, {"sms": channel}, lease=timedelta(seconds=0.15), linger=0)
    second = Dispatcher(database, {"sms": channel}, lease=timedelta(seconds=0.15), linger=0)
    sending = asyncio.create_task(first.dispatch_channel("sms"))
    await asyncio.sleep(0.4)  # over two leases long: without renewal the rows would be free again
    assert await second.dispatch_channel("sms") == 0
    assert await sending == 3
    assert sorted(channel.sent) == sorted(ids)
    async with database.sessions() as session:
        rows = (
            await session.execute(select(OutboxMessage.status, OutboxMessage.lease_until))
        ).all()
    assert rows == [(OutboxStatus.SENT, None)] * 3
