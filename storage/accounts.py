"""Console accounts: one per person, a role, an argon2 hash of the password; audited.

Signing in answers the same for an unknown user and a wrong password, and costs the same time
(a dummy hash is checked when there is no such user), so usernames cannot be probed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from bot.vocabulary.errors import FieldError
from bot.vocabulary.i18n import LANGUAGES, SOURCE_LANGUAGE
from storage import audit, console_sessions
from storage.database import Database
from storage.models import ConsoleAccount
from storage.tokens import ROLES
from storage.types import utcnow

accounts = ConsoleAccount.__table__
hasher = PasswordHasher()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
_dummy_hash: str | None = None  # see dummy_hash()


class Account(NamedTuple):
    id: int
    username: str
    name: str
    role: str
    languages: tuple[str, ...] = ()  # a translator's languages


def _languages(stored: str | None) -> tuple[str, ...]:
    return tuple(code for code in (stored or "").split(",") if code)


def check_languages(role: str, languages: Sequence[str]) -> str | None:
    """How a translator's languages are stored ("ff,ses"); None for the other roles."""
    chosen = list(dict.fromkeys(code.strip() for code in languages if code.strip()))
    translated = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
    wrong = [code for code in chosen if code not in translated]
    if wrong:
        raise FieldError("languages", f"{', '.join(wrong)}: not one of {', '.join(translated)}")
    if role != "translator":
        if chosen:
            raise FieldError("languages", "only a translator has languages")
        return None
    if not chosen:
        raise FieldError("languages", f"a translator needs one or more of {', '.join(translated)}")
    return ",".join(chosen)


def clean_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise FieldError("username", "2-64 of a-z 0-9 . _ -, starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD or len(password) > 200:
        raise FieldError("password", f"must be {MIN_PASSWORD}-200 characters")
    return password


async def dummy_hash() -> str:
    """The hash checked when there is no such user. Made once, off the event loop, when the
    console starts (gateway/console/auth.py): not at import, which every `benkadi` command and
    child dispatcher would pay for (argon2's cost, about 50 ms of CPU, up to a second under load)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await asyncio.to_thread(hasher.hash, "not a password anybody has")
    return _dummy_hash


async def _hash(password: str) -> str:
    return await asyncio.to_thread(hasher.hash, password)  # ~50 ms of CPU: off the event loop


async def create_account(
    database: Database,
    username: str,
    name: str,
    role: str,
    password: str,
    actor: str,
    languages: Sequence[str] = (),
) -> Account:
    username = clean_username(username)
    name = (name or "").strip()
    if not name or len(name) > 100 or not name.isprintable():
        raise FieldError("name", "must be 1-100 printable characters")
    if role not in ROLES:
        raise FieldError("role", f"must be one of {', '.join(ROLES)}")
    stored_languages = check_languages(role, languages)
    password_hash = await _hash(check_password(password))
    async with database.transaction() as connection:
        taken = await connection.scalar(
            select(accounts.c.id).where(accounts.c.username == username)
        )
        if taken is not None:
            raise FieldError("username", "is already taken")
        now = utcnow()
        account_id = (
            await connection.execute(
                accounts.insert()
                .values(
                    username=username,
                    name=name,
                    role=role,
                    languages=stored_languages,
                    password_hash=password_hash,
                    created_at=now,
                    password_changed_at=now,
                )
                .returning(accounts.c.id)
            )
        ).scalar_one()
        await audit.record(
            connection,
            actor,
            "account.create",
            f"account:{username}",
            {"role": role, **({"languages": stored_languages} if stored_languages else {})},
        )
    return Account(account_id, username, name, role, _languages(stored_languages))


async def set_password(database: Database, username: str, password: str, actor: str) -> None:
    username = clean_username(username)
    password_hash = await _hash(check_password(password))
    async with database.transaction() as connection:
        account_id = (
            await connection.execute(
                update(accounts)
                .where(accounts.c.username == username)
                .values(password_hash=password_hash, password_changed_at=utcnow())
                .returning(accounts.c.id)
            )
        ).scalar_one_or_none()
        if account_id is None:
            raise FieldError("username", f"no account {username!r}")
        # Whoever signed in with the old password (or copied a cookie) is out now.
        await console_sessions.end_all(
            connection, console_sessions.principal("account", account_id)
        )
        await audit.record(connection, actor, "account.password", f"account:{username}")


async def set_disabled(database: Database, username: str, disabled: bool, actor: str) -> bool:
    """Disable (or enable again) an account; True if it changed. A disabled account's
    sessions end now."""
    username = clean_username(username)
    async with database.transaction() as connection:
        row = (
            await connection.execute(
                select(accounts.c.id, accounts.c.disabled_at).where(accounts.c.username == username)
            )
        ).one_or_none()
        if row is None:
            raise FieldError("username", f"no account {username!r}")
        if (row.disabled_at is not None) == disabled:
            return False
        await connection.execute(
            update(accounts)
            .where(accounts.c.id == row.id)
            .values(disabled_at=utcnow() if disabled else None)
        )
        if disabled:
            await console_sessions.end_all(
                connection, console_sessions.principal("account", row.id)
            )
        action = "account.disable" if disabled else "account.enable"
        await audit.record(connection, actor, action, f"account:{username}")
    return True


async def list_accounts(database: Database) -> list[dict[str, Any]]:
    columns = [column for column in accounts.c if column.name != "password_hash"]
    async with database.sessions() as session:
        rows = (await session.execute(select(*columns).order_by(accounts.c.username))).mappings()
        return [dict(row) for row in rows]


async def verify(database: Database, username: str, password: str) -> Account | None:
    """The account if the password is right and the account active; None otherwise."""
    try:
        username = clean_username(username)
    except FieldError:
        username = ""
    async with database.sessions() as session:
        row = (
            await session.execute(
                select(accounts).where(
                    accounts.c.username == username, accounts.c.disabled_at.is_(None)
                )
            )
        ).one_or_none()
    stored = row.password_hash if row is not None else await dummy_hash()
    try:
        await asyncio.to_thread(hasher.verify, stored, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    async with database.transaction() as connection:
        values: dict[str, Any] = {"last_login_at": utcnow()}
        if hasher.check_needs_rehash(stored):
            values["password_hash"] = await _hash(password)
        await connection.execute(update(accounts).where(accounts.c.id == row.id).values(**values))
    return Account(row.id, row.username, row.name, row.role, _languages(row.languages))


async def current(database: Database, account_id: int) -> Account | None:
    """The account as it is now (role changes and disabling take effect at the next page)."""
    query = select(
        accounts.c.id, accounts.c.username, accounts.c.name, accounts.c.role, accounts.c.languages
    ).where(accounts.c.id == account_id, accounts.c.disabled_at.is_(None))
    async with database.sessions() as session:
        row = (await session.execute(query)).one_or_none()
    return Account(*row[:4], _languages(row[4])) if row is not None else None
