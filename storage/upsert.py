"""INSERT … ON CONFLICT for whichever database is in use."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_ignore(connection: AsyncConnection, table: Any, conflict_columns: list[str]):
    """An insert that skips rows violating the unique key on `conflict_columns`."""
    return _insert_ignore(connection.dialect.name, table, tuple(conflict_columns))


def upsert(
    connection: AsyncConnection,
    table: Any,
    conflict_columns: tuple[str, ...],
    update_columns: tuple[str, ...],
):
    """INSERT … ON CONFLICT DO UPDATE SET the given columns from the proposed row."""
    return _upsert(connection.dialect.name, table, conflict_columns, update_columns)


# Building these constructs (their `excluded` alias above all) costs more than running them;
# they are immutable, so each is built once per dialect and reused.
@functools.cache
def _insert_ignore(dialect: str, table: Any, conflict_columns: tuple[str, ...]):
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))


@functools.cache
def _upsert(
    dialect: str, table: Any, conflict_columns: tuple[str, ...], update_columns: tuple[str, ...]
):
    module = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table)
    excluded = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_={column: excluded[column] for column in update_columns},
    )
