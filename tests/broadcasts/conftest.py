"""Fixtures for the broadcast tests: fast databases, and a small membership covering every
targeting rule, seeded with Core inserts."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import make_url

from storage.database import Database, normalise_url
from storage.migrate import upgrade
from storage.models import Address, Base, Member, Organisation, OutboxMessage
from storage.types import utcnow
from tests import templates
from tests.conftest import BACKENDS, PG_URL, _pg_admin


def _aside(work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run async set-up in its own thread and loop, leaving pytest-asyncio's loops alone."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


async def _migrate(url: str) -> None:
    database = Database(url)
    await upgrade(database.engine)
    await database.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite() -> Path:
    return templates.migrated_sqlite()  # the session's template (tests/templates.py)


@pytest.fixture(scope="session")
def migrated_postgresql() -> Iterator[str]:
    assert PG_URL
    name = f"benkadi_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await _pg_admin(PG_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    _aside(lambda: admin(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
    try:
        _aside(lambda: _migrate(url))
        yield url
    finally:
        _aside(lambda: admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
async def database(request, tmp_path) -> AsyncIterator[Database]:
    """Like tests/conftest.py's: a migrated, empty database on every configured backend; but
    migrated once per session (a copied file on SQLite, emptied tables on PostgreSQL), which
    keeps these many small tests fast."""
    if request.param == "sqlite":
        path = tmp_path / "benkadi.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        db = Database(f"sqlite:///{path}")
    else:
        db = Database(request.getfixturevalue("migrated_postgresql"))
        async with db.transaction() as connection:  # cheaper than TRUNCATE for a few rows
            for table in reversed(Base.metadata.sorted_tables):
                await connection.execute(delete(table))
    try:
        yield db
    finally:
        await db.dispose()


ALL_CHANNELS = frozenset({"sms", "whatsapp", "telegram"})
# Bambara with ɛ ɔ ɲ: UCS-2, 2 segments as written; GSM-7, 1 segment in the older spelling.
BAMBARA = (
    "Ɲɔgɔnye bɛ kɛ Bamako novanburukalo tile 25. Musow ka jɛ ka kɛlɛ kɛ fangajuguw kɔrɔ. "
    "An bɛ aw makɔnɔ!"
)
EARLY = datetime(2024, 1, 10, tzinfo=UTC)
CONSENT = datetime(2024, 1, 10, 9, tzinfo=UTC)

ORGANISATIONS = {
    "ONG Kènèya": "ong_nationale",
    "Association Musow": "association",
    "Réseau Paix": "reseau",
}


@dataclass(frozen=True)
class Person:
    name: str
    region: str
    themes: list[str] | None  # None: a JSON null, which the theme filter must survive
    language: str
    organisation: str | None
    addresses: tuple[tuple[str, str, str | None], ...]  # (channel, address, mark)
    consent: bool = True
    registered_at: datetime = EARLY
    erased: bool = False
    sex: str | None = None
    age_band: str | None = None
    invitation: str | None = None  # imported: "invited" (no answer) or "refused"


MEMBERSHIP = (
    Person("Awa", "bamako", ["vbg"], "fr", "ONG Kènèya", (("sms", "+22376000001", None),), sex="f", age_band="15-24"),
    Person(
        "Binta", "bamako", ["sante", "jeunesse"], "bm", "Association Musow",
        (("sms", "+22376000002", None), ("telegram", "1002", None)), sex="f", age_band="25-35",
    ),
    Person(
        "Coumba", "kayes", ["vbg", "participation"], "bm", "Association Musow",
        (("sms", "+22376000003", None), ("whatsapp", "+22376000003", None)), sex="m", age_band="15-24",
    ),
    Person("Djeneba", "kayes", ["economie"], "ff", "Réseau Paix", (("sms", "+22376000004", "opted_out"),)),
    Person("Fatoumata", "sikasso", ["vbg"], "ses", "ONG Kènèya", (("telegram", "1005", "blocked"),)),
    Person("Hawa", "sikasso", ["climat"], "fr", None, (("sms", "+22376000006", "invalid"),)),
    Person("Kadiatou", "segou", ["vbg"], "fr", "ONG Kènèya", (("sms", "+22376000007", None),), consent=False, sex="f", age_band="15-24"),
    Person("Mariam", "segou", ["education"], "bm", "Réseau Paix", (("sms", "+22376000008", None),), erased=True),
    Person(
        "Nana", "mopti", ["vbg", "education"], "en", "Association Musow",
        (("whatsapp", "+22376000009", None), ("telegram", "1009", None)), sex="f", age_band="36+",
    ),
    Person(
        "Oumou", "mopti", [], "fr", "ONG Kènèya",
        (("telegram", "1010", "opted_out"), ("sms", "+22376000010", None)),
    ),
    Person("Rokia", "gao", None, "bm", "Réseau Paix", ()),
    Person(
        "Salimata", "tombouctou", ["vbg"], "ff", "Association Musow",
        (("sms", "+22376000012", None), ("sms", "+22366000012", None)),
        registered_at=datetime(2026, 3, 1, tzinfo=UTC),
    ),
    Person(
        "Tenin", "kayes", ["sante"], "fr", "ONG Kènèya",
        (("whatsapp", "+22376000013", "opted_out"), ("sms", "+22376000013", "invalid")),
        registered_at=datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
    ),
    Person(
        "Yaye", "bamako", ["jeunesse"], "bm", "Association Musow",
        (("telegram", "1014", "blocked"), ("sms", "+22376000014", "invalid"),
         ("whatsapp", "+22376000014", "invalid")),
    ),
    Person(
        "Zeinab", "kidal", ["vbg"], "ses", None, (("telegram", "1015", None),),
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),  # midnight in Bamako, exactly
        sex="f",
    ),
    # Imported from the directory: invited, and never answered; invited, and said STOP.
    Person("Assa", "nioro", ["economie"], "fr", None, (("sms", "+22376000016", None),), consent=False, invitation="invited", sex="f", age_band="15-24"),
    Person("Bintou", "nioro", ["economie"], "fr", None, (("sms", "+22376000017", "opted_out"),), consent=False, invitation="refused", sex="f", age_band="15-24"),
)  # fmt: skip

MARK_COLUMNS = {"opted_out": "opted_out_at", "blocked": "blocked_at", "invalid": "invalid_at"}


async def seed_membership(database: Database) -> dict[str, int]:
    """Insert MEMBERSHIP (and a stranger's address with no member); returns name → member id."""
    organisations, members = Organisation.__table__, Member.__table__
    addresses = Address.__table__
    ids: dict[str, int] = {}
    async with database.transaction() as connection:
        organisation_ids = {}
        for name, kind in ORGANISATIONS.items():
            organisation_ids[name] = await connection.scalar(
                organisations.insert()
                .values(name=name, name_key=name.lower(), kind=kind, listed=True)
                .returning(organisations.c.id)
            )
        for person in MEMBERSHIP:
            ids[person.name] = member_id = await connection.scalar(
                members.insert()
                .values(
                    name=person.name,
                    region=person.region,
                    themes=person.themes,
                    language=person.language,
                    organisation_id=organisation_ids.get(person.organisation or ""),
                    consent_at=CONSENT if person.consent else None,
                    registered_at=person.registered_at,
                    erased_at=EARLY if person.erased else None,
                    sex=person.sex,
                    age_band=person.age_band,
                    imported_at=EARLY if person.invitation else None,
                    invited_at=EARLY if person.invitation else None,
                    refused_at=EARLY if person.invitation == "refused" else None,
                )
                .returning(members.c.id)
            )
            for channel, address, mark in person.addresses:
                # Everyone wrote a moment ago: WhatsApp members are inside the 24 h window (the
                # window's own tests are in tests/broadcasts/test_whatsapp.py).
                values = {
                    "channel": channel,
                    "address": address,
                    "member_id": member_id,
                    "last_inbound_at": utcnow(),
                }
                if mark:
                    values[MARK_COLUMNS[mark]] = EARLY
                await connection.execute(addresses.insert().values(**values))
        await connection.execute(
            addresses.insert().values(channel="sms", address="+22370000000", member_id=None)
        )
    return ids


@pytest.fixture
async def membership(database) -> dict[str, int]:
    return await seed_membership(database)


async def outbox_rows(database: Database, broadcast_id: int) -> list:
    """The broadcast's outbox rows with each member's name, ordered by name."""
    outbox, members = OutboxMessage.__table__, Member.__table__
    query = (
        select(outbox, members.c.name)
        .join(members, members.c.id == outbox.c.member_id)
        .where(outbox.c.broadcast_id == broadcast_id)
        .order_by(members.c.name)
    )
    async with database.sessions() as session:
        return list((await session.execute(query)).all())


async def count_outbox(database: Database) -> int:
    async with database.sessions() as session:
        return await session.scalar(select(func.count()).select_from(OutboxMessage))


async def seed_many(database: Database, count: int) -> None:
    """`count` consenting members in set-based statements: each with an SMS number, every
    third with Telegram too, every seventh's SMS opted out. For scale tests and benchmarks."""
    numbers = (
        f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) "
        "SELECT n FROM s) AS seq"
        if database.is_sqlite
        else f"generate_series(1, {count}) AS seq(n)"
    )
    # SQLite keeps timestamps as text (as SQLAlchemy writes them); PostgreSQL needs the type
    # where a CASE would otherwise make the literal text.
    when = "'2024-01-10 00:00:00'" if database.is_sqlite else "TIMESTAMPTZ '2024-01-10 00:00Z'"
    statements = (
        f"""INSERT INTO members (name, region, themes, language, consent_at, registered_at,
            updated_at)
        SELECT 'm' || n, CASE n % 3 WHEN 0 THEN 'kayes' WHEN 1 THEN 'bamako' ELSE 'sikasso' END,
            '["vbg", "sante"]', CASE n % 3 WHEN 0 THEN 'fr' WHEN 1 THEN 'bm' ELSE 'ff' END,
            {when}, {when}, {when}
        FROM {numbers}""",
        f"""INSERT INTO addresses (channel, address, member_id, opted_out_at, created_at)
        SELECT 'sms', '+223' || (70000000 + id), id,
            CASE WHEN id % 7 = 0 THEN {when} END, {when}
        FROM members""",
        f"""INSERT INTO addresses (channel, address, member_id, created_at)
        SELECT 'telegram', CAST(1000000 + id AS TEXT), id, {when} FROM members WHERE id % 3 = 0""",
    )
    async with database.transaction() as connection:
        for statement in statements:
            await connection.execute(text(statement))


async def truncate(database: Database) -> None:
    """Empty every table at once: after a bulk test, cheaper than the fixture's DELETEs."""
    if not database.is_sqlite:  # each SQLite test has its own file
        names = ", ".join(table.name for table in Base.metadata.sorted_tables)
        async with database.transaction() as connection:
            await connection.execute(text(f"TRUNCATE {names} CASCADE"))
