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
    edits: str | None = None,
) -> dict[str, Any]:
    """A row for one message to one address, due now. With `edits`, the row replaces the
    buttons of a message already sent (its provider id) instead of sending a new one: the
    choices column then holds {"edit": id, "buttons": [...]}, read by `edit_of` below."""
    if edits is not None:
        choices_value: Any = {"edit": edits, "buttons": choices or []}
    else:
        choices_value = choices
    return {
        "address_id": address_id,
        "member_id": member_id,
        "channel": channel,
        "recipient": recipient,
        "body": body,
        "choices": choices_value,
        "priority": int(priority),
        "status": OutboxStatus.QUEUED.value,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def edit_of(choices: Any) -> tuple[str | None, list[list[str]] | None]:
    """(the message a row edits, its buttons) from a row's choices column."""
    if isinstance(choices, dict):
        return str(choices["edit"]), list(choices.get("buttons") or [])
    return None, choices
