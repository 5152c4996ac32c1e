"""The shape of an outbox row, made in one place: replies (one at a time, from the dialogue
shell) and broadcasts (many at once, by fan-out) fill the same columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.outbox.states import OutboxStatus, Priority

# The columns a fan-out's INSERT … SELECT fills, in its SELECT's order.
FAN_OUT_COLUMNS = (
    "address_id",
    "member_id",
    "broadcast_id",
    "channel",
    "recipient",
    "body",
    "priority",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)


def reply_row(
    *,
    address_id: int | None,
    member_id: int | None,
    channel: str,
    recipient: str,
    body: str,
    choices: list[list[str]] | None,
    now: datetime,
    priority: Priority = Priority.REPLY,
) -> dict[str, Any]:
    """A row for one message to one address, due now."""
    return {
        "address_id": address_id,
        "member_id": member_id,
        "channel": channel,
        "recipient": recipient,
        "body": body,
        "choices": choices,
        "priority": int(priority),
        "status": OutboxStatus.QUEUED.value,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }
