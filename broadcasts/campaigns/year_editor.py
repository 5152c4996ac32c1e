"""A campaign-year edited from the console, the API or the CLI: its theme, a message's day, a
message added or removed; and the year as the database holds it (load_year), which the page,
the export and the scheduler read.

Each change is one transaction: the year's revision raised first (a save that names an older
revision is refused, "modifié entre-temps", before anything is written), then the change, then
its audit entry. A message already made (sent) is never moved nor removed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from bot.vocabulary.errors import Conflict
from broadcasts.campaigns import edits as pure
from broadcasts.campaigns import schedule
from broadcasts.campaigns.files import Calendar
from broadcasts.campaigns.model import Campaign
from broadcasts.campaigns.service import check_year
from broadcasts.campaigns.stored import with_edits
from broadcasts.model import BAMAKO
from storage import campaign_edits
from storage import campaigns as campaign_rows
from storage.database import Database


class MessageMade(Conflict):
    """The message became a broadcast already: its day and its place stay."""


def revision_of(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise pure.YearFieldError("revision", "must be the year's revision, a number", "shape")


async def load_year(database: Database, cal: Calendar, name: str, year: Any) -> Campaign:
    """The campaign with `year` as edited in the database."""
    campaign, year = cal.get(name), check_year(year)
    async with database.sessions() as session:
        connection = await session.connection()
        [edited] = await with_edits(connection, [campaign], [year])
    return edited


def _today(now: datetime) -> date:
    return now.astimezone(BAMAKO).date()


async def set_theme(
    database: Database, cal: Calendar, name: str, year: Any, theme: Any, actor: str,
    now: datetime, revision: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The year's theme per language (all empty: the file's again); withdraws the approval."""
    campaign = await load_year(database, cal, name, year)
    year, expected = check_year(year), revision_of(revision)
    checked = pure.checked_theme(campaign, year, theme)
    async with database.transaction() as connection:
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_edits.set_theme(connection, campaign.name, year, checked, actor)
    return {"campaign": campaign.name, "year": year, "theme": checked, "revision": new,
            "approved": False}  # fmt: skip


async def _made(connection: Any, name: str, key: str, year: int) -> bool:
    return (name, key, year) in await campaign_rows.made(connection, [name], [year])


async def move(
    database: Database, cal: Calendar, name: str, year: Any, message: str, day: Any,
    actor: str, now: datetime, revision: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """The message's day this year: a day of that year, from today on; not once it is made.
    The scheduler then sends it on the new day (once: its key is the same)."""
    campaign = await load_year(database, cal, name, year)
    year, expected = check_year(year), revision_of(revision)
    slots = {slot.key: slot for slot in schedule.schedule(campaign, year)}
    if message not in slots:
        raise pure.YearFieldError("message", f"{name} has no message {message!r} in {year}",
                                  "message")  # fmt: skip
    new_day = pure.checked_day(day, year, _today(now))
    added = message in campaign.edits_of(year).added_keys()
    async with database.transaction() as connection:
        if await _made(connection, campaign.name, message, year):
            raise MessageMade(f"{message} {year} was sent already: it cannot be moved")
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_edits.move(connection, campaign.name, year, message, new_day,
                                  slots[message].day, added, actor, now)  # fmt: skip
    return {"campaign": campaign.name, "year": year, "message": message,
            "day": new_day.isoformat(), "was": slots[message].day.isoformat(),
            "revision": new}  # fmt: skip


async def add(
    database: Database, cal: Calendar, name: str, year: Any, payload: Any, actor: str,
    now: datetime, revision: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """A message added to the year (key, title, day, send_time, audience, texts); withdraws
    the approval: it goes out only once the year's texts are approved again."""
    campaign = await load_year(database, cal, name, year)
    year, expected = check_year(year), revision_of(revision)
    if not isinstance(payload, Mapping):
        raise pure.YearFieldError("message", "must be an object: key, day, texts …", "shape")
    key, day, definition = pure.checked_message(campaign, year, payload, _today(now))
    async with database.transaction() as connection:
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_edits.add(connection, campaign.name, year, key, day, definition, actor,
                                 now)  # fmt: skip
    return {"campaign": campaign.name, "year": year, "message": key, "day": day.isoformat(),
            **definition, "revision": new, "approved": False}  # fmt: skip


async def remove(
    database: Database, cal: Calendar, name: str, year: Any, message: str, actor: str,
    now: datetime, revision: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """An added message taken out of the year, while it is not made."""
    campaign = await load_year(database, cal, name, year)
    year, expected = check_year(year), revision_of(revision)
    if message not in campaign.edits_of(year).added_keys():
        raise pure.YearFieldError(
            "message", f"{message!r} is not a message added to {name} {year}", "not_added"
        )
    async with database.transaction() as connection:
        if await _made(connection, campaign.name, message, year):
            raise MessageMade(f"{message} {year} was sent already: it stays")
        new = await campaign_edits.bump(connection, campaign.name, year, expected, actor, now)
        await campaign_edits.remove(connection, campaign.name, year, message, actor)
    return {"campaign": campaign.name, "year": year, "message": message, "removed": True,
            "revision": new}  # fmt: skip
