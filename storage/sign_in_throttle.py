"""Console sign-in throttling kept in the database, so several processes and a restart share it.

An attempt reserves its place before the password is checked: in one transaction it counts
itself as a failure under each of its keys and takes the next free moment of each key's
schedule (`not_before`). Concurrent guesses thus queue exactly as sequential ones would, instead
of all being checked at once with the delay their arrival saw. A success gives the reservation
back (see `succeeded`). Keys are hashed: an address is personal data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.database import Database
from storage.models import SignInThrottle
from storage.upsert import insert_ignore

throttle = SignInThrottle.__table__


def hashed(key: str) -> str:
    kind, _, value = key.partition(":")
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:40]}"


async def reserve(
    database: Database,
    delays: Mapping[str, Callable[[int], float]],
    now: datetime,
    window: timedelta,
    max_wait: timedelta,
) -> datetime | None:
    """The moment this attempt may be checked (counted as a failure meanwhile), or None when
    that is more than `max_wait` away (refused, not counted). `delays` gives, per key, the wait
    after so many failures; failures are forgotten `window` after a key's last attempt."""
    keys = {hashed(key): delay for key, delay in delays.items()}
    async with database.transaction() as connection:
        await connection.execute(delete(throttle).where(throttle.c.last_at < now - window))
        await connection.execute(
            insert_ignore(connection, throttle, ["key"]),
            [
                {"key": key, "failures": 0, "not_before": now, "last_at": now}
                for key in sorted(keys)
            ],
        )
        rows = (
            await connection.execute(
                select(throttle)
                .where(throttle.c.key.in_(sorted(keys)))
                .order_by(throttle.c.key)
                .with_for_update()  # PostgreSQL: one reservation per key at a time
            )
        ).all()
        slot = now
        for row in rows:
            # A free attempt is checked on arrival; past those, each waits its delay after the
            # later of its arrival and the turn of the attempt before it.
            wait = keys[row.key](row.failures)
            if wait > 0:
                slot = max(slot, max(now, row.not_before) + timedelta(seconds=wait))
        if slot - now > max_wait:
            return None
        for row in rows:
            await connection.execute(
                update(throttle)
                .where(throttle.c.key == row.key)
                .values(
                    failures=row.failures + 1, not_before=max(slot, row.not_before), last_at=slot
                )
            )
    return slot


async def succeeded(database: Database, cleared: list[str], given_back: list[str]) -> None:
    """The password was right: the `cleared` keys (that person's) start afresh; the others
    (the address's) get this attempt's reservation back."""
    async with database.transaction() as connection:
        if cleared:
            await connection.execute(
                delete(throttle).where(throttle.c.key.in_([hashed(key) for key in cleared]))
            )
        if given_back:
            await connection.execute(
                update(throttle)
                .where(throttle.c.key.in_([hashed(key) for key in given_back]))
                .where(throttle.c.failures > 0)
                .values(failures=throttle.c.failures - 1)
            )
