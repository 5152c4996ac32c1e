"""The broadcast's life: create, send now or at its time, cancel, follow, finish — audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from broadcasts import service
from broadcasts.model import Audience, Draft
from broadcasts.service import BroadcastNotFound, BroadcastStateError
from storage import audit
from storage.database import Database
from storage.models import OutboxMessage
from tests.broadcasts.conftest import ALL_CHANNELS, count_outbox, outbox_rows

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)
HELLO = Draft(texts={"fr": "Bonjour"}, title="Salut")
outbox = OutboxMessage.__table__


async def set_rows(database, broadcast_id: int, names: list[str], **values) -> None:
    """Do what the dispatcher and status callbacks would do to some members' rows."""
    ids = [row.id for row in await outbox_rows(database, broadcast_id) if row.name in names]
    async with database.transaction() as connection:
        await connection.execute(update(outbox).where(outbox.c.id.in_(ids)).values(**values))


async def actions(database) -> list[tuple[str, str, str | None]]:
    return [(e["actor"], e["action"], e["target"]) for e in await audit.entries(database)]


async def test_create_keeps_the_draft_and_audits_it(database):
    later = NOW + timedelta(days=5)
    audience = Audience(regions=("kayes",), registered_since=NOW.date())
    draft = Draft(texts={"fr": "Bonjour", "bm": "I ni ce"}, audience=audience, title="JIF")
    first = await service.create(database, draft, "awa@secretariat")
    second = await service.create(
        database, Draft(texts={"fr": "Plus tard"}, send_at=later), "awa@secretariat"
    )
    status = await service.get_status(database, first)
    assert (status["status"], status["title"], status["created_by"]) == (
        "draft",
        "JIF",
        "awa@secretariat",
    )
    assert status["texts"] == {"fr": "Bonjour", "bm": "I ni ce"}
    assert Audience.from_json(status["audience"]) == audience
    assert await service.get_draft(database, first) == draft
    scheduled = await service.get_status(database, second)
    assert (scheduled["status"], scheduled["send_at"]) == ("scheduled", later.isoformat())
    assert await actions(database) == [
        ("awa@secretariat", "broadcast.create", f"broadcast:{second}"),
        ("awa@secretariat", "broadcast.create", f"broadcast:{first}"),
    ]


async def test_send_now_fans_out_once(database, membership):
    broadcast_id = await service.create(database, HELLO, "awa")
    queued = await service.send_now(
        database, broadcast_id, "awa", enabled_channels=ALL_CHANNELS, now=NOW
    )
    status = await service.get_status(database, broadcast_id)
    assert queued == status["recipients"] == 7
    assert (status["status"], status["fanned_out_at"]) == ("sending", NOW.isoformat())
    assert status["totals"] == {"queued": 7}
    with pytest.raises(BroadcastStateError, match="sending"):
        await service.send_now(database, broadcast_id, "awa", enabled_channels=ALL_CHANNELS)
    assert await count_outbox(database) == 7
    entries = await audit.entries(database)
    assert entries[0]["action"] == "broadcast.send"
    assert entries[0]["details"]["recipients"] == 7


async def test_a_scheduled_broadcast_may_be_sent_early(database, membership):
    draft = Draft(texts={"fr": "Bonjour"}, send_at=NOW + timedelta(days=1))
    broadcast_id = await service.create(database, draft, "awa")
    assert await service.send_now(database, broadcast_id, "awa", enabled_channels={"sms"}) == 5
    assert await service.run_due(database, NOW + timedelta(days=2), enabled_channels={"sms"}) == []


async def test_unknown_broadcasts(database):
    with pytest.raises(BroadcastNotFound):
        await service.send_now(database, 404, "awa", enabled_channels=ALL_CHANNELS)
    with pytest.raises(BroadcastNotFound):
        await service.cancel(database, 404, "awa")
    with pytest.raises(BroadcastNotFound):
        await service.get_status(database, 404)


