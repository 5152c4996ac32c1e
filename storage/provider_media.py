"""Photos a provider still holds, to be deleted there (Twilio keeps WhatsApp/MMS media until its
Media resource is deleted; Telegram's files cannot be deleted by a bot and are not listed here).

A row is added when the photo comes in (bot/service.py), due `UNCLAIMED_HOLD` later: a photo
no report takes (sent outside a report, a report never confirmed) is deleted at the provider
then. It is made due at once in the transaction that makes Benkadi stop needing the photo
there: it was saved on disk (cleaned), refused (not an image, too large), or forgotten by an
erasure or a purge before it was fetched. A photo a report still waits for (its fetch due or
being retried) is never deleted at the provider. `gateway/inbound/media.py` deletes them at the provider; failures
wait longer each time (30 s … 6 h) and the error stays on the row until it succeeds. A row holds
the provider's media address (sids, no content, no phone number) and, until it is deleted
there, the id of the address it came from: that person's erasure makes it due at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import Row, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import ProviderMedia, Report
from storage.upsert import insert_ignore

provider_media, reports = ProviderMedia.__table__, Report.__table__
DELETABLE = frozenset({"twilio"})  # the kinds of media a provider lets Benkadi delete
UNCLAIMED_HOLD = timedelta(days=3)  # a photo no report took: deleted at the provider then
RETRY_BASE = timedelta(seconds=30)
RETRY_MAX = timedelta(hours=6)


async def sent_by_erased(
    connection: AsyncConnection, address_ids: list[int], now: datetime
) -> None:
    """Their senders erased themselves: whatever the provider still holds of theirs goes now, and
    the rows no longer say whose it was."""
    if address_ids:
        await connection.execute(
            update(provider_media)
            .where(provider_media.c.address_id.in_(address_ids))
            .values(address_id=None, next_attempt_at=now)
        )


async def to_delete(
    connection: AsyncConnection,
    refs: Iterable[tuple[str | None, str | None]],
    now: datetime,
    at: datetime | None = None,
    address_id: int | None = None,
) -> int:
    """Ask for these (kind, ref) to be deleted at their provider at `at` (now by default), or
    sooner if already asked for sooner; other kinds are skipped; a ref is one row. `address_id`:
    the sender, whose erasure makes it due at once (sent_by_erased)."""
    when = at or now
    rows = [
        {
            "kind": kind,
            "ref": ref,
            "attempts": 0,
            "next_attempt_at": when,
            "created_at": now,
            "address_id": address_id,
        }
        for kind, ref in refs
        if kind in DELETABLE and ref
    ]
    if not rows:
        return 0
    await connection.execute(insert_ignore(connection, provider_media, ["ref"]), rows)
    await connection.execute(
        update(provider_media)
        .where(
            provider_media.c.ref.in_([row["ref"] for row in rows]),
            provider_media.c.next_attempt_at > when,
        )
        .values(next_attempt_at=when)
    )
    return len(rows)


async def due(connection: AsyncConnection, now: datetime, limit: int = 20) -> list[Row]:
    query = (
        select(
            provider_media.c.id,
            provider_media.c.kind,
            provider_media.c.ref,
            provider_media.c.attempts,
        )
        .where(
            provider_media.c.next_attempt_at <= now,
            ~exists().where(  # a report still waiting for it: its fetch is due or retried
                reports.c.media_ref == provider_media.c.ref,
                reports.c.media_path.is_(None),
                reports.c.media_next_attempt_at.is_not(None),
            ),
        )
        .order_by(provider_media.c.next_attempt_at)
        .limit(limit)
    )
    return list(await connection.execute(query))


async def deleted(connection: AsyncConnection, row_id: int) -> None:
    """The provider said the media is gone: nothing left to ask."""
    await connection.execute(delete(provider_media).where(provider_media.c.id == row_id))


async def failed(
    connection: AsyncConnection, row_id: int, attempts: int, error: str, now: datetime
) -> None:
    wait = min(RETRY_BASE * 2 ** min(attempts, 20), RETRY_MAX)
    await connection.execute(
        update(provider_media)
        .where(provider_media.c.id == row_id)
        .values(attempts=attempts + 1, next_attempt_at=now + wait, error=error[:500])
    )


async def pending(connection: AsyncConnection) -> list[Row]:
    """Every media still to delete, oldest first (the CLI, the register's figures, tests)."""
    query = select(provider_media).order_by(provider_media.c.id)
    return list(await connection.execute(query))
