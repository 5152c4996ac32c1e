"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a running app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage.database import Database, normalise_url
from storage.migrate import upgrade

PG_URL = os.environ.get("BENKADI_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


async def _pg_admin(url: str) -> asyncpg.Connection:
    parsed = make_url(normalise_url(url))
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database=parsed.database or "postgres",
    )  # fmt: skip


async def database_url_for(backend: str, tmp_path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'benkadi.db'}"
        return
    assert PG_URL
    name = f"benkadi_test_{uuid.uuid4().hex[:12]}"
    admin = await _pg_admin(PG_URL)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield str(
            make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
        )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=BACKENDS)
async def database(request, tmp_path) -> AsyncIterator[Database]:
    """A migrated, empty database on every configured backend."""
    async for url in database_url_for(request.param, tmp_path):
        db = Database(url)
        await upgrade(db.engine)
        try:
            yield db
        finally:
            await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path) -> AsyncIterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'benkadi.db'}")
    await upgrade(db.engine)
    yield db
    await db.dispose()


@pytest.fixture
async def harness(tmp_path):
    from tests.harness import start_harness, stop_harness

    running, runner = await start_harness(f"sqlite:///{tmp_path / 'benkadi.db'}")
    yield running
    await stop_harness(running, runner)


@pytest.fixture(autouse=True)
def shipped_catalogs():
    """Texts a test saved as in the console override the catalogs process-wide: each test
    starts from the shipped ones."""
    yield
    from bot.vocabulary import i18n
    from storage import translations

    i18n.set_overrides({})
    translations.forget()
