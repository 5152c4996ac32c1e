"""API/CLI credentials: issued once, kept only as a SHA-256 hash, revocable, audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any, NamedTuple

from sqlalchemy import or_, select, update

from bot.vocabulary.errors import FieldError, NotFound
from storage import audit, console_sessions
from storage.database import Database
from storage.models import AdminToken
from storage.types import utcnow

# Each may do what the ones before it may. A translator only edits the member-facing texts of
# their languages (console accounts only; ConsoleAccount.languages).
ROLES = ("translator", "viewer", "secretariat", "admin")
TOKEN_ROLES = ROLES[1:]  # a token has no languages: no translator tokens
PREFIX = "bk_"  # recognisable in a leaked config file or a secret scanner
MAX_NAME = 100  # "token:<name>" must fit the audit log's 200-character actor
LAST_USED_GRANULARITY = timedelta(minutes=1)  # no write lock taken on every request
tokens = AdminToken.__table__


class Principal(NamedTuple):
    id: int
    name: str
    role: str


class IssuedToken(NamedTuple):
    id: int
    name: str
    role: str
    token: str  # the only time it exists outside its holder's hands


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_name_and_role(name: object, role: object) -> tuple[str, str]:
    """The cleaned name and the role (as a form or a JSON body gave them, anything), or a
    FieldError naming what is wrong."""
    if not isinstance(role, str) or role not in TOKEN_ROLES:
        raise FieldError("role", f"must be one of {', '.join(TOKEN_ROLES)}")
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise FieldError("name", f"must be 1-{MAX_NAME} printable characters")
    return name, role


async def issue_token(
    database: Database, name: object, role: object, actor: str = "cli"
) -> IssuedToken:
    name, role = check_name_and_role(name, role)
    token = PREFIX + secrets.token_urlsafe(32)
    async with database.transaction() as connection:
        token_id = (
            await connection.execute(
                tokens.insert()
                .values(name=name, role=role, token_hash=hash_token(token), created_at=utcnow())
                .returning(tokens.c.id)
            )
        ).scalar_one()
        await audit.record(
            connection, actor, "token.create", f"token:{token_id}", {"name": name, "role": role}
        )
    return IssuedToken(token_id, name, role, token)


async def create_token(database: Database, name: str, role: str, actor: str = "cli") -> str:
    return (await issue_token(database, name, role, actor=actor)).token


async def authenticate(database: Database, token: str | None) -> Principal | None:
    """Who holds this token, or None (unknown, revoked, malformed).

    Timing-safe without compare_digest: the lookup is by the SHA-256 of what was presented, and
    nobody can steer that hash towards a stored one byte by byte.
    """
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    query = select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.last_used_at).where(
        tokens.c.token_hash == hash_token(token), tokens.c.revoked_at.is_(None)
    )
    async with database.sessions() as session:
        row = (await session.execute(query)).one_or_none()
    if row is None:
        return None
    now = utcnow()
    stale = now - LAST_USED_GRANULARITY
    if row.last_used_at is None or row.last_used_at < stale:
        async with database.transaction() as connection:
            await connection.execute(
                update(tokens)
                .where(
                    tokens.c.id == row.id,
                    or_(tokens.c.last_used_at.is_(None), tokens.c.last_used_at < stale),
                )
                .values(last_used_at=now)
            )
    return Principal(row.id, row.name, row.role)


async def revoke_token(database: Database, token_id: int, actor: str) -> bool:
    """True if revoked now, False if it already was; NotFound if there is no such token."""
    async with database.transaction() as connection:
        row = (
            await connection.execute(
                select(tokens.c.name, tokens.c.revoked_at).where(tokens.c.id == token_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound(f"no token {token_id}", field="id")
        if row.revoked_at is not None:
            return False
        await connection.execute(
            update(tokens).where(tokens.c.id == token_id).values(revoked_at=utcnow())
        )
        await console_sessions.end_all(connection, console_sessions.principal("token", token_id))
        await audit.record(
            connection, actor, "token.revoke", f"token:{token_id}", {"name": row.name}
        )
    return True


async def list_tokens(database: Database) -> list[dict[str, Any]]:
    """Every token, oldest first; never the hash."""
    columns = [column for column in tokens.c if column.name != "token_hash"]
    async with database.sessions() as session:
        rows = (await session.execute(select(*columns).order_by(tokens.c.id))).mappings().all()
    return [
        {
            key: value.isoformat() if hasattr(value, "isoformat") else value
            for key, value in row.items()
        }
        for row in rows
    ]
