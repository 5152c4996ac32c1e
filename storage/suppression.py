"""The erasure suppression list: addresses whose person erased themselves (OUBLIER), so that
nothing the coordination does later — a directory import, its invitation, a LIER link code —
writes to them again. In GBV work the one who asked to be forgotten may have done so for their
safety; a national directory imported next year that still lists the number must not undo it.

Only what the purpose needs is kept: for each address, an HMAC-SHA256 under the deployment's
secret (gateway/secret.py; a phone number has too few possibilities for a plain hash: without
the key, the list names nobody), the key's short id (to notice a changed key) and the day. The
person lifts it themselves: that address registering again, with consent (bot/effects.py).

Addresses are normalised as the rest of Benkadi keeps them: a phone number in E.164 (one entry
for SMS and WhatsApp alike), a Telegram chat id, a Telegram username in lower case without @.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.channels import PHONE_CHANNELS
from storage.models import ErasureSuppression
from storage.upsert import insert_ignore

suppressions = ErasureSuppression.__table__
CHUNK = 500
PHONE, TELEGRAM, USERNAME = "phone", "telegram", "telegram_username"


def kind_of(channel: str) -> str:
    """What an address of this channel is: one phone number for SMS and WhatsApp alike."""
    return PHONE if channel in PHONE_CHANNELS else channel


@dataclass(frozen=True)
class SuppressionKey:
    """The secret the hashes are made with (bytes, from the deployment; never stored here)."""

    secret: bytes

    def digest(self, kind: str, value: str) -> str:
        message = f"{kind}\0{value.strip()}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, b"benkadi key id", hashlib.sha256).hexdigest()[:16]


async def suppress(
    connection: AsyncConnection,
    key: SuppressionKey,
    entries: Iterable[tuple[str, str]],
    now: datetime,
) -> None:
    """Put these (kind, value) on the list, dated today; one already there stays as it is."""
    rows = [
        {"digest": key.digest(kind, value), "key_id": key.key_id, "erased_on": now.date()}
        for kind, value in dict.fromkeys(entries)
        if value
    ]
    if rows:
        await connection.execute(insert_ignore(connection, suppressions, ["digest"]), rows)


async def suppressed(
    connection: AsyncConnection, key: SuppressionKey, entries: Iterable[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (kind, value) are on the list."""
    by_digest = {key.digest(kind, value): (kind, value) for kind, value in entries}
    digests = sorted(by_digest)
    found: set[tuple[str, str]] = set()
    for start in range(0, len(digests), CHUNK):
        query = select(suppressions.c.digest).where(
            suppressions.c.digest.in_(digests[start : start + CHUNK])
        )
        found.update(by_digest[digest] for digest in await connection.scalars(query))
    return found


async def is_suppressed(
    connection: AsyncConnection, key: SuppressionKey, kind: str, value: str
) -> bool:
    return bool(await suppressed(connection, key, [(kind, value)]))


async def lift(
    connection: AsyncConnection, key: SuppressionKey, entries: Iterable[tuple[str, str]]
) -> int:
    """The person came back themselves: these addresses leave the list. Returns how many did."""
    digests = [key.digest(kind, value) for kind, value in entries]
    if not digests:
        return 0
    result = await connection.execute(
        delete(suppressions).where(suppressions.c.digest.in_(digests))
    )
    return int(result.rowcount or 0)


async def other_keys(connection: AsyncConnection, key: SuppressionKey) -> int:
    """Entries made under another key (the deployment's secret changed): they can no longer be
    matched, so the people they stand for are no longer protected. Said by every import."""
    query = select(func.count()).where(suppressions.c.key_id != key.key_id)
    return int(await connection.scalar(query) or 0)
