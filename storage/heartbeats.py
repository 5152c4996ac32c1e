"""A dispatcher run on its own (`benkadi dispatch`, beside `serve --dispatch off`) writes its
health here every few seconds; `serve`'s readiness reads it back. No personal data: the report
holds loop and channel states only."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from storage.database import Database
from storage.models import DispatcherHeartbeat
from storage.upsert import upsert

beats = DispatcherHeartbeat.__table__
NAME = "dispatch"


async def beat(database: Database, report: dict[str, object], now: datetime) -> None:
    async with database.transaction() as connection:
        await connection.execute(
            upsert(connection, beats, ("name",), ("beat_at", "report")),
            {"name": NAME, "beat_at": now, "report": json.dumps(report)},
        )


async def last(database: Database) -> tuple[datetime, dict] | None:
    """When the dispatcher last reported, and what; None if it never did."""
    async with database.read_engine.connect() as connection:
        row = (
            await connection.execute(
                select(beats.c.beat_at, beats.c.report).where(beats.c.name == NAME)
            )
        ).first()
    return None if row is None else (row.beat_at, json.loads(row.report))
