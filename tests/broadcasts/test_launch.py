"""The one launch, whoever calls it: a broadcast sent by hand, a scheduled one, a campaign
message, a poll's invitation and its reminder each leave the same kind of broadcast row,
outbox rows, link rows and audit entries, in one transaction, once.

One table of cases, one runner. Time is the cases' own (fixed moments), never the clock.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.model import MovePoll
from bot.vocabulary.i18n import in_language
from broadcasts import service
from broadcasts.campaigns import runner, schedule
from broadcasts.campaigns.calendar import parse_campaign
from broadcasts.model import Draft
from broadcasts.polls import service as poll_service
from broadcasts.polls.model import Option, Poll, Question
from broadcasts.polls.service import PollStateError
from broadcasts.quiet_hours import parse_quiet_hours
from broadcasts.service import BroadcastStateError
from storage import audit, campaign_texts
from storage import campaigns as campaign_rows
from storage import polls as poll_rows
from storage.database import Database
from storage.models import Broadcast, CampaignBroadcast, OutboxMessage, PollSession
from storage.models import Poll as PollRow
from tests.broadcasts.conftest import ALL_CHANNELS, outbox_rows
from tests.campaigns.conftest import SMALL

NOW = datetime(2026, 3, 1, 10, tzinfo=UTC)  # the small campaign's "rappel" is due at 10:00
NIGHT = datetime(2026, 3, 4, 22, 30, tzinfo=UTC)  # inside quiet hours, in Bamako (UTC)
MORNING = datetime(2026, 3, 5, 8, tzinfo=UTC)  # when they end
QUIET = parse_quiet_hours("21:00-08:00")
REACHED = ["Awa", "Binta", "Coumba", "Nana", "Oumou", "Salimata", "Zeinab"]  # conftest's
HELLO = Draft(texts={"fr": "Bonjour", "bm": "I ni ce"}, title="Salut")
POLL = Poll(
    slug="essai",
    title={"fr": "Essai"},
    invitation={"fr": "Un sondage : répondez SONDAGE."},
    reminder={"fr": "Il reste le sondage : répondez SONDAGE."},
    reminder_days=3,
    questions=(
        Question("ok", "yes_no", {"fr": "Ça va ?"}, options=(Option("yes", {}), Option("no", {}))),
    ),
)


@dataclass(frozen=True)
class Made:
    """What a case's launch made: the broadcast, and the id its link rows point from."""

    broadcast_id: int
    owner: int | None = None  # the campaign claim's or the poll's id


@dataclass(frozen=True)
class Case:
    launch: Callable[[Database, dict[str, int]], Awaitable[Made]]
    again: Callable[[Database], Awaitable[None]]  # must make nothing more
    actor: str  # who made the broadcast
    sender: str  # who fanned it out
    created: str  # its status when made: "draft", "scheduled", or "sending" when sent at once
    was: str  # what it was before it went: "draft" or "scheduled"
    title: str
    send_at: datetime | None
    at: datetime  # when it went out
    sms_from: datetime  # when its SMS rows are first tried
    recipients: list[str] = field(default_factory=lambda: list(REACHED))
    button: tuple[str, str] | None = None  # (callback data after "p:<poll id>:", msgid)
    about: dict[str, Any] = field(default_factory=dict)  # in both broadcast entries
    links: Callable[[Database, Made], Awaitable[Any]] | None = None
    expected_links: Callable[[Made, dict[str, int]], Any] | None = None
    then: tuple[tuple[str, str, str, dict[str, Any]], ...] = ()  # (actor, action, target, details)


# --- the launches ----------------------------------------------------------------------------
async def by_hand(database: Database, _members: dict[str, int]) -> Made:
    broadcast_id = await service.create(database, HELLO, "awa@secretariat")
    await service.send_now(
        database, broadcast_id, "fanta@secretariat", enabled_channels=ALL_CHANNELS, now=NOW
    )
    return Made(broadcast_id)


async def by_hand_again(database: Database) -> None:
    [broadcast] = await service.list_broadcasts(database)
    with pytest.raises(BroadcastStateError):
        await service.send_now(database, broadcast["id"], "awa", enabled_channels=ALL_CHANNELS)


LATER = Draft(texts=HELLO.texts, title="Plus tard", send_at=NOW - timedelta(minutes=5))


async def scheduled(database: Database, _members: dict[str, int]) -> Made:
    broadcast_id = await service.create(database, LATER, "awa@secretariat")
    assert await service.run_due(database, NOW, enabled_channels=ALL_CHANNELS) == [broadcast_id]
    return Made(broadcast_id)


async def scheduled_again(database: Database) -> None:
    assert await service.run_due(database, NOW, enabled_channels=ALL_CHANNELS) == []


