"""`benkadi polls schedule|unschedule SLUG`: a stored draft opens by itself on its opening date
(the scheduler inside `benkadi serve`), or no longer; refused, named, when it could never open."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from broadcasts.polls import editing
from broadcasts.polls import service as poll_service
from storage import audit
from tests.polls.conftest import capacity_poll


async def test_schedule_and_unschedule_a_poll_from_the_cli(benkadi, sqlite_database):
    now = datetime.now(UTC)
    opens = (now + timedelta(days=3)).replace(microsecond=0)
    poll = replace(capacity_poll(), opens_at=opens, closes_at=opens + timedelta(days=10))
    await poll_service.save(sqlite_database, poll, "test", now)
    code, out, _ = await benkadi("polls", "schedule", "capacites-osc")
    assert code == 0 and out.startswith(
        f"Poll capacites-osc opens by itself at {opens.isoformat()}"
    )
    assert (await poll_service.poll_row(sqlite_database, "capacites-osc")).open_on_schedule
    code, out, _ = await benkadi("polls", "unschedule", "capacites-osc")
    assert code == 0 and "no longer opens by itself" in out
    assert not (await poll_service.poll_row(sqlite_database, "capacites-osc")).open_on_schedule
    actions = [e["action"] for e in await audit.entries(sqlite_database)]
    assert actions[:2] == ["poll.unschedule", "poll.schedule"]
    assert all(e["actor"].startswith("cli:") for e in (await audit.entries(sqlite_database))[:2])
    assert await editing.open_due(sqlite_database, opens, enabled_channels=("sms",)) == []


async def test_a_poll_that_could_never_open_is_refused(benkadi, sqlite_database):
    await poll_service.save(
        sqlite_database, replace(capacity_poll(), opens_at=None), "t", datetime.now(UTC)
    )
    code, _, err = await benkadi("polls", "schedule", "capacites-osc")
    assert code == 2 and "no opening date" in err
    code, _, err = await benkadi("polls", "schedule", "nope")
    assert code == 2 and "no poll nope" in err


async def test_a_draft_is_not_closed(benkadi, sqlite_database):
    """Closing a draft would leave a poll that can never be launched: refused, nothing changed."""
    await poll_service.save(sqlite_database, capacity_poll(), "t", datetime.now(UTC))
    before = (await poll_service.poll_row(sqlite_database, "capacites-osc")).closes_at
    code, _, err = await benkadi("polls", "close", "capacites-osc")
    assert code == 2 and "not launched: there is nothing to close" in err
    assert (await poll_service.poll_row(sqlite_database, "capacites-osc")).closes_at == before
    assert [e for e in await audit.entries(sqlite_database) if e["action"] == "poll.close"] == []
