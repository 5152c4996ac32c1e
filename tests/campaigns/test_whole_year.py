"""A whole year of the shipped calendar with a controllable clock: every campaign makes exactly
its broadcasts, on their days, at their hours, in their languages; a restart mid-campaign and
two schedulers at once make no duplicates; a scheduler down for a while misses the days it
slept through and holds the SMS of what it makes at night.

The clock ticks every hour of the year (the send times are on the hour, so the first tick at
or after a message's time is that time exactly): most ticks find nothing due and ask the
database nothing, so a year takes a few seconds."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from bot.vocabulary.sms_text import cheapest_sms_text
from broadcasts.campaigns.files import CAMPAIGNS_DIR
from broadcasts.campaigns.runner import CampaignRunner
from gateway.sending.scheduler import Scheduler
from storage import audit
from storage.database import Database
from tests.campaigns.conftest import (
    ALL_CHANNELS,
    QUIET,
    SHIPPED,
    at,
    broadcast_rows,
    enable,
    made,
    outbox_of,
)

YEAR = 2026


def expected_year() -> list[tuple[str, str, object]]:
    """What the issue asks for, written out by hand: (campaign, message, moment)."""
    sixteen = [
        ("16-jours", f"jour-{n:02d}", at(YEAR, 11, 25, 9) + timedelta(days=n - 1))
        for n in range(1, 17)
    ]
    return sorted(
        [
            ("8-mars", "rappel", at(YEAR, 3, 1, 10)),  # a week before, to plan activities
            ("8-mars", "jour", at(YEAR, 3, 8, 9)),
            ("violence-sexuelle-conflits", "jour", at(YEAR, 6, 19, 9)),
            ("femme-africaine", "jour", at(YEAR, 7, 31, 9)),
            ("fille", "jour", at(YEAR, 10, 11, 9)),
            ("resolution-1325", "anniversaire", at(YEAR, 10, 31, 9)),
            *sixteen,  # 25 November … 10 December
        ],
        key=lambda item: item[2],
    )


async def test_a_whole_year(database, membership, shipped):
    for name in SHIPPED:
        await enable(database, shipped, name, YEAR)
    other = Database(database.url)  # a second scheduler process
    runners = [CampaignRunner(database, CAMPAIGNS_DIR, quiet_hours=QUIET)]
    twin = CampaignRunner(other, CAMPAIGNS_DIR, quiet_hours=QUIET)
    made_at: dict[int, object] = {}
    now = at(YEAR, 1, 1, 0)
    try:
        while now < at(YEAR + 1, 1, 1, 0):
            if now == at(YEAR, 12, 1, 0):  # restarted mid-campaign: a new runner, no memory
                runners.append(CampaignRunner(database, CAMPAIGNS_DIR, quiet_hours=QUIET))
            if date(YEAR, 3, 8) <= now.date() <= date(YEAR, 3, 9) or now.month == 11:
                results = await asyncio.gather(  # two schedulers at once
                    runners[-1].run_due(now, ALL_CHANNELS), twin.run_due(now, ALL_CHANNELS)
                )
                created = [broadcast_id for result in results for broadcast_id in result]
            else:
                created = await runners[-1].run_due(now, ALL_CHANNELS)
            for broadcast_id in created:
                made_at[broadcast_id] = now
            now += timedelta(hours=1)
    finally:
        await other.dispose()

    rows = await made(database)
    assert len(rows) == len(set(rows)) == 22
    by_id = {row.id: row for row in await broadcast_rows(database)}
    assert len(by_id) == 22  # no other broadcast, no duplicate
    actual = sorted(
        ((name, key, made_at[broadcast_id]) for name, key, year, broadcast_id in rows),
        key=lambda item: item[2],
    )
    assert actual == expected_year()
    for name, _key, year, broadcast_id in rows:
        row = by_id[broadcast_id]
        assert year == YEAR
        assert row.send_at == made_at[broadcast_id] == row.fanned_out_at
        assert {"fr", "bm", "en"} <= set(row.texts)
        assert row.title.startswith(f"{shipped.campaigns[name].title} {YEAR} — ")
        everyone = name != "violence-sexuelle-conflits"  # that one: themes vbg, paix_securite
        assert row.recipients == (7 if everyone else 5), name

    # Languages: each member's own text (French when there is none), the GSM-friendly
    # spelling over SMS when it is shorter, the text as written elsewhere.
    first_day = next(bid for name, key, _, bid in rows if key == "jour-01")
    texts = by_id[first_day].texts
    names = {member_id: name for name, member_id in membership.items()}
    bodies = {names[r.member_id]: (r.channel, r.body) for r in await outbox_of(database, first_day)}
    assert bodies["Binta"] == ("telegram", texts["bm"])  # Bambara, as written
    assert bodies["Coumba"] == ("whatsapp", texts["bm"])
    assert bodies["Awa"] == ("sms", cheapest_sms_text(texts["fr"]))
    assert bodies["Nana"] == ("telegram", texts["en"])
    assert bodies["Salimata"] == ("sms", cheapest_sms_text(texts["ff"]))  # Fulfulde
    assert bodies["Salimata"][1].startswith("25/11, Ñalnde winndere ngam hadde")  # ɗ→d: GSM-7
    assert bodies["Zeinab"] == ("telegram", texts["ses"])  # Songhay, as written
    assert "ɛ" in texts["bm"] and texts["bm"].startswith("Nowanburukalo tile 25")
    assert "Thème" not in texts["fr"]  # no theme for the year: its line is left out

    # Sent at 09:00 or 10:00: outside quiet hours, nothing held back.
    for broadcast_id, moment in made_at.items():
        assert {r.next_attempt_at for r in await outbox_of(database, broadcast_id)} == {moment}

    creates = [
        e for e in await audit.entries(database, limit=500) if e["action"] == "broadcast.create"
    ]
    assert len(creates) == 22 and {e["actor"] for e in creates} == {"scheduler"}
    assert {(e["details"]["campaign"], e["details"]["message"]) for e in creates} == {
        (name, key) for name, key, _ in expected_year()
    }


async def test_the_scheduler_in_serve_makes_the_16_days_and_survives_downtime(
    database, membership, shipped
):
    """Scheduler.tick, as `benkadi serve` runs it, every hour of the 16 days; down from
    the morning of 27 November to 23:00 on the 28th: day 3 is missed (its day is over), day 4
    is made at 23:00 with its SMS held until 08:00, the others on time."""
    await enable(database, shipped, "16-jours", YEAR)
    now = at(YEAR, 11, 24, 0)
    wakes = []
    scheduler = Scheduler(
        database,
        ALL_CHANNELS,
        lambda: wakes.append(now),
        clock=lambda: now,
        campaigns=CampaignRunner(database, CAMPAIGNS_DIR, quiet_hours=QUIET),
    )
    down = (at(YEAR, 11, 27, 7), at(YEAR, 11, 28, 23))
    made_at = {}
    while now < at(YEAR, 12, 12, 0):
        if not down[0] <= now < down[1]:
            for broadcast_id in await scheduler.tick():
                made_at[broadcast_id] = now
        now += timedelta(hours=1)
    rows = await made(database)
    keys = [key for _, key, _, _ in rows]
    assert keys == [f"jour-{n:02d}" for n in range(1, 17) if n != 3]
    assert set(wakes) == set(made_at.values())
    for _, key, _, broadcast_id in rows:
        outbox = await outbox_of(database, broadcast_id)
        if key == "jour-04":
            assert made_at[broadcast_id] == at(YEAR, 11, 28, 23)
            held = {r.channel: r.next_attempt_at for r in outbox}
            assert held["sms"] == at(YEAR, 11, 29, 8)
            assert held["telegram"] == held["whatsapp"] == at(YEAR, 11, 28, 23)
        else:
            assert made_at[broadcast_id].hour == 9
            assert {r.next_attempt_at for r in outbox} == {made_at[broadcast_id]}