CAMPAIGN = parse_campaign(SMALL, "essai.toml", stem="essai")
RAPPEL = schedule.occurrences(CAMPAIGN, 2026)[0]  # 1 March, 10:00


async def campaign(database: Database, _members: dict[str, int]) -> Made:
    async with database.transaction() as connection:
        await campaign_rows.set_enabled(connection, "essai", 2026, True, "awa", NOW)
        await campaign_texts.approve(connection, "essai", 2026, "awa", NOW)
    late = RAPPEL.send_at.replace(hour=22)  # still its day, but at night
    broadcast_id = await runner.create_broadcast(
        database, RAPPEL, late, enabled_channels=ALL_CHANNELS, quiet_hours=QUIET
    )
    assert broadcast_id is not None
    async with database.sessions() as session:
        claim_id = await session.scalar(select(CampaignBroadcast.id))
    return Made(broadcast_id, claim_id)


async def campaign_again(database: Database) -> None:
    later = RAPPEL.send_at.replace(hour=23)
    assert (
        await runner.create_broadcast(
            database, RAPPEL, later, enabled_channels=ALL_CHANNELS, quiet_hours=QUIET
        )
        is None
    )


async def campaign_links(database: Database, made: Made) -> Any:
    rows = CampaignBroadcast.__table__
    async with database.sessions() as session:
        result = await session.execute(
            select(rows.c.id, rows.c.campaign, rows.c.message, rows.c.year, rows.c.broadcast_id)
        )
        return [tuple(row) for row in result]


async def poll_launch(database: Database, _members: dict[str, int]) -> Made:
    await poll_service.save(database, POLL, "awa@secretariat", NOW)
    launched = await poll_service.launch(
        database, "essai", "fanta@secretariat", enabled_channels=ALL_CHANNELS, now=NOW
    )
    return Made(launched["broadcast"], launched["id"])


async def poll_launch_again(database: Database) -> None:
    with pytest.raises(PollStateError):
        await poll_service.launch(database, "essai", "awa", enabled_channels=ALL_CHANNELS, now=NOW)


async def poll_reminder(database: Database, members: dict[str, int]) -> Made:
    invitation = await poll_launch(database, members)
    async with database.transaction() as connection:  # Awa answers everything
        finished = MovePoll(invitation.owner or 0, None, finished=True)
        await poll_rows.move(connection, members["Awa"], finished, "sms", NOW)
    [broadcast_id] = await poll_service.send_reminders(
        database, NIGHT, enabled_channels=ALL_CHANNELS, quiet_hours=QUIET
    )
    return Made(broadcast_id, invitation.owner)


async def poll_reminder_again(database: Database) -> None:
    later = NIGHT + timedelta(hours=1)
    assert await poll_service.send_reminders(database, later, enabled_channels=ALL_CHANNELS) == []


async def poll_links(database: Database, made: Made) -> Any:
    polls, sessions = PollRow.__table__, PollSession.__table__
    async with database.sessions() as session:
        poll = (
            await session.execute(
                select(polls.c.broadcast_id, polls.c.reminder_broadcast_id).where(
                    polls.c.id == made.owner
                )
            )
        ).one()
        rows = await session.execute(
            select(sessions.c.member_id, sessions.c.invited_at, sessions.c.reminded_at).where(
                sessions.c.poll_id == made.owner
            )
        )
        return tuple(poll), sorted(tuple(row) for row in rows)


def invited(members: dict[str, int], reminded: datetime | None) -> list[tuple[Any, ...]]:
    """Every member reached has a session; the unfinished are reminded when there is one."""
    return sorted((members[name], NOW, reminded if name != "Awa" else None) for name in REACHED)


