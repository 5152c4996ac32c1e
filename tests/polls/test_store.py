"""The poll store, results, exports and reminders on every backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select

from bot.model import MovePoll, RecordPollAnswer
from broadcasts import service as broadcast_service
from broadcasts.polls import export, results
from broadcasts.polls import service as poll_service
from broadcasts.quiet_hours import parse_quiet_hours
from storage import polls as poll_store
from storage.models import OutboxMessage
from storage.types import utcnow
from tests.polls.conftest import ALL_CHANNELS, add_member, capacity_poll


async def test_answers_results_exports_and_reminders(database):
    org = {"region": "mopti", "organisation": "OCB Jɛ", "kind": "ocb"}
    awa = await add_member(
        database, "Awa", channel="sms", address="+22376000001", language="bm", **org
    )
    ali = await add_member(
        database, "Ali", channel="telegram", address="9001", language="fr", **org
    )
    now = utcnow()
    await poll_service.save(database, capacity_poll(), "test", now)
    launched = await poll_service.launch(
        database, "capacites-osc", "test", enabled_channels=ALL_CHANNELS, now=now
    )
    poll_id = launched["id"]
    poll = capacity_poll()
    question = poll.question("financement")
    async with database.transaction() as connection:
        for member, options, channel in (
            (awa, ("etat",), "sms"),
            (ali, ("etat", "aucun"), "telegram"),
        ):
            answer = RecordPollAnswer(
                poll_id, "financement", poll.position("financement"), options,
                score=question.score_of(options), max_score=question.max_score,
                dimension=question.dimension,
            )  # fmt: skip
            await poll_store.record_answer(connection, member, answer, channel, now)
            await poll_store.move(connection, member, MovePoll(poll_id, "formation"), channel, now)
        # Awa changes her mind: latest wins.
        changed = RecordPollAnswer(
            poll_id, "financement", 9, ("cotisations", "partenaires"), score=2.0, max_score=4.0,
            dimension="operational",
        )  # fmt: skip
        await poll_store.record_answer(connection, awa, changed, "sms", now)
        await poll_store.move(connection, awa, MovePoll(poll_id, None, finished=True), "sms", now)
        view = await poll_store.view(connection, ali, None, now)
    assert view.poll_id == poll_id and view.question == "formation" and not view.finished
    assert view.answers == {"financement": ["etat", "aucun"]}

    result = await results.compute(database, "capacites-osc")
    financement = next(q for q in result["questions"] if q["key"] == "financement")
    counted = {o["key"]: o["count"] for o in financement["options"] if o["count"]}
    assert counted == {"cotisations": 1, "partenaires": 1, "etat": 1, "aucun": 1}
    assert financement["by"]["language"]["bm"]["answered"] == "< 5"  # one person: suppressed
    assert result["rates"]["finished"] == 1 and result["rates"]["started"] == 2
    [org_scores] = result["scores"]["organisations"]
    assert org_scores["scores"]["operational"] == {"percent": 37.5, "respondents": 2}  # 50, 25

    rows = [row async for row in export.wide_rows(database, poll_id, poll)]
    assert sorted(row[0] for row in rows) == sorted([awa, ali])

    later = now + timedelta(days=poll.reminder_days or 0, minutes=1)
    made = await poll_service.send_reminders(database, later, enabled_channels=ALL_CHANNELS)
    assert len(made) == 1
    assert await poll_service.send_reminders(database, later, enabled_channels=ALL_CHANNELS) == []
    status = await broadcast_service.get_status(database, made[0])
    assert status["recipients"] == 1  # Ali only: Awa finished


async def test_reminder_sms_wait_for_the_end_of_quiet_hours(database):
    org = {"region": "gao", "organisation": "Réseau Gao", "kind": "reseau"}
    await add_member(database, "Awa", channel="sms", address="+22376000002", language="fr", **org)
    await add_member(database, "Ali", channel="telegram", address="9002", language="fr", **org)
    now = utcnow()
    await poll_service.save(database, capacity_poll(), "test", now)
    await poll_service.launch(
        database, "capacites-osc", "test", enabled_channels=ALL_CHANNELS, now=now
    )
    night = datetime.combine(now.date() + timedelta(days=4), time(23, 0), UTC)
    [made] = await poll_service.send_reminders(
        database, night, enabled_channels=ALL_CHANNELS, quiet_hours=parse_quiet_hours("21:00-08:00")
    )
    outbox = OutboxMessage.__table__
    async with database.sessions() as session:
        rows = dict(
            (
                await session.execute(
                    select(outbox.c.channel, outbox.c.next_attempt_at).where(
                        outbox.c.broadcast_id == made
                    )
                )
            ).all()
        )
    assert rows["telegram"] == night
    assert rows["sms"] == datetime.combine(night.date() + timedelta(days=1), time(8, 0), UTC)


async def test_a_poll_opened_by_the_scheduler_at_night_holds_its_sms_till_morning(database):
    from dataclasses import replace

    from broadcasts.polls import editing

    org = {"region": "gao", "organisation": "Réseau Gao", "kind": "reseau"}
    await add_member(database, "Awa", channel="sms", address="+22376000003", language="fr", **org)
    await add_member(database, "Ali", channel="telegram", address="9003", language="fr", **org)
    night = datetime.combine(utcnow().date() + timedelta(days=2), time(2, 0), UTC)
    poll = replace(capacity_poll(), opens_at=night, closes_at=night + timedelta(days=20))
    await poll_service.save(database, poll, "test", utcnow())
    await editing.schedule(database, "capacites-osc", True, "test", utcnow())
    quiet = parse_quiet_hours("21:00-08:00")
    [made] = await editing.open_due(
        database, night, enabled_channels=ALL_CHANNELS, quiet_hours=quiet
    )
    outbox = OutboxMessage.__table__
    async with database.sessions() as session:
        rows = dict(
            (
                await session.execute(
                    select(outbox.c.channel, outbox.c.next_attempt_at).where(
                        outbox.c.broadcast_id == made
                    )
                )
            ).all()
        )
    assert rows["telegram"] == night  # Telegram is not held back
    assert rows["sms"] == datetime.combine(night.date(), time(8, 0), UTC)


async def test_a_cli_or_api_save_makes_a_console_editors_older_revision_stale(database):
    """The CLI and the API save a draft by its file; a console editor who opened the draft
    before is then told "modifié entre-temps" instead of saving over that change."""
    import pytest

    from broadcasts.polls import editing
    from storage.poll_drafts import PollChanged

    now = utcnow()
    opened = await editing.save_draft(database, capacity_poll(), "awa", now, None)
    await poll_service.save(database, capacity_poll(description="Par la CLI."), "cli:ops", now)
    with pytest.raises(PollChanged):
        await editing.save_draft(database, capacity_poll(), "awa", now, opened["revision"])
    row = await poll_service.poll_row(database, capacity_poll().slug)
    assert row.definition["description"] == "Par la CLI." and row.updated_by == "cli:ops"
