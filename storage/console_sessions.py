"""Console sessions kept in the database: the cookie carries a random id, this table the rest.

Only the SHA-256 of the id is stored, so a copy of the database opens no session. Ending the
sessions of an account or a token (sign-out, new password, disabled, revoked) is a DELETE.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database
from storage.models import ConsoleSession
from storage.types import utcnow

sessions = ConsoleSession.__table__


def digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def principal(kind: str, principal_id: int) -> str:
    return f"{kind}:{principal_id}"


async def load(database: Database, session_id: str) -> dict[str, Any] | None:
    query = select(sessions.c.data).where(sessions.c.id == digest(session_id))
    async with database.sessions() as db_session:
        return (await db_session.execute(query)).scalar_one_or_none()


async def save(
    database: Database,
    session_id: str,
    data: dict[str, Any],
    who: str | None,
    *,
    create: bool,
    idle: timedelta,
) -> None:
    """Write a session; a new one also clears the sessions idle for longer than `idle`."""
    now = utcnow()
    key = digest(session_id)
    async with database.transaction() as connection:
        if create:
            await connection.execute(delete(sessions).where(sessions.c.seen_at < now - idle))
            await connection.execute(
                sessions.insert().values(
                    id=key, principal=who, data=data, created_at=now, seen_at=now
                )
            )
        else:  # a session ended meanwhile (signed out elsewhere) is not brought back
            await connection.execute(
                update(sessions)
                .where(sessions.c.id == key)
                .values(data=data, principal=who, seen_at=now)
            )


async def forget(database: Database, session_id: str) -> None:
    async with database.transaction() as connection:
        await connection.execute(delete(sessions).where(sessions.c.id == digest(session_id)))


async def end_all(connection: AsyncConnection, who: str) -> int:
    """End every session of an account or token, in the caller's transaction."""
    result = await connection.execute(delete(sessions).where(sessions.c.principal == who))
    return result.rowcount or 0
