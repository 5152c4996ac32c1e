"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and a running app."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from argon2 import PasswordHasher

from storage import accounts
from storage.database import Database
from storage.migrate import upgrade
from tests import templates

PG_URL = os.environ.get("BENKADI_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


async def _pg_admin(url: str) -> asyncpg.Connection:
    return await templates.admin_connection(url)


async def database_url_for(backend: str, tmp_path, *, migrated: bool = False) -> AsyncIterator[str]:
    """A new database's URL on `backend`, dropped afterwards. `migrated`: a copy of this
    process's migrated template (tests/templates.py) rather than an empty database."""
    if backend == "sqlite":
        path = tmp_path / "benkadi.db"
        if migrated:
            templates.copy_migrated_sqlite(path)
        yield f"sqlite:///{path}"
        return
    assert PG_URL
    name = f"benkadi_test_{uuid.uuid4().hex[:12]}"
    template = f' TEMPLATE "{templates.migrated_postgresql(PG_URL)}"' if migrated else ""
    admin = await _pg_admin(PG_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{template}')
    finally:
        await admin.close()
    try:
        yield templates.with_database(PG_URL, name)
    finally:
        templates.drop_later(PG_URL, name)  # PostgreSQL checkpoints: the test does not wait


# A console password hash costs argon2id's default (64 MiB, 3 passes, 4 lanes): about 50 ms of
# CPU, and up to a second on a loaded 2-core box, and the console tests sign in hundreds of
# times. In tests the same algorithm runs at its lowest cost (a hash records its own parameters:
# verifying is the same code); tests/console/test_accounts.py checks the production ones.
PRODUCTION_HASHER = accounts.hasher
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "hasher", CHEAP_HASHER)
        patch.setattr(accounts, "_dummy_hash", CHEAP_HASHER.hash("not a password anybody has"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _template_databases():
    """The migrated templates live for the session; the last drops are waited for here."""
    yield
    templates.cleanup()


@pytest.fixture(params=BACKENDS)
async def database(request, tmp_path) -> AsyncIterator[Database]:
    """A migrated, empty database on every configured backend (a copy of the migrated
    template: the migrations' own tests use `freshly_migrated_database`)."""
    async for url in database_url_for(request.param, tmp_path, migrated=True):
        db = Database(url)
        try:
            yield db
        finally:
            await db.dispose()


@pytest.fixture(params=BACKENDS)
async def freshly_migrated_database(request, tmp_path) -> AsyncIterator[Database]:
    """An empty database migrated by Alembic in this test, on every configured backend."""
    async for url in database_url_for(request.param, tmp_path):
        db = Database(url)
        await upgrade(db.engine)
        try:
            yield db
        finally:
            await db.dispose()


@pytest.fixture
async def sqlite_database(tmp_path) -> AsyncIterator[Database]:
    path = tmp_path / "benkadi.db"
    templates.copy_migrated_sqlite(path)
    db = Database(f"sqlite:///{path}")
    yield db
    await db.dispose()


@pytest.fixture
def benkadi(sqlite_database, capsys):
    """The `benkadi` command, run in this process on `sqlite_database`: (code, stdout, stderr)."""
    from gateway.settings import Settings
    from tests import cli

    async def run(*argv: str) -> tuple[int, str, str]:
        settings = Settings.from_env({"BENKADI_DATABASE_URL": sqlite_database.url})
        code = await cli.run(settings, *argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


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
