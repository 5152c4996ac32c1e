"""Migrated template databases: Alembic runs once per test process (per xdist worker), and each
test gets a copy of the result instead of migrating its own database (0.2–1.5 s each on a loaded
box, the suite's largest fixed cost).

- SQLite: a migrated file in a temporary folder, copied (0600, as `private_file` makes it).
- PostgreSQL: a migrated database that nobody stays connected to, cloned with
  `CREATE DATABASE … TEMPLATE …`. Dropping a database makes PostgreSQL checkpoint (about a second
  under load): the drops go to a thread of their own, so tests do not wait for them, and
  `cleanup()` (at the end of the session) waits for the last one.

The migrations themselves still run for real: on each template, in the tests that ask for a
freshly migrated database (tests/storage/test_storage.py), and in every `benkadi serve` started
on a new directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from storage.database import Database, normalise_url
from storage.migrate import upgrade

_lock = threading.Lock()
_sqlite: Path | None = None
_postgresql: dict[str, str] = {}  # admin URL → template database name
_dropper: _Dropper | None = None


def aside(work: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run async set-up in its own thread and loop, leaving the test's loop alone."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()


async def migrate(url: str) -> None:
    database = Database(url)
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()


def migrated_sqlite() -> Path:
    """This process's migrated SQLite file (made on first use)."""
    global _sqlite
    with _lock:
        if _sqlite is None:
            path = Path(tempfile.mkdtemp(prefix="benkadi-template-")) / "migrated.db"
            aside(lambda: migrate(f"sqlite:///{path}"))
            # Disposed: the WAL is checkpointed into the file and removed, so the file is whole.
            assert not path.with_name(path.name + "-wal").exists()
            _sqlite = path
        return _sqlite


def copy_migrated_sqlite(path: Path) -> None:
    """A migrated database at `path`, owner-only like the app makes it."""
    shutil.copyfile(migrated_sqlite(), path)
    os.chmod(path, 0o600)


def sqlite_url_migrated(url: str) -> None:
    """Copy the template to a SQLite URL's file when the file does not exist yet."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.exists():
        copy_migrated_sqlite(path)


async def admin_connection(url: str) -> asyncpg.Connection:
    parsed = make_url(normalise_url(url))
    return await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, password=parsed.password,
        database=parsed.database or "postgres",
    )  # fmt: skip


def with_database(url: str, name: str) -> str:
    return make_url(normalise_url(url)).set(database=name).render_as_string(hide_password=False)


def migrated_postgresql(admin_url: str) -> str:
    """This process's migrated template database on the server of `admin_url` (its name)."""
    with _lock:
        if admin_url not in _postgresql:
            name = f"benkadi_template_{uuid.uuid4().hex[:12]}"

            async def make() -> None:
                admin = await admin_connection(admin_url)
                try:
                    await admin.execute(f'CREATE DATABASE "{name}"')
                finally:
                    await admin.close()
                await migrate(with_database(admin_url, name))

            aside(make)
            _postgresql[admin_url] = name
        return _postgresql[admin_url]


class _Dropper:
    """Drops databases one after the other in a thread of its own."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.names: queue.Queue[str | None] = queue.Queue()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        asyncio.run(self._drop_all())

    async def _drop_all(self) -> None:
        admin = await admin_connection(self.admin_url)
        try:
            while (name := await asyncio.to_thread(self.names.get)) is not None:
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except Exception as error:  # reported by cleanup(), at the session's end
                    self.errors.append(error)
        finally:
            await admin.close()

    def close(self) -> None:
        self.names.put(None)
        self.thread.join(timeout=120)


def drop_later(admin_url: str, name: str) -> None:
    global _dropper
    with _lock:
        if _dropper is None:
            _dropper = _Dropper(admin_url)
        _dropper.names.put(name)


def cleanup() -> None:
    """Wait for the drops, drop the templates, remove the SQLite template (session end)."""
    global _sqlite, _dropper
    with _lock:
        dropper, _dropper = _dropper, None
        templates = dict(_postgresql)
        _postgresql.clear()
        sqlite, _sqlite = _sqlite, None
    errors: list[BaseException] = []
    if dropper is not None:
        dropper.close()
        errors += dropper.errors
    for admin_url, name in templates.items():

        async def drop(admin_url: str = admin_url, name: str = name) -> None:
            admin = await admin_connection(admin_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()

        aside(drop)
    if sqlite is not None:
        with contextlib.suppress(OSError):
            shutil.rmtree(sqlite.parent)
    if errors:
        raise RuntimeError(f"could not drop test databases: {errors!r}")
