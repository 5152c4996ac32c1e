"""Statuses and priorities of outbox rows and broadcasts, and the states of an address.

StrEnum/IntEnum members compare equal to the plain values stored in the database, so rows read
back as strings match them without conversion.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Priority(IntEnum):
    """Lower goes first within a channel: a member waiting for an answer before a broadcast."""

    REPLY = 0
    BULK = 1


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt (or claimed under a lease)
    SENT = "sent"  # handed to the provider
    DELIVERED = "delivered"  # the provider says it arrived (or was read)
    UNDELIVERED = "undelivered"  # the provider gave up after accepting it
    FAILED = "failed"  # refused, or retried until the attempts ran out
    CANCELLED = "cancelled"  # its broadcast was cancelled, or its member erased
    SKIPPED = "skipped"  # the address could not take it at send time (opted out, blocked…)


# A later status never gives way to an earlier one arriving late (callbacks overtake each other).
STATUS_RANK: dict[str, int] = {
    OutboxStatus.QUEUED: 0,
    OutboxStatus.SENT: 1,
    OutboxStatus.DELIVERED: 2,
    OutboxStatus.UNDELIVERED: 2,
    OutboxStatus.FAILED: 2,
}
FAILURES = (OutboxStatus.FAILED, OutboxStatus.UNDELIVERED)


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


SENDABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED)
CANCELLABLE = (BroadcastStatus.DRAFT, BroadcastStatus.SCHEDULED, BroadcastStatus.SENDING)


class AddressState(StrEnum):
    """What a provider's answer can say about an address (not about the moment)."""

    BLOCKED = "blocked"  # the member blocked the bot
    OPTED_OUT = "opted_out"  # the member said STOP (to us or to the provider)
    INVALID = "invalid"  # no such number or chat


# The addresses table keeps each state as the time it was learnt.
ADDRESS_COLUMN: dict[AddressState, str] = {
    AddressState.BLOCKED: "blocked_at",
    AddressState.OPTED_OUT: "opted_out_at",
    AddressState.INVALID: "invalid_at",
}
