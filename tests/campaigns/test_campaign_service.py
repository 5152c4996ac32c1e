"""Campaign broadcasts on the database: made once, only when enabled, on their day, with
quiet hours for SMS; enable/disable audited; what list and show say."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from broadcasts.campaigns import runner as campaign_runner
from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.files import CampaignNotFound, load_directory
from broadcasts.campaigns.runner import CampaignRunner
from broadcasts.campaigns.service import CampaignFieldError
from storage import audit
from storage.database import Database
from storage.models import Broadcast, CampaignBroadcast
from storage.outbox import fanout
from tests.campaigns.conftest import (
    ALL_CHANNELS,
    QUIET,
    at,
    broadcast_rows,
    enable,
    made,
    outbox_of,
)

RAPPEL = at(2026, 3, 1, 10)  # the small campaign's first message: 7 days before 8 March, 10:00


@pytest.fixture
def essai(campaigns_dir):
    return load_directory(campaigns_dir)


def runner(database: Database, campaigns_dir, quiet=QUIET) -> CampaignRunner:
    return CampaignRunner(database, campaigns_dir, quiet_hours=quiet)


async def test_nothing_is_made_until_the_year_is_enabled(
    database, membership, campaigns_dir, essai
):
    scheduler = runner(database, campaigns_dir)
    assert await scheduler.run_due(RAPPEL, ALL_CHANNELS) == []
    assert await made(database) == []
    await enable(database, essai, "essai", 2027)  # another year changes nothing
    assert await scheduler.run_due(RAPPEL, ALL_CHANNELS) == []
    await enable(database, essai, "essai", 2026)
    [broadcast_id] = await scheduler.run_due(RAPPEL, ALL_CHANNELS)
    assert await made(database) == [("essai", "rappel", 2026, broadcast_id)]
    [row] = await broadcast_rows(database)
    assert (row.status, row.created_by, row.send_at, row.fanned_out_at) == (
        "sending",
        "scheduler",
        RAPPEL,
        RAPPEL,
    )
    assert row.title == "Campagne d'essai 2026 — rappel"
    assert row.recipients == 7 == len(await outbox_of(database, broadcast_id))


async def test_made_once_across_restarts_and_two_schedulers(
    database, membership, campaigns_dir, essai
):
    await enable(database, essai, "essai", 2026)
    first = runner(database, campaigns_dir)
    [made_first] = await first.run_due(RAPPEL, ALL_CHANNELS)
    assert await first.run_due(RAPPEL.replace(minute=30), ALL_CHANNELS) == []
    restarted = runner(database, campaigns_dir)  # a new process: nothing in memory
    assert await restarted.run_due(RAPPEL.replace(hour=11), ALL_CHANNELS) == []

    other_database = Database(database.url)  # a second process, its own connections
    try:
        mine, theirs = runner(database, campaigns_dir), runner(other_database, campaigns_dir)
        eighth = at(2026, 3, 8, 9)
        results = await asyncio.gather(
            mine.run_due(eighth, ALL_CHANNELS), theirs.run_due(eighth, ALL_CHANNELS)
        )
    finally:
        await other_database.dispose()
    assert sorted(len(result) for result in results) == [0, 1]
    assert [m[:3] for m in await made(database)] == [
        ("essai", "rappel", 2026),
        ("essai", "jour", 2026),
    ]
    assert made_first == (await made(database))[0][3]
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Broadcast)) == 2
    creates = [e for e in await audit.entries(database) if e["action"] == "broadcast.create"]
    assert [(e["actor"], e["details"]["campaign"], e["details"]["message"]) for e in creates] == [
        ("scheduler", "essai", "jour"),
        ("scheduler", "essai", "rappel"),
    ]


async def test_each_member_gets_their_language_or_french(
    database, membership, campaigns_dir, essai
):
    await enable(database, essai, "essai", 2026)
    [broadcast_id] = await runner(database, campaigns_dir).run_due(RAPPEL, ALL_CHANNELS)
    bodies = {}
    names = {member_id: name for name, member_id in membership.items()}
    for row in await outbox_of(database, broadcast_id):
        bodies[names[row.member_id]] = (row.channel, row.body)
    french = "Le 8 mars approche.\nThème 2026 : Investir dans les femmes"
    assert bodies == {
        "Awa": ("sms", french),  # over SMS: French is GSM-7 as written
        "Binta": ("telegram", "Marisikalo tile 8 surunyara."),
        "Coumba": ("whatsapp", "Marisikalo tile 8 surunyara."),
        "Nana": ("telegram", "8 March is coming."),
        "Oumou": ("sms", french),
        "Salimata": ("sms", french),  # Fulfulde: no text, French
        "Zeinab": ("telegram", french),  # Songhay: no text, French
    }


async def test_quiet_hours_hold_sms_and_nothing_else(database, membership, campaigns_dir, essai):
    await enable(database, essai, "essai", 2026)
    late = at(2026, 3, 8, 22, 15)  # the scheduler came back at night: 8 March is still due
    [broadcast_id] = await runner(database, campaigns_dir).run_due(late, ALL_CHANNELS)
    rows = await outbox_of(database, broadcast_id)
    assert {row.channel for row in rows} == {"sms", "telegram", "whatsapp"}
    for row in rows:
        expected = at(2026, 3, 9, 8) if row.channel == "sms" else late
        assert row.next_attempt_at == expected, row.channel
    sends = [e for e in await audit.entries(database) if e["action"] == "broadcast.send"]
    assert sends[0]["details"]["sms_held_until"] == at(2026, 3, 9, 8).isoformat()

    await enable(database, essai, "essai", 2026)
    [day_time] = await runner(database, campaigns_dir).run_due(at(2026, 3, 9, 9), ALL_CHANNELS)
    assert {row.next_attempt_at for row in await outbox_of(database, day_time)} == {
        at(2026, 3, 9, 9)
    }
    [no_quiet] = await runner(database, campaigns_dir, quiet=None).run_due(
        at(2026, 3, 10, 23), ALL_CHANNELS
    )
    assert {row.next_attempt_at for row in await outbox_of(database, no_quiet)} == {
        at(2026, 3, 10, 23)
    }


async def test_a_message_is_sent_on_its_day_only(database, membership, campaigns_dir, essai):
    scheduler = runner(database, campaigns_dir)
    await scheduler.run_due(RAPPEL, ALL_CHANNELS)  # not enabled: nothing
    await enable(database, essai, "essai", 2026)
    assert await scheduler.run_due(at(2026, 3, 2, 10), ALL_CHANNELS) == []  # the day after
    assert await made(database) == []
    assert len(await scheduler.run_due(at(2026, 3, 8, 23, 59), ALL_CHANNELS)) == 1


async def test_a_failure_half_way_leaves_nothing_and_the_next_tick_makes_it(
    database, membership, campaigns_dir, essai, monkeypatch
):
    await enable(database, essai, "essai", 2026)
    real = fanout.fan_out

    async def broken(*args, **kwargs):
        await real(*args, **kwargs)
        raise RuntimeError("the process died here")

    monkeypatch.setattr(fanout, "fan_out", broken)
    scheduler = runner(database, campaigns_dir)
    with pytest.raises(RuntimeError):
        await scheduler.run_due(RAPPEL, ALL_CHANNELS)
    assert await made(database) == [] and await broadcast_rows(database) == []
    monkeypatch.setattr(fanout, "fan_out", real)
    [broadcast_id] = await scheduler.run_due(RAPPEL.replace(minute=1), ALL_CHANNELS)
    assert len(await outbox_of(database, broadcast_id)) == 7


async def test_disabling_stops_what_is_not_yet_made(database, membership, campaigns_dir, essai):
    await enable(database, essai, "essai", 2026)
    scheduler = runner(database, campaigns_dir)
    await scheduler.run_due(at(2026, 3, 9, 9), ALL_CHANNELS)
    result = await campaign_service.set_enabled(database, essai, "essai", 2026, False, "awa")
    assert result == {"campaign": "essai", "year": 2026, "enabled": False, "was": True}
    assert await scheduler.run_due(at(2026, 3, 10, 9), ALL_CHANNELS) == []
    assert [m[1] for m in await made(database)] == ["semaine-01"]
    entries = [
        (e["actor"], e["action"], e["target"], e["details"]) for e in await audit.entries(database)
    ]
    assert ("awa", "campaign.disable", "campaign:essai", {"year": 2026, "was": True}) in entries
    assert ("test", "campaign.enable", "campaign:essai", {"year": 2026, "was": False}) in entries


async def test_enable_refuses_unknown_campaigns_and_years(database, essai):
    with pytest.raises(CampaignNotFound, match="no campaign 'autre'"):
        await campaign_service.set_enabled(database, essai, "autre", 2026, True, "awa")
    for wrong in (1999, "deux mille", True, None, 2101):
        with pytest.raises(CampaignFieldError) as caught:
            await campaign_service.set_enabled(database, essai, "essai", wrong, True, "awa")
        assert caught.value.field == "year"
    assert await audit.entries(database) == []


async def test_a_broken_file_is_left_out_and_named(database, campaigns_dir):
    (campaigns_dir / "casse.toml").write_text('name = "casse"\ntitle = 3\n', "utf-8")
    calendar = load_directory(campaigns_dir)
    assert list(calendar.campaigns) == ["essai"]
    [error] = calendar.errors
    assert str(error) == f"{campaigns_dir / 'casse.toml'}:2: title: must be some text"
    with pytest.raises(CampaignNotFound, match="has an error"):
        calendar.get("casse")


async def test_the_runner_reads_a_file_again_when_it_changes(database, membership, campaigns_dir):
    clock = [0.0]
    scheduler = CampaignRunner(
        database, campaigns_dir, quiet_hours=QUIET, file_check=5.0, monotonic=lambda: clock[0]
    )
    await enable(database, scheduler.source.current, "essai", 2026)
    path = campaigns_dir / "essai.toml"
    path.write_text(path.read_text("utf-8").replace('send_time = "10:00"', 'send_time = "11:00"'))
    clock[0] = 4.9  # not looked at yet: still 10:00
    assert scheduler.source.current.campaigns["essai"].messages[0].send_time.hour == 10
    await scheduler.run_due(RAPPEL - timedelta(hours=1), ALL_CHANNELS)
    assert scheduler.source.current.campaigns["essai"].messages[0].send_time.hour == 10
    clock[0] = 5.0  # looked at: read again
    assert await scheduler.run_due(RAPPEL, ALL_CHANNELS) == []  # now due at 11:00
    assert len(await scheduler.run_due(RAPPEL.replace(hour=11), ALL_CHANNELS)) == 1


async def test_nothing_is_done_until_the_next_send_time(
    database, membership, campaigns_dir, essai, monkeypatch
):
    calls = []
    real = campaign_runner.run_due

    async def counted(*args, **kwargs):
        calls.append(args[2])
        return await real(*args, **kwargs)

    monkeypatch.setattr(campaign_runner, "run_due", counted)
    await enable(database, essai, "essai", 2026)
    scheduler = runner(database, campaigns_dir)
    for hour in range(0, 24):  # 1 March: only the 10:00 reminder
        await scheduler.run_due(at(2026, 3, 1, hour), ALL_CHANNELS)
    await scheduler.run_due(at(2026, 3, 8, 8, 59), ALL_CHANNELS)
    await scheduler.run_due(at(2026, 3, 8, 9), ALL_CHANNELS)
    assert calls == [at(2026, 3, 1, 0), at(2026, 3, 1, 10), at(2026, 3, 8, 9)]
    assert [m[1] for m in await made(database)] == ["rappel", "jour"]


async def test_list_and_show(database, membership, campaigns_dir, essai):
    await enable(database, essai, "essai", 2026)
    [broadcast_id] = await runner(database, campaigns_dir).run_due(RAPPEL, ALL_CHANNELS)
    now = at(2026, 3, 5, 12)
    listed = await campaign_service.list_campaigns(database, essai, now)
    [item] = listed["campaigns"]
    assert (item["name"], item["year"], item["enabled"], item["messages"], item["made"]) == (
        "essai",
        2026,
        True,
        5,
        1,
    )
    assert (item["first_day"], item["last_day"]) == ("2026-03-01", "2026-03-11")
    assert item["next"] == {
        "message": "jour",
        "year": 2026,
        "day": "2026-03-08",
        "send_at": at(2026, 3, 8, 9).isoformat(),
        "local_time": "2026-03-08 09:00",
        "enabled": True,
        "made": False,
    }
    shown = await campaign_service.show(
        database, essai, "essai", 2026, enabled_channels=ALL_CHANNELS, quiet_hours=QUIET, now=now
    )
    assert (shown["enabled"], shown["theme"]["fr"]) == (True, "Investir dans les femmes")
    first, second = shown["messages"][:2]
    assert (first["message"], first["status"], first["broadcast"]["id"]) == (
        "rappel",
        "made",
        broadcast_id,
    )
    assert (second["message"], second["status"], second["broadcast"]) == ("jour", "upcoming", None)
    assert second["audience"]["recipients"] == 7
    assert second["audience"]["by_channel"] == {"sms": 3, "telegram": 3, "whatsapp": 1}
    assert second["texts"]["bm"]["sms"]["segments"] == 1
    assert second["texts"]["fr"]["text"] == "Bonne journée du 8 mars !"
    assert [m["status"] for m in shown["messages"]][2:] == ["upcoming"] * 3
    later = await campaign_service.show(
        database,
        essai,
        "essai",
        2026,
        enabled_channels={"sms"},
        quiet_hours=QUIET,
        now=at(2026, 3, 10, 12),
    )
    assert [m["status"] for m in later["messages"]] == ["made", "past", "past", "due", "upcoming"]
    assert later["messages"][1]["audience"]["recipients"] == 5  # those with an SMS number


async def test_campaign_rows_are_unique(database):
    rows = CampaignBroadcast.__table__
    async with database.transaction() as connection:
        await connection.execute(rows.insert().values(campaign="a", message="b", year=2026))
    with pytest.raises(Exception, match=r"(?i)unique"):
        async with database.transaction() as connection:
            await connection.execute(rows.insert().values(campaign="a", message="b", year=2026))
