"""Campaign rows: which campaign-years are switched on, and which messages became broadcasts.

Once only. A due message first claims its row in campaign_broadcasts, unique on (campaign,
message, year), with INSERT … ON CONFLICT DO NOTHING; only the transaction that inserted goes
on to make the broadcast, and links it to the claim before it commits. A restart, a second
scheduler, or a crash half-way (nothing committed) can never make a second broadcast for the
same message and year.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import Broadcast, CampaignBroadcast, CampaignYear
from storage.upsert import insert_ignore, upsert

broadcasts = Broadcast.__table__
campaign_broadcasts, campaign_years = CampaignBroadcast.__table__, CampaignYear.__table__
Ident = tuple[str, str, int]  # (campaign, message, year)


async def enabled_years(
    connection: AsyncConnection, pairs: Collection[tuple[str, int]]
) -> dict[tuple[str, int], bool]:
    """(campaign, year) → switched on, for the pairs that have a row (no row: off)."""
    if not pairs:
        return {}
    names, years = {name for name, _ in pairs}, {year for _, year in pairs}
    rows = await connection.execute(
        select(campaign_years.c.campaign, campaign_years.c.year, campaign_years.c.enabled).where(
            campaign_years.c.campaign.in_(names), campaign_years.c.year.in_(years)
        )
    )
    return {(name, year): enabled for name, year, enabled in rows}


async def is_enabled(connection: AsyncConnection, name: str, year: int) -> bool:
    return bool(
        await connection.scalar(
            select(campaign_years.c.enabled).where(
                campaign_years.c.campaign == name, campaign_years.c.year == year
            )
        )
    )


async def set_enabled(
    connection: AsyncConnection, name: str, year: int, enabled: bool, actor: str, now: datetime
) -> bool:
    """Switch a campaign-year on or off; returns whether it was on."""
    was = await is_enabled(connection, name, year)
    await connection.execute(
        upsert(
            connection,
            campaign_years,
            ("campaign", "year"),
            ("enabled", "changed_by", "changed_at"),
        ).values(campaign=name, year=year, enabled=enabled, changed_by=actor, changed_at=now)
    )
    return was


async def made(
    connection: AsyncConnection, names: Collection[str], years: Collection[int]
) -> dict[Ident, int | None]:
    """(campaign, message, year) → broadcast id, for what was already made."""
    if not names:
        return {}
    rows = await connection.execute(
        select(
            campaign_broadcasts.c.campaign,
            campaign_broadcasts.c.message,
            campaign_broadcasts.c.year,
            campaign_broadcasts.c.broadcast_id,
        ).where(
            campaign_broadcasts.c.campaign.in_(list(names)),
            campaign_broadcasts.c.year.in_(list(years)),
        )
    )
    return {(name, key, year): broadcast_id for name, key, year, broadcast_id in rows}


async def claim(connection: AsyncConnection, ident: Ident, now: datetime) -> int | None:
    """The claim row's id, or None when the message was made already (by anyone, ever)."""
    name, key, year = ident
    result = await connection.execute(
        insert_ignore(connection, campaign_broadcasts, ["campaign", "message", "year"])
        .values(campaign=name, message=key, year=year, created_at=now)
        .returning(campaign_broadcasts.c.id)
    )
    return result.scalar_one_or_none()


async def link(connection: AsyncConnection, claim_id: int, broadcast_id: int) -> None:
    await connection.execute(
        update(campaign_broadcasts)
        .where(campaign_broadcasts.c.id == claim_id)
        .values(broadcast_id=broadcast_id)
    )


async def broadcast_states(
    connection: AsyncConnection, ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """Broadcast id → its status and recipients."""
    if not ids:
        return {}
    rows = await connection.execute(
        select(broadcasts.c.id, broadcasts.c.status, broadcasts.c.recipients).where(
            broadcasts.c.id.in_(list(ids))
        )
    )
    return {row.id: {"status": row.status, "recipients": row.recipients} for row in rows}
