"""What a stranger's message can make Benkadi send by SMS, limited (part of the shell).

LIER sends a code to a number any Telegram user types: without limits that is SMS pumping, at
the coordination's cost. So link codes go only to the configured countries, to a number that is
not already another member's, and at most so many per hour per Telegram user, per number and in
all. Replies to one SMS sender are capped per hour too (a flood from one number, or a loop with
another robot). Counts are kept in the database (storage/rate_counts.py), so every process and
a restart share them; each refusal is counted there for the administrators.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.phones import calling_code
from storage import members as member_store
from storage import rate_counts, suppression

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmsLimits:
    countries: tuple[str, ...] = ("223",)  # calling codes link codes may go to (Mali)
    link_per_user: int = 3  # link codes per Telegram user per hour
    link_per_number: int = 3  # link codes to one number per hour
    link_per_hour: int = 30  # link codes in all per hour
    replies_per_sender: int = 30  # replies to one SMS number per hour


def address_key(kind: str, address: Row) -> str:
    return rate_counts.hashed(f"{kind}:{address.channel}", address.address)


def number_key(number: str) -> str:
    return rate_counts.hashed("link:number", number)


async def refuse_link_code(
    connection: AsyncConnection,
    limits: SmsLimits,
    number: str,
    sender: Row,
    member_id: int | None,
    now: datetime,
    erasure_key: suppression.SuppressionKey | None = None,
) -> str | None:
    """Why this link code must not be sent ("country", "erased", "taken", "user", "number",
    "overall"), counted; None when it may go (and it is counted against the limits).

    "erased": the number's person erased themselves (OUBLIER; storage/suppression.py). Whoever
    types it in Telegram gets no code sent to it, and is told only what "overall" says, so the
    answer does not reveal that the number was ever known."""
    reason: str | None = None
    if calling_code(number) not in limits.countries:
        reason = "country"
    elif erasure_key is not None and await suppression.is_suppressed(
        connection, erasure_key, suppression.PHONE, number
    ):
        reason = "erased"
    elif member_id is not None and (await member_store.phone_members(connection, number)) - {
        member_id
    }:
        reason = "taken"  # another member's number: joining the two is the secretariat's work
    elif not await rate_counts.take(
        connection, address_key("link:user", sender), limits.link_per_user, now
    ):
        reason = "user"
    elif not await rate_counts.take(connection, number_key(number), limits.link_per_number, now):
        reason = "number"
    elif not await rate_counts.take(connection, "link:all", limits.link_per_hour, now):
        reason = "overall"
    if reason is not None:
        await rate_counts.count(connection, f"{rate_counts.REFUSED}link.{reason}", now)
        log.info("link code refused: %s", reason)  # never the number
    return reason


async def may_reply(
    connection: AsyncConnection, limits: SmsLimits, sender: Row, now: datetime
) -> bool:
    """Whether this SMS sender may still get replies this hour (counted if so)."""
    if await rate_counts.take(
        connection, address_key("reply", sender), limits.replies_per_sender, now
    ):
        return True
    await rate_counts.count(connection, f"{rate_counts.REFUSED}reply.sender", now)
    return False


async def forget_counts(connection: AsyncConnection, addresses: list[tuple[str, str]]) -> None:
    """An erased member's counts go with them (their keys are hashes of their numbers)."""
    keys: list[str] = []
    for channel, address in addresses:
        keys += [
            rate_counts.hashed(f"reply:{channel}", address),
            rate_counts.hashed(f"link:user:{channel}", address),
            number_key(address),
        ]
    await rate_counts.forget(connection, keys)
