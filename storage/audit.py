"""The audit log: who did what, when. Written in the caller's transaction, so an action and
its record commit (or vanish) together."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import Database
from storage.models import AuditEntry
from storage.types import utcnow

audit_log = AuditEntry.__table__


async def record(
    connection: AsyncConnection,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await connection.execute(
        audit_log.insert().values(
            at=utcnow(), actor=actor, action=action, target=target, details=details or {}
        )
    )


async def entries(database: Database, limit: int = 100) -> list[dict[str, Any]]:
    """The latest entries, newest first."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    async with database.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [{**row, "at": row["at"].isoformat()} for row in rows]
