"""INSERT … ON CONFLICT for whichever database is in use."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def dialect_insert(connection: AsyncConnection, table: Any):
    """The dialect's INSERT, which knows ON CONFLICT (both SQLite and PostgreSQL do)."""
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    return module.insert(table)


def insert_ignore(
    connection: AsyncConnection, table: Any, conflict_columns: list[str]
):
    """An insert that skips rows violating the unique key on `conflict_columns`."""
    return dialect_insert(connection, table).on_conflict_do_nothing(index_elements=conflict_columns)