async def test_cancel_stops_what_has_not_gone_out(database, membership):
    broadcast_id = await service.create(database, HELLO, "awa")
    await service.send_now(database, broadcast_id, "awa", enabled_channels=ALL_CHANNELS)
    await set_rows(database, broadcast_id, ["Awa", "Binta"], status="sent")
    assert await service.cancel(database, broadcast_id, "fanta") == 5
    rows = {row.name: row for row in await outbox_rows(database, broadcast_id)}
    assert rows["Awa"].status == "sent"
    assert {rows[name].status for name in ("Coumba", "Nana", "Oumou")} == {"cancelled"}
    assert rows["Nana"].error_message == "broadcast cancelled"
    status = await service.get_status(database, broadcast_id)
    assert status["status"] == "cancelled" and status["cancelled_at"]
    assert status["totals"] == {"sent": 2, "cancelled": 5}
    with pytest.raises(BroadcastStateError, match="cancelled"):
        await service.cancel(database, broadcast_id, "fanta")
    with pytest.raises(BroadcastStateError, match="cancelled"):
        await service.send_now(database, broadcast_id, "fanta", enabled_channels=ALL_CHANNELS)
    assert await service.finish_completed(database, NOW) == []
    assert (await audit.entries(database, limit=1))[0] | {"at": None} == {
        "id": (await audit.entries(database, limit=1))[0]["id"],
        "at": None,
        "actor": "fanta",
        "action": "broadcast.cancel",
        "target": f"broadcast:{broadcast_id}",
        "details": {"rows": 5},
    }


async def test_a_cancelled_schedule_never_goes(database, membership):
    draft = Draft(texts={"fr": "Bonjour"}, send_at=NOW + timedelta(hours=1))
    broadcast_id = await service.create(database, draft, "awa")
    assert await service.cancel(database, broadcast_id, "awa") == 0
    assert (
        await service.run_due(database, NOW + timedelta(days=1), enabled_channels=ALL_CHANNELS)
        == []
    )
    assert await count_outbox(database) == 0


async def test_a_sent_broadcast_cannot_be_cancelled(database, membership):
    broadcast_id = await service.create(database, HELLO, "awa")
    await service.send_now(database, broadcast_id, "awa", enabled_channels=ALL_CHANNELS)
    await set_rows(database, broadcast_id, list(membership), status="sent")
    assert await service.finish_completed(database, NOW) == [broadcast_id]
    with pytest.raises(BroadcastStateError, match="sent"):
        await service.cancel(database, broadcast_id, "awa")


async def test_status_counts_rows_per_channel_and_groups_failures(database, membership):
    broadcast_id = await service.create(database, HELLO, "awa")
    await service.send_now(database, broadcast_id, "awa", enabled_channels=ALL_CHANNELS)
    await set_rows(database, broadcast_id, ["Awa"], status="delivered")
    await set_rows(database, broadcast_id, ["Binta"], status="sent")
    await set_rows(
        database,
        broadcast_id,
        ["Oumou", "Salimata"],
        status="undelivered",
        error_code="30003",
        error_message="Twilio undelivered",
    )
    await set_rows(
        database,
        broadcast_id,
        ["Zeinab"],
        status="failed",
        error_code="403",
        error_message="blocked",
    )
    status = await service.get_status(database, broadcast_id)
    assert status["counts"] == {
        "sms": {"delivered": 1, "undelivered": 2},
        "telegram": {"sent": 1, "queued": 1, "failed": 1},
        "whatsapp": {"queued": 1},
    }
    assert status["totals"] == {
        "delivered": 1,
        "undelivered": 2,
        "sent": 1,
        "queued": 2,
        "failed": 1,
    }
    assert status["failures"] == [
        {"channel": "sms", "code": "30003", "message": "Twilio undelivered", "count": 2},
        {"channel": "telegram", "code": "403", "message": "blocked", "count": 1},
    ]