CASES = {
    "by hand, now": Case(
        by_hand,
        by_hand_again,
        created="draft",
        actor="awa@secretariat",
        sender="fanta@secretariat",
        was="draft",
        title="Salut",
        send_at=None,
        at=NOW,
        sms_from=NOW,
    ),
    "scheduled": Case(
        scheduled,
        scheduled_again,
        created="scheduled",
        actor="awa@secretariat",
        sender="scheduler",
        was="scheduled",
        title="Plus tard",
        send_at=LATER.send_at,
        at=NOW,
        sms_from=NOW,
    ),
    "campaign, once, at night": Case(
        campaign,
        campaign_again,
        created="sending",
        actor="scheduler",
        sender="scheduler",
        was="scheduled",
        title="Campagne d'essai 2026 — rappel",
        send_at=RAPPEL.send_at,
        at=RAPPEL.send_at.replace(hour=22),
        sms_from=datetime(2026, 3, 2, 8, tzinfo=UTC),
        about={"campaign": "essai", "message": "rappel", "year": 2026},
        links=campaign_links,
        expected_links=lambda made, _: [(made.owner, "essai", "rappel", 2026, made.broadcast_id)],
    ),
    "poll launch": Case(
        poll_launch,
        poll_launch_again,
        created="sending",
        actor="fanta@secretariat",
        sender="fanta@secretariat",
        was="draft",
        title="Sondage : Essai",
        send_at=None,
        at=NOW,
        sms_from=NOW,
        button=("start", "Commencer"),
        about={"poll": "essai"},
        links=poll_links,
        expected_links=lambda made, members: ((made.broadcast_id, None), invited(members, None)),
        then=(("fanta@secretariat", "poll.launch", "poll:essai", {"invited": 7}),),
    ),
    "poll reminder, at night": Case(
        poll_reminder,
        poll_reminder_again,
        created="sending",
        actor="scheduler",
        sender="scheduler",
        was="draft",
        title="Rappel sondage : Essai",
        send_at=None,
        at=NIGHT,
        sms_from=MORNING,
        recipients=[name for name in REACHED if name != "Awa"],  # she finished
        button=("start", "Continuer"),
        about={"poll": "essai"},
        links=poll_links,
        expected_links=lambda made, members: (
            (made.broadcast_id - 1, made.broadcast_id),
            invited(members, NIGHT),
        ),
        then=(("scheduler", "poll.remind", "poll:essai", {"reminded": 6}),),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
async def test_every_launch_leaves_the_same_trace(database, membership, name):
    case = CASES[name]
    made = await case.launch(database, membership)
    target = f"broadcast:{made.broadcast_id}"

    # The broadcast row.
    table = Broadcast.__table__
    async with database.sessions() as session:
        row = (await session.execute(select(table).where(table.c.id == made.broadcast_id))).one()
    assert (row.status, row.created_by, row.title, row.send_at, row.fanned_out_at) == (
        "sending",
        case.actor,
        case.title,
        case.send_at,
        case.at,
    )
    assert row.recipients == len(case.recipients)

    # Its outbox rows: one per member reached, bulk, due when their channel may send.
    rows = await outbox_rows(database, made.broadcast_id)
    assert [r.name for r in rows] == case.recipients
    for r in rows:
        assert (r.priority, r.status, r.attempts, r.created_at) == (1, "queued", 0, case.at)
        assert r.next_attempt_at == (case.sms_from if r.channel == "sms" else case.at), r.name
        if case.button and r.channel == "telegram":
            key, label = case.button
            poll_key = f"p:{made.owner}:{key}"
            assert r.choices == [[poll_key, in_language(LANGUAGES_OF[r.name], label)]], r.name
        else:
            assert r.choices is None, r.name

    # Its link rows, made in the same transaction.
    if case.links is not None and case.expected_links is not None:
        assert await case.links(database, made) == case.expected_links(made, membership)

    # The same two entries for every broadcast, then the caller's own.
    entries = reversed(await audit.entries(database, limit=50))  # oldest first
    mine = [
        (e["actor"], e["action"], e["target"], e["details"])
        for e in entries
        if e["target"] == target or e["details"].get("broadcast") == made.broadcast_id
    ]
    create = {
        "title": case.title,
        "status": case.created,
        "send_at": case.send_at.isoformat() if case.send_at else None,
        "languages": sorted(row.texts),
        "audience": row.audience,
        "whatsapp": None,
        "fallback": True,
        **case.about,
    }
    send = {
        "recipients": len(case.recipients),
        "channels": ["telegram", "whatsapp", "sms"],
        "was": case.was,
        "sms_held_until": case.sms_from.isoformat() if case.sms_from != case.at else None,
        "whatsapp_templates": {},
        **case.about,
    }
    then = [
        (actor, action, where, {**details, "broadcast": made.broadcast_id})
        for actor, action, where, details in case.then
    ]
    assert mine == [
        (case.actor, "broadcast.create", target, create),
        (case.sender, "broadcast.send", target, send),
        *then,
    ]

    # Once: asking again makes nothing more.
    counts = await totals(database)
    await case.again(database)
    assert await totals(database) == counts


LANGUAGES_OF = {
    "Awa": "fr", "Binta": "bm", "Coumba": "bm", "Nana": "en", "Oumou": "fr", "Salimata": "ff",
    "Zeinab": "ses",
}  # fmt: skip


async def totals(database: Database) -> tuple[int, int, int]:
    """Broadcasts, outbox rows and audit entries."""
    async with database.sessions() as session:
        return (
            await session.scalar(select(func.count()).select_from(Broadcast)),
            await session.scalar(select(func.count()).select_from(OutboxMessage)),
            len(await audit.entries(database, limit=1000)),
        )
