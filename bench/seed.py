"""Seeding many members at once, for benchmarks and large tests.

Set-based: one INSERT … SELECT per table over a generated sequence (a recursive CTE on SQLite,
generate_series on PostgreSQL), so 100,000 members take three INSERTs and about a second,
never one statement per row.

Member n (1-based, in insertion order) gets:

* a consent date, region ``REGIONS[n % 20]``, one of a few theme sets, and language ``bm`` for
  about `bambara_share` of members (``fr`` otherwise);
* an SMS number ``+223`` followed by 8 digits derived from its member id (unique);
* for about `telegram_share` of members, also a Telegram chat id (``7`` followed by the member id
  on 9 digits). A broadcast prefers Telegram, so those members are reached there.

Who has Telegram follows the member id (``id % 100``), who speaks Bambara the position in the
run, so two runs with the same arguments seed the same membership; `SeedResult` says how many of
each there are.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, text

from storage.database import Database
from storage.types import UTCDateTime

REGIONS = (
    "bamako", "kayes", "koulikoro", "sikasso", "segou", "mopti", "tombouctou", "gao", "kidal",
    "menaka", "taoudenit", "nioro", "kita", "dioila", "nara", "bougouni", "koutiala", "san",
    "douentza", "bandiagara",
)  # fmt: skip
THEME_SETS = ('["vbg"]', '["vbg", "sante"]', '["jeunesse", "education"]', '["participation"]')
SEEDED_AT = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
SMS_BASE = 60_000_000  # +223 6xxxxxxx / 7xxxxxxx: room for 39 million members
TELEGRAM_BASE = 7_000_000_000


@dataclass(frozen=True)
class SeedResult:
    members: int
    sms_addresses: int
    telegram_addresses: int
    bambara: int
    first_member_id: int
    last_member_id: int
    seconds: float


def sms_number(member_id: int) -> str:
    return f"+223{SMS_BASE + member_id}"


def telegram_chat(member_id: int) -> str:
    return str(TELEGRAM_BASE + member_id)


def _sequence(dialect: str) -> str:
    if dialect == "sqlite":
        return (
            "(WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
            "WHERE n < :count) SELECT n FROM seq) AS seq"
        )
    return "generate_series(1, :count) AS seq(n)"


def _statements(dialect: str, telegram_percent: int, bambara_percent: int) -> list[str]:
    regions = " ".join(f"WHEN {i} THEN '{region}'" for i, region in enumerate(REGIONS))
    json_cast = "" if dialect == "sqlite" else "::json"  # SQLite's CAST AS JSON would be numeric
    themes = " ".join(f"WHEN {i} THEN '{value}'{json_cast}" for i, value in enumerate(THEME_SETS))
    members = f"""
        INSERT INTO members (name, region, themes, language, consent_at, registered_at,
                             updated_at)
        SELECT 'Membre ' || (:before + n),
               CASE n % {len(REGIONS)} {regions} END,
               CASE n % {len(THEME_SETS)} {themes} END,
               CASE WHEN (n * 37) % 100 < {bambara_percent} THEN 'bm' ELSE 'fr' END,
               :at, :at, :at
        FROM {_sequence(dialect)}
        ORDER BY n"""
    sms = f"""
        INSERT INTO addresses (channel, address, member_id, created_at)
        SELECT 'sms', '+223' || CAST({SMS_BASE} + id AS TEXT), id, :at
        FROM members WHERE id > :before_id ORDER BY id"""
    telegram = f"""
        INSERT INTO addresses (channel, address, member_id, created_at)
        SELECT 'telegram', CAST({TELEGRAM_BASE} + id AS TEXT), id, :at
        FROM members WHERE id > :before_id AND id % 100 < {telegram_percent} ORDER BY id"""
    return [members, sms, telegram]


async def seed_members(
    database: Database,
    count: int,
    *,
    telegram_share: float = 0.3,
    bambara_share: float = 0.5,
) -> SeedResult:
    """Add `count` consenting members with their addresses, in one transaction."""
    if count < 1:
        raise ValueError("count must be at least 1")
    started = time.perf_counter()
    dialect = database.engine.dialect.name
    telegram_percent = round(telegram_share * 100)
    bambara_percent = round(bambara_share * 100)
    timestamp = bindparam("at", type_=UTCDateTime())
    async with database.transaction() as connection:
        before_id = await connection.scalar(text("SELECT coalesce(max(id), 0) FROM members"))
        before_count = await connection.scalar(text("SELECT count(*) FROM members"))
        members, sms, telegram = (
            text(sql).bindparams(timestamp)
            for sql in _statements(dialect, telegram_percent, bambara_percent)
        )
        params = {"count": count, "before": before_count, "before_id": before_id, "at": SEEDED_AT}
        await connection.execute(members, params)
        sms_rows = (await connection.execute(sms, params)).rowcount
        telegram_rows = (await connection.execute(telegram, params)).rowcount
        first, last, bambara = (
            await connection.execute(
                text(
                    "SELECT min(id), max(id), sum(CASE WHEN language = 'bm' THEN 1 ELSE 0 END) "
                    "FROM members WHERE id > :before_id"
                ),
                {"before_id": before_id},
            )
        ).one()
    return SeedResult(
        members=count,
        sms_addresses=sms_rows,
        telegram_addresses=telegram_rows,
        bambara=int(bambara or 0),
        first_member_id=first,
        last_member_id=last,
        seconds=round(time.perf_counter() - started, 3),
    )
