"""Fixtures for the campaign tests: the broadcast tests' fast databases and membership, a
directory of campaign files, and helpers to look at what the scheduler made."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from broadcasts.campaigns import service as campaign_service
from broadcasts.campaigns.files import CAMPAIGNS_DIR
from broadcasts.quiet_hours import parse_quiet_hours
from storage.database import Database
from storage.models import Broadcast, CampaignBroadcast, OutboxMessage
from tests.broadcasts.conftest import (  # noqa: F401 - fixtures, found by name
    ALL_CHANNELS,
    database,
    membership,
    migrated_postgresql,
    migrated_sqlite,
)
from tests.gateway.test_api import app_harness, tokens  # noqa: F401 - fixtures, found by name

QUIET = parse_quiet_hours("21:00-08:00")
SHIPPED = (
    "16-jours",
    "8-mars",
    "femme-africaine",
    "fille",
    "resolution-1325",
    "violence-sexuelle-conflits",
)

# A small campaign for the service tests: one fixed day, an offset from it, a 3-day range.
SMALL = """\
name = "essai"
title = "Campagne d'essai"
date = "03-08"
send_time = "09:00"

[years.2026]
theme = { fr = "Investir dans les femmes", bm = "Ka nafolo bila musow la" }

[[messages]]
key = "rappel"
offset = -7
send_time = "10:00"
[messages.texts]
fr = \"\"\"
Le 8 mars approche.
Thème {year} : {theme}\"\"\"
bm = "Marisikalo tile 8 surunyara."
en = "8 March is coming."

[[messages]]
key = "jour"
date = "03-08"
texts = { fr = "Bonne journée du 8 mars !", bm = "Musow ka don diman!" }

[[messages]]
key = "semaine"
range = { first = "03-09", last = "03-11" }
texts = { fr = "Jour {day} sur {days} après le 8 mars." }
"""


def at(*args: int) -> datetime:
    """A moment in Bamako, which is UTC all year."""
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def campaigns_dir(tmp_path) -> Path:
    directory = tmp_path / "campaigns"
    directory.mkdir()
    (directory / "essai.toml").write_text(SMALL, "utf-8")
    return directory


@pytest.fixture
def shipped() -> campaign_service.Calendar:
    calendar = campaign_service.load_directory(CAMPAIGNS_DIR)
    assert calendar.errors == []
    return calendar


async def enable(db: Database, calendar, name: str, year: int) -> None:
    """Switched on and its texts approved: what a campaign-year needs to go out."""
    await campaign_service.set_enabled(db, calendar, name, year, True, "test")
    await approve(db, name, year)


async def approve(db: Database, name: str, year: int) -> None:
    from datetime import UTC, datetime

    from storage import campaign_texts

    async with db.transaction() as connection:
        await campaign_texts.approve(connection, name, year, "test", datetime.now(UTC))


async def made(db: Database) -> list:
    """(campaign, message, year, broadcast id) of every campaign broadcast, in order made."""
    rows = CampaignBroadcast.__table__
    async with db.sessions() as session:
        result = await session.execute(
            select(rows.c.campaign, rows.c.message, rows.c.year, rows.c.broadcast_id).order_by(
                rows.c.id
            )
        )
        return [tuple(row) for row in result]


async def broadcast_rows(db: Database) -> list:
    async with db.sessions() as session:
        table = Broadcast.__table__
        return list((await session.execute(select(table).order_by(table.c.id))).all())


async def outbox_of(db: Database, broadcast_id: int) -> list:
    table = OutboxMessage.__table__
    async with db.sessions() as session:
        return list(
            (
                await session.execute(
                    select(table).where(table.c.broadcast_id == broadcast_id).order_by(table.c.id)
                )
            ).all()
        )
