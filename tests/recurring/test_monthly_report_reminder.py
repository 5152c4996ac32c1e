"""The monthly report reminder over a simulated year, on a test clock, through restarts: each
month on the 25th at 09:00 (Bamako) exactly the members of organisations without a report for
the month get it, in their language, once; a month where everyone reported is skipped; nothing
goes out while it is off (as shipped); switched off again, it stops."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.vocabulary.i18n import in_language
from broadcasts import recurring
from gateway.sending.scheduler import Scheduler
from storage import members as member_store
from storage.models import AuditEntry, Broadcast, OutboxMessage, RecurringOccurrence
from tests.factories import add_member, add_report

YEAR = 2027
CHANNELS = ("sms", "telegram")
START = datetime(YEAR - 1, 12, 31, tzinfo=UTC)
# Organisation → the months it reports in.
REPORTS = {
    "AMSS": set(range(1, 13)),  # every month: never reminded
    "Wildaf Mali": {1, 3, 5, 6, 7, 9, 11},
    "OCB Jɛ": {6},
}


async def seed(database) -> dict[str, int]:
    members: dict[str, int] = {}
    async with database.transaction() as connection:
        for n, (name, language) in enumerate(
            (("AMSS", "fr"), ("Wildaf Mali", "bm"), ("OCB Jɛ", "fr"))
        ):
            org = await member_store.organisation_id_named(connection, name)
            members[name] = await add_member(
                connection, name=f"Point focal {n}", region="kayes", now=START, language=language,
                organisation_id=org, addresses=[("sms", f"+2237600000{n}")],
            )  # fmt: skip
        await add_member(  # no organisation: never reminded
            connection, name="Sans org", region="kayes", now=START,
            addresses=[("sms", "+22376000009")],
        )  # fmt: skip
        for name, months in REPORTS.items():
            for month in months:
                await add_report(
                    connection, organisation=name, region="kayes", activity="formation",
                    day=date(YEAR, month, 3), counts=(1, 0, 0, 0), now=START, member="Rapporteur",
                )  # fmt: skip
    return members


def expected(members: dict[str, int]) -> dict[int, set[int]]:
    return {
        month: {members[name] for name, months in REPORTS.items() if month not in months}
        for month in range(1, 13)
        if any(month not in months for months in REPORTS.values())
    }


async def sent(database) -> dict[int, tuple[set[int], dict[str, str]]]:
    """Month → (members given the reminder, its texts)."""
    async with database.sessions() as session:
        rows = (
            await session.execute(
                select(RecurringOccurrence.occurs_at, Broadcast.texts, OutboxMessage.member_id)
                .join(Broadcast, Broadcast.id == RecurringOccurrence.broadcast_id)
                .join(OutboxMessage, OutboxMessage.broadcast_id == Broadcast.id)
            )
        ).all()
    out: dict[int, tuple[set[int], dict[str, str]]] = {}
    for occurs_at, texts, member_id in rows:
        out.setdefault(occurs_at.month, (set(), texts))[0].add(member_id)
    return out


async def test_a_year_of_monthly_reminders_through_restarts(database):
    members = await seed(database)
    clock = {"now": START}
    made: list[int] = []

    def scheduler() -> Scheduler:  # a (re)started process: no memory but the database
        return Scheduler(database, CHANNELS, wake=lambda: None, clock=lambda: clock["now"])

    # Shipped off: a January 25th passes with nothing sent.
    clock["now"] = datetime(YEAR, 1, 25, 9, 0, tzinfo=UTC)
    assert await scheduler().tick() == []
    await recurring.change(database, "rapport-mensuel", "console:awa", clock["now"], enabled=True)
    running = scheduler()
    day = datetime(YEAR, 2, 1, tzinfo=UTC)
    while day.year == YEAR:
        times = ((8, 59), (9, 0), (9, 30), (15, 0)) if day.day in (25, 28, 31) else ((9, 0),)
        for hour, minute in times:
            clock["now"] = day.replace(hour=hour, minute=minute)
            if day.day == 25 and hour == 9 and minute == 30:
                running = scheduler()  # restarted just after the reminder went out
            made += await running.tick()
        day += timedelta(days=1)

    want = {m: who for m, who in expected(members).items() if m >= 2}
    got = await sent(database)
    assert {m: who for m, (who, _) in got.items()} == want
    assert 6 not in got  # everyone reported in June: skipped
    texts = got[2][1]
    assert texts["fr"] == in_language("fr", recurring.REPORT_REMINDER)
    assert texts["bm"] != texts["fr"]  # Wildaf's focal point reads it in Bambara
    async with database.sessions() as session:
        occurrences = (await session.execute(select(RecurringOccurrence))).scalars().all()
        actions = (
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.action.like("recurring.%"))
                )
            )
            .scalars()
            .all()
        )
    assert sorted(o.occurs_at.month for o in occurrences) == list(range(2, 13))  # once each
    assert all(o.occurs_at.day == 25 and o.occurs_at.hour == 9 for o in occurrences)
    assert actions.count("recurring.skip") == 1 and actions.count("recurring.send") == 10

    # Switched off: the next January 25th sends nothing.
    await recurring.change(database, "rapport-mensuel", "console:awa", clock["now"], enabled=False)
    clock["now"] = datetime(YEAR + 1, 1, 25, 9, 0, tzinfo=UTC)
    assert await scheduler().tick() == []


def test_a_schedule_that_never_fires_is_refused():
    for day, time in ((0, "09:00"), (32, "09:00"), (25, "25:00"), ("x", "9h")):
        with pytest.raises(Exception) as refused:
            recurring.checked(day, time)
        assert refused.value.field in ("day", "time")
    assert recurring.checked("31", "9:05") == (31, "09:05")
    february = recurring.Monthly("x", "x", 31, "09:00", "m").at(2027, 2)
    assert february.day == 28