async def test_finished_when_nothing_is_left_queued(database, membership):
    broadcast_id = await service.create(database, HELLO, "awa")
    still_going = await service.create(database, HELLO, "awa")
    for each in (broadcast_id, still_going):
        await service.send_now(database, each, "awa", enabled_channels=ALL_CHANNELS)
    await set_rows(database, broadcast_id, ["Awa", "Binta"], status="sent")
    assert await service.finish_completed(database, NOW) == []
    await set_rows(database, broadcast_id, list(membership), status="failed")
    assert await service.finish_completed(database, NOW) == [broadcast_id]
    assert await service.finish_completed(database, NOW) == []
    status = await service.get_status(database, broadcast_id)
    assert (status["status"], status["finished_at"]) == ("sent", NOW.isoformat())
    assert (await actions(database))[0] == (
        "scheduler",
        "broadcast.finish",
        f"broadcast:{broadcast_id}",
    )


async def test_list_newest_first_with_totals(database, membership):
    first = await service.create(database, HELLO, "awa")
    second = await service.create(database, Draft(texts={"fr": "Encore"}), "fanta")
    await service.send_now(database, first, "awa", enabled_channels={"telegram"})
    listed = await service.list_broadcasts(database)
    assert [(b["id"], b["status"], b["totals"]) for b in listed] == [
        (second, "draft", {}),
        (first, "sending", {"queued": 3}),
    ]
    assert listed[1]["title"] == "Salut" and listed[1]["recipients"] == 3
    assert [b["id"] for b in await service.list_broadcasts(database, limit=1)] == [second]


async def test_run_due_sends_what_is_due_once(database, membership):
    def at(hours: int) -> Draft:
        return Draft(texts={"fr": "Bonjour"}, send_at=NOW + timedelta(hours=hours))

    later = await service.create(database, at(2), "awa")
    first = await service.create(database, at(1), "awa")
    await service.create(database, at(48), "awa")
    await service.create(database, HELLO, "awa")  # a draft waits for someone to send it
    due = NOW + timedelta(hours=3)
    assert await service.run_due(database, due, enabled_channels=ALL_CHANNELS) == [first, later]
    assert await service.run_due(database, due, enabled_channels=ALL_CHANNELS) == []
    assert await count_outbox(database) == 14
    assert (await actions(database))[:2] == [
        ("scheduler", "broadcast.send", f"broadcast:{later}"),
        ("scheduler", "broadcast.send", f"broadcast:{first}"),
    ]


async def test_two_schedulers_at_once_send_each_broadcast_once(database, membership):
    ids = [
        await service.create(
            database, Draft(texts={"fr": f"n°{n}"}, send_at=NOW + timedelta(minutes=n)), "awa"
        )
        for n in range(1, 4)
    ]
    other = Database(database.url)
    due = NOW + timedelta(hours=1)
    try:
        mine, theirs = await asyncio.gather(
            service.run_due(database, due, enabled_channels=ALL_CHANNELS),
            service.run_due(other, due, enabled_channels=ALL_CHANNELS),
        )
    finally:
        await other.dispose()
    assert sorted(mine + theirs) == ids
    assert await count_outbox(database) == 3 * 7
    for broadcast_id in ids:
        status = await service.get_status(database, broadcast_id)
        assert (status["status"], status["recipients"], status["totals"]) == (
            "sending",
            7,
            {"queued": 7},
        )
    sends = [a for a in await actions(database) if a[1] == "broadcast.send"]
    assert len(sends) == 3


async def test_known_organisations(database, membership):
    assert await service.known_organisations(database) == {
        "ONG Kènèya",
        "Association Musow",
        "Réseau Paix",
    }


async def test_audit_entries_newest_first(database):
    async with database.transaction() as connection:
        await audit.record(connection, "admin", "token.create", "token:1", {"role": "viewer"})
        await audit.record(connection, "admin", "token.revoke", "token:1")
    entries = await audit.entries(database, limit=5)
    assert [(e["action"], e["details"]) for e in entries] == [
        ("token.revoke", {}),
        ("token.create", {"role": "viewer"}),
    ]
    assert datetime.fromisoformat(entries[0]["at"]).tzinfo is not None
