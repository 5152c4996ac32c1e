"""One engine factory: SQLite (WAL) by default, PostgreSQL (asyncpg) from a URL."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
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
    "PRAGMA secure_delete=ON",  # what is deleted (OUBLIER) is overwritten, not left in free pages
)
ERASURE = "benkadi_erasure"  # connection.info key: checkpoint the WAL once this commits

logger = logging.getLogger(__name__)


def mark_erasure(connection: AsyncConnection) -> None:
    """This transaction erases personal data: once it commits, the SQLite WAL is checkpointed
    and truncated, so the erased rows' old pages do not linger in it (nothing on PostgreSQL)."""
    connection.info[ERASURE] = True


def private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only (0600, its folder 0700 if made here):
    SQLite gives the -wal and -shm files the database file's permissions."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


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
    # A database error's message would quote the statement's values (a member's name, a
    # message's text) into the log that records it: its SQL only, never the values.
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        private_file(Path(parsed.database))
    # Every use ends in COMMIT or ROLLBACK (engine.begin()), so the pool's own rollback on
    # check-in would be one more round trip to the database thread for nothing.
    engine = create_async_engine(url, pool_reset_on_return=None, hide_parameters=True)

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
        async with lock:
            async with self.engine.begin() as connection:
                connection.info.pop(ERASURE, None)  # the pooled connection's, from before
                yield connection
                erased = connection.info.pop(ERASURE, False)
            if erased and self.is_sqlite:
                await self.checkpoint()

    async def writes_done(self) -> None:
        """Wait for the write in flight in this process, and the checkpoint that follows an
        erasure, to finish (SQLite's writes queue on one lock; PostgreSQL: nothing to wait)."""
        if self._write_lock is not None:
            async with self._write_lock:
                pass

    async def checkpoint(self) -> bool:
        """Copy the WAL into the database and truncate it to nothing (SQLite; outside any
        transaction, so on the raw connection). Whether it completed: a reader still on an old
        snapshot after busy_timeout makes SQLite give up ("busy"); the database file then keeps
        the old copy of an erased page until the next checkpoint, which is worth a warning. (Not
        retried here: writers wait while a checkpoint is pending.)"""
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy, *_pages = await cursor.fetchone() or (1,)
            await cursor.close()
        if busy:
            logger.warning("a WAL checkpoint after an erasure did not complete; the next one will")
        return not busy

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
