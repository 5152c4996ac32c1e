"""A campaign year as edited in the console, over its shipped file: the year's theme, a
message's day moved, a message added (or removed again), and the year's revision.

Every edit of a year (these, its texts in storage.campaign_texts, its approval) first raises
the year's revision with UPDATE … WHERE revision = the one the editor started from (as the
poll editor does, storage.poll_drafts): a save over someone else's is refused
("modifié entre-temps") before anything is written, so nothing is saved half-way. Rows here
are plain data (dicts and dates) with the year's edited texts; broadcasts.campaigns.edits makes
them a campaign's year.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.errors import Conflict
from storage import audit
from storage.models import CampaignMessageEdit, CampaignText, CampaignYear
from storage.upsert import insert_ignore, upsert

years, edits = CampaignYear.__table__, CampaignMessageEdit.__table__
texts_table = CampaignText.__table__


class CampaignYearChanged(Conflict):
    """Someone saved the year since the editor opened it: nothing was saved."""


@dataclass(frozen=True)
class YearRows:
    """What the database holds for one campaign-year, beyond its texts."""

    revision: int = 0
    theme: dict[str, str] | None = None
    moved: dict[str, date] = field(default_factory=dict)  # slot key → its day this year
    added: dict[str, tuple[date, dict[str, Any]]] = field(default_factory=dict)  # key → def
    texts: dict[str, dict[str, str]] = field(default_factory=dict)  # key → edited texts


def target(name: str, year: int) -> str:
    return f"campaign:{name}:{year}"


async def bump(
    connection: AsyncConnection,
    name: str,
    year: int,
    expected: int | None,
    actor: str,
    now: datetime,
) -> int:
    """The year's revision raised by one, or CampaignYearChanged when `expected` (the revision
    the editor started from; None: not checked, the API's older callers) is not current."""
    await connection.execute(
        insert_ignore(connection, years, ["campaign", "year"]).values(
            campaign=name, year=year, enabled=False, changed_by=actor, changed_at=now, revision=0
        )
    )
    statement = update(years).where(years.c.campaign == name, years.c.year == year)
    if expected is not None:
        statement = statement.where(years.c.revision == expected)
    row = (
        await connection.execute(
            statement.values(revision=years.c.revision + 1).returning(years.c.revision)
        )
    ).one_or_none()
    if row is None:
        raise CampaignYearChanged(
            f"campaign {name} {year} was changed meanwhile (revision {expected} is no longer "
            "current): nothing was saved",
            field="revision",
        )
    return int(row.revision)


async def revision(connection: AsyncConnection, name: str, year: int) -> int:
    found = await connection.scalar(
        select(years.c.revision).where(years.c.campaign == name, years.c.year == year)
    )
    return int(found or 0)


async def year_rows(
    connection: AsyncConnection, names: Collection[str], wanted: Collection[int]
) -> dict[tuple[str, int], YearRows]:
    """(campaign, year) → its edits, for the pairs that have any."""
    if not names or not wanted:
        return {}
    found: dict[tuple[str, int], dict[str, Any]] = {}
    rows = await connection.execute(
        select(years.c.campaign, years.c.year, years.c.revision, years.c.theme).where(
            years.c.campaign.in_(list(names)), years.c.year.in_(list(wanted))
        )
    )
    for name, year, rev, theme in rows:
        found[(name, year)] = {"revision": rev or 0, "theme": theme or None, "moved": {},
                               "added": {}, "texts": {}}  # fmt: skip
    rows = await connection.execute(
        select(edits).where(edits.c.campaign.in_(list(names)), edits.c.year.in_(list(wanted)))
    )
    for row in rows:
        entry = found.setdefault(
            (row.campaign, row.year),
            {"revision": 0, "theme": None, "moved": {}, "added": {}, "texts": {}},
        )
        if row.added:
            entry["added"][row.message] = (row.day, dict(row.definition or {}))
        else:
            entry["moved"][row.message] = row.day
    rows = await connection.execute(
        select(texts_table.c.campaign, texts_table.c.year, texts_table.c.message,
               texts_table.c.texts).where(
            texts_table.c.campaign.in_(list(names)), texts_table.c.year.in_(list(wanted))
        )
    )  # fmt: skip
    for name, year, message, texts in rows:
        if (name, year) in found:  # an approved year always has its row (campaign_years)
            found[(name, year)]["texts"][message] = dict(texts)
    return {key: YearRows(**value) for key, value in found.items()}


async def set_theme(
    connection: AsyncConnection, name: str, year: int, theme: dict[str, str] | None, actor: str
) -> None:
    """The year's theme (None: the file's again); the year's approval is withdrawn, since
    every text holding {theme} changes with it."""
    await connection.execute(
        update(years)
        .where(years.c.campaign == name, years.c.year == year)
        .values(theme=theme, approved_by=None, approved_at=None)
    )
    details = {"languages": sorted(theme or {})}
    await audit.record(connection, actor, "campaign.theme", target(name, year), details)


async def move(
    connection: AsyncConnection,
    name: str,
    year: int,
    message: str,
    day: date,
    was: date,
    added: bool,
    actor: str,
    now: datetime,
) -> None:
    """The message's day this year (the approval stays: its texts are unchanged)."""
    if added:
        await connection.execute(
            update(edits)
            .where(edits.c.campaign == name, edits.c.year == year, edits.c.message == message)
            .values(day=day, changed_by=actor, changed_at=now)
        )
    else:
        await connection.execute(
            upsert(
                connection, edits, ("campaign", "message", "year"),
                ("day", "changed_by", "changed_at"),
            ).values(campaign=name, message=message, year=year, added=False, day=day,
                     definition=None, changed_by=actor, changed_at=now)
        )  # fmt: skip
    details = {"message": message, "from": was.isoformat(), "to": day.isoformat()}
    await audit.record(connection, actor, "campaign.move", target(name, year), details)


async def add(
    connection: AsyncConnection,
    name: str,
    year: int,
    message: str,
    day: date,
    definition: dict[str, Any],
    actor: str,
    now: datetime,
) -> None:
    """A message added to the year; the year's approval is withdrawn (a new text to read)."""
    await connection.execute(
        edits.insert().values(campaign=name, message=message, year=year, added=True, day=day,
                              definition=definition, changed_by=actor, changed_at=now)
    )  # fmt: skip
    await connection.execute(
        update(years)
        .where(years.c.campaign == name, years.c.year == year)
        .values(approved_by=None, approved_at=None)
    )
    details = {"message": message, "day": day.isoformat(),
               "languages": sorted(definition.get("texts", {}))}  # fmt: skip
    await audit.record(connection, actor, "campaign.add", target(name, year), details)


async def remove(
    connection: AsyncConnection, name: str, year: int, message: str, actor: str
) -> None:
    """An added message taken out of the year again, with its edited texts."""
    await connection.execute(
        delete(edits).where(
            edits.c.campaign == name, edits.c.year == year, edits.c.message == message,
            edits.c.added.is_(True),
        )
    )  # fmt: skip
    await connection.execute(
        delete(texts_table).where(
            texts_table.c.campaign == name, texts_table.c.year == year,
            texts_table.c.message == message,
        )
    )  # fmt: skip
    await audit.record(connection, actor, "campaign.remove", target(name, year),
                       {"message": message})  # fmt: skip
