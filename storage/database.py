"""One engine factory: SQLite (WAL) by default, PostgreSQL (asyncpg) from a URL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA synchronous=NORMAL",  # safe with WAL: a power cut may lose the last commits, not corrupt
)


def normalise_url(url: str) -> str:
    """Accept the URLs people paste (postgres://, sqlite:///file) and pick the async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        url = "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


def make_engine(url: str, *, immediate: bool = True) -> AsyncEngine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # Every use ends in COMMIT or ROLLBACK (engine.begin()), so the pool's own rollback on
    # check-in would be one more round trip to the database thread for nothing.
    engine = create_async_engine(url, pool_reset_on_return=None)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn) -> None:
        # Writers take the write lock up front: a deferred transaction that reads then writes
        # can fail with "database is locked" instead of waiting when another process writes.
        # Readers begin deferred: in WAL mode they never block a writer, nor wait for one.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """The engine, a session factory, and (on SQLite) one writer at a time in this process."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # Reads (previews, status pages, exports) go through their own engine on SQLite so a
        # long one does not hold the write lock; on PostgreSQL one engine does both.
        self.read_engine = make_engine(self.url, immediate=False) if self.is_sqlite else self.engine
        self.sessions = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer; queueing here is fairer and faster than its busy-wait loop.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in one transaction: committed on success, rolled back on error.

        The hot paths (webhooks, dispatcher) use Core statements on it: several times cheaper
        than the ORM's unit of work for the few rows each message touches.
        """
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self.engine.begin() as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def session_transaction(self) -> AsyncIterator[AsyncSession]:
        """An ORM session in one transaction, for code where objects read better than rows."""
        lock = self._write_lock or contextlib.nullcontext()
        async with lock, self._write_sessions() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()
