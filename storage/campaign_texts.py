"""Campaign texts edited for a year, and the year's approval.

A message's texts for a year may be changed in the console (language → text, over the shipped
file's); the year's texts are then approved by someone (who and when, audited). A campaign
message goes out only in an approved year, and changing a text withdraws the approval, so what
is sent is always what someone approved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import audit
from storage.models import CampaignText, CampaignYear
from storage.upsert import insert_ignore, upsert

texts_table, years = CampaignText.__table__, CampaignYear.__table__


def target(name: str, year: int) -> str:
    return f"campaign:{name}:{year}"


async def overrides(connection: AsyncConnection, name: str, year: int) -> dict[str, dict[str, str]]:
    """Message key → the texts changed for the year."""
    rows = await connection.execute(
        select(texts_table.c.message, texts_table.c.texts).where(
            texts_table.c.campaign == name, texts_table.c.year == year
        )
    )
    return {key: dict(texts) for key, texts in rows}


async def save_texts(
    connection: AsyncConnection,
    name: str,
    message: str,
    year: int,
    texts: dict[str, str],
    actor: str,
    now: datetime,
) -> None:
    """The message's texts for the year; the year's approval is withdrawn."""
    await connection.execute(
        upsert(
            connection, texts_table, ("campaign", "message", "year"),
            ("texts", "changed_by", "changed_at"),
        ).values(campaign=name, message=message, year=year, texts=texts, changed_by=actor,
                 changed_at=now)
    )  # fmt: skip
    await connection.execute(
        update(years)
        .where(years.c.campaign == name, years.c.year == year)
        .values(approved_by=None, approved_at=None)
    )
    details = {"message": message, "languages": sorted(texts)}
    await audit.record(connection, actor, "campaign.texts", target(name, year), details)


async def approve(
    connection: AsyncConnection, name: str, year: int, actor: str, now: datetime
) -> None:
    """The year's texts approved (the year stays off if it was off)."""
    await connection.execute(
        insert_ignore(connection, years, ["campaign", "year"]).values(
            campaign=name, year=year, enabled=False, changed_by=actor, changed_at=now
        )
    )
    await connection.execute(
        update(years)
        .where(years.c.campaign == name, years.c.year == year)
        .values(approved_by=actor, approved_at=now)
    )
    await audit.record(connection, actor, "campaign.approve", target(name, year))


async def approval(connection: AsyncConnection, name: str, year: int) -> Any:
    """(approved_by, approved_at) of the year, or None when its texts are not approved."""
    row = (
        await connection.execute(
            select(years.c.approved_by, years.c.approved_at).where(
                years.c.campaign == name, years.c.year == year
            )
        )
    ).one_or_none()
    return row if row is not None and row.approved_at is not None else None
