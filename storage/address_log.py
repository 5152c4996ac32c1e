"""One address's conversation as stored: what it sent (inbound rows) and what the providers
accepted for it (outbox rows with a provider id), with each message's buttons as they are now
(a multi-select's edits applied). The simulator reads it, so a conversation outlives a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.vocabulary.channels import traits
from storage.models import Address, InboundMessage, OutboxMessage
from storage.outbox.rows import edit_of

addresses, inbound, outbox = Address.__table__, InboundMessage.__table__, OutboxMessage.__table__
LIMIT = 300  # messages of each side read back, the latest


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def button_data(channel: str, choices: list[list[str]] | None) -> list[list[str]]:
    """[label, callback data] per button, as the channel's adapter sends them: a key longer
    than the callback data allows goes by its position (gateway/channels/telegram.py)."""
    limit = traits(channel).callback_data_max_bytes
    if not traits(channel).buttons or not choices:
        return []
    shown = []
    for number, (key, label) in enumerate(choices, 1):
        fits = limit is None or len(key.encode()) <= limit
        shown.append([label, key if fits else str(number)])
    return shown


async def address_log(
    connection: AsyncConnection, channel: str, address: str, limit: int = LIMIT
) -> list[dict[str, Any]]:
    """Oldest first: {"from": "member"|"benkadi", "text", "buttons", "at", "id"}."""
    address_id = await connection.scalar(
        select(addresses.c.id).where(addresses.c.channel == channel, addresses.c.address == address)
    )
    if address_id is None:
        return []
    said = (
        await connection.execute(
            select(inbound.c.body, inbound.c.received_at)
            .where(inbound.c.address_id == address_id)
            .order_by(inbound.c.id.desc())
            .limit(limit)
        )
    ).all()
    sent = (
        await connection.execute(
            select(
                outbox.c.body,
                outbox.c.choices,
                outbox.c.provider_id,
                outbox.c.sent_at,
                outbox.c.created_at,
            )
            .where(outbox.c.address_id == address_id, outbox.c.provider_id.is_not(None))
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
    ).all()
    by_id: dict[str, dict[str, Any]] = {}
    messages: list[dict[str, Any]] = []
    for row in reversed(sent):  # oldest first: an edit comes after the message it edits
        edits, buttons = edit_of(row.choices)
        if edits is not None:
            if edits in by_id:
                by_id[edits]["buttons"] = button_data(channel, buttons)
            continue
        if not row.body:  # erased with the member
            continue
        message = {
            "from": "benkadi",
            "text": row.body,
            "buttons": button_data(channel, buttons),
            "at": _aware(row.sent_at or row.created_at),
            "id": row.provider_id,
        }
        by_id[row.provider_id] = message
        messages.append(message)
    for row in said:
        text = row.body if row.body else "[photo]"
        messages.append(
            {"from": "member", "text": text, "buttons": [], "at": _aware(row.received_at)}
        )
    messages.sort(key=lambda message: message["at"])
    _label_presses(messages)
    for message in messages:
        message["at"] = message["at"].isoformat()
    return messages


def _label_presses(messages: list[dict[str, Any]]) -> None:
    """A button press is stored as its callback data ("vbg"): shown as "[label]" of the
    latest message that offered it."""
    offered: dict[str, str] = {}
    for message in messages:
        if message["from"] == "benkadi":
            offered = {data: label for label, data in message["buttons"]} or offered
        elif message["text"] in offered:
            message["text"] = f"[{offered[message['text']].removeprefix('✓ ')}]"
