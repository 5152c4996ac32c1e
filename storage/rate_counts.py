"""Counts per key and clock hour, shared by every process: limits on what unauthenticated input
can make Benkadi send (link-code SMS, replies to one SMS sender), and the refusals themselves,
for the administrators (`benkadi limits`, the console's audit page).

A key that would name a person carries a hash of the number or chat instead (`hashed`), and
rows older than a day are cleared as new ones come, so the table keeps no history of anyone.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database
from storage.models import RateCount

rates = RateCount.__table__
KEPT = timedelta(days=1)
REFUSED = "refused:"  # the prefix of refusal counters


def hashed(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


def hour_of(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


async def take(connection: AsyncConnection, key: str, limit: int, now: datetime) -> bool:
    """Count one more under `key` this hour if fewer than `limit` were; False (nothing counted)
    once the limit is reached. One statement, so concurrent takers cannot both get the last."""
    if limit <= 0:
        return False
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        module.insert(rates)
        .values(key=key, window_start=hour_of(now), count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": rates.c.count + 1},
            where=rates.c.count < limit,
        )
        .returning(rates.c.count)
    )
    return (await connection.execute(statement)).first() is not None


async def count(connection: AsyncConnection, key: str, now: datetime) -> None:
    """One more under `key` this hour, without a limit (refusals), clearing day-old rows."""
    await connection.execute(delete(rates).where(rates.c.window_start < hour_of(now) - KEPT))
    await take(connection, key, 2**31 - 1, now)


async def refusals(database: Database, since: datetime) -> dict[str, int]:
    """Refusals per reason since then ("link.country": 4, ...), for the administrators."""
    query = (
        select(rates.c.key, func.sum(rates.c.count))
        .where(rates.c.key.startswith(REFUSED), rates.c.window_start >= hour_of(since))
        .group_by(rates.c.key)
        .order_by(rates.c.key)
    )
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    return {key[len(REFUSED) :]: int(total) for key, total in rows}


async def forget(connection: AsyncConnection, keys: list[str]) -> None:
    """Erase the counts under these keys (a member's numbers, when they are erased)."""
    if keys:
        await connection.execute(delete(rates).where(rates.c.key.in_(keys)))
