"""The send policy: what to do with a row before it goes, and with what came of sending it.

Pure: rows, address states, the adapter's classified SendError and the time in; a verdict out
(sent, retry at a time, failed, skipped, cancelled) that the dispatcher records as it is. The
dispatcher does the waiting and the I/O; every decision is here, tested with tables of cases.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.vocabulary.channels import traits
from gateway.channels.base import Outgoing, SendError
from storage.outbox.claims import AddressSnapshot, Claimed, RowUpdate
from storage.outbox.states import AddressState, OutboxStatus

ERASED = "erased"  # the address went with its member (OUBLIER) since the row was made
CANCELLED = "cancelled"  # the row's broadcast was cancelled while it waited its turn
# A row that waited its turn while the channel got throttled goes back untouched: no attempt lost.
PAUSED = SendError("paused", "channel paused", retryable=True, retry_after=0.001)


@dataclass(frozen=True)
class Result:
    """What happened when the dispatcher came to a row: sent, refused, or not sent at all."""

    row: Claimed
    provider_id: str | None = None
    error: SendError | None = None
    skipped: str | None = None  # why it was not sent at all: an AddressState, ERASED, CANCELLED


@dataclass(frozen=True)
class Sent:
    row: Claimed
    provider_id: str | None


@dataclass(frozen=True)
class Retry:
    row: Claimed
    at: datetime
    attempts: int
    error: SendError


@dataclass(frozen=True)
class Failed:
    row: Claimed
    attempts: int
    error: SendError


@dataclass(frozen=True)
class Skipped:
    """Not sent, because of the address as it was at send time."""

    row: Claimed
    reason: str


@dataclass(frozen=True)
class Cancelled:
    row: Claimed
    why: str


Verdict = Sent | Retry | Failed | Skipped | Cancelled


def backoff(
    attempt: int, base: float = 2.0, cap: float = 300.0, rng: random.Random | None = None
) -> float:
    """Full jitter: a random wait up to base·2^(attempt-1), so retries do not come in waves."""
    return (rng or random).uniform(0, min(cap, base * 2 ** (attempt - 1)))


def skip_reason(row: Claimed, address: AddressSnapshot | None) -> str | None:
    """Why a claimed row must not be sent now, judged on the address as it is now.

    Nothing goes to a blocked or invalid address; a member who opted out still gets the answer
    to what they just wrote (they wrote to us), but no broadcast.
    """
    if address is None:
        return None
    if address.gone:
        return ERASED
    for state in (AddressState.BLOCKED, AddressState.INVALID):
        if state in address.states:
            return state.value
    if row.bulk and AddressState.OPTED_OUT in address.states:
        return AddressState.OPTED_OUT.value
    return None


OUTSIDE_WINDOW = SendError(
    "outside-window",
    "outside the channel's free-text window, and no approved template in the member's language",
    retryable=False,
    fall_back=True,
)


def inside_window(channel: str, address: AddressSnapshot | None, now: datetime) -> bool:
    """Free text may go: the channel has no window, or the member wrote within it."""
    hours = traits(channel).free_text_hours
    if hours is None:
        return True
    last = address.last_inbound_at if address is not None else None
    return last is not None and now - last < timedelta(hours=hours)


def outgoing(row: Claimed, address: AddressSnapshot | None, now: datetime) -> Outgoing | SendError:
    """What goes out for a row: its text inside the window (and every reply: the member just
    wrote); outside it, a broadcast row's approved template, or nothing (OUTSIDE_WINDOW)."""
    text = Outgoing(
        row.id, row.recipient, row.body, row.choices, bulk=row.bulk,
        reroute_from=row.reroute_from, reroute_slot=row.reroute_slot,
    )  # fmt: skip
    if not row.bulk or inside_window(row.channel, address, now):
        return text
    if row.content_sid:
        return Outgoing(
            row.id,
            row.recipient,
            row.body,
            content_sid=row.content_sid,
            content_variables=row.content_variables or {},
            bulk=True,
        )
    return OUTSIDE_WINDOW


# What says the channel, not the member, stands in the way: a broadcast row goes on their next
# address instead. An opt-out is the member's no, never a reason to try elsewhere.
FALL_BACK_STATES = frozenset({AddressState.BLOCKED, AddressState.INVALID})


def fall_back_reason(verdict: Verdict) -> str | None:
    """Why a broadcast row's channel could not carry it, when it may go on the member's next
    address (broadcasts/fallback.py decides where, and whether the broadcast allows it)."""
    row = verdict.row
    if not row.bulk or row.broadcast_id is None or row.member_id is None:
        return None
    match verdict:
        case Failed(error=error) if not error.retryable and (
            error.fall_back or error.address_state in FALL_BACK_STATES
        ):
            return f"{error.code}: {error.message}"[:300]
        case Skipped(reason=reason) if reason in {state.value for state in FALL_BACK_STATES}:
            return f"address {reason}"
    return None


def channel_pause(error: SendError) -> float | None:
    """Seconds the whole channel waits after this error: the provider said when, or a 429."""
    return error.retry_after or error.pause or None


def judge(
    result: Result,
    now: datetime,
    *,
    max_attempts: int,
    retry_base: float,
    rng: random.Random | None = None,
) -> Verdict:
    row, error = result.row, result.error
    if result.skipped == CANCELLED:
        return Cancelled(row, "broadcast cancelled")
    if result.skipped == ERASED:  # as the erasure itself marks what it stopped
        return Cancelled(row, "member erased")
    if result.skipped:
        return Skipped(row, result.skipped)
    if error is None:
        return Sent(row, result.provider_id)
    attempts = row.attempts + (0 if error.retry_after else 1)  # a 429 is not the row's fault
    if error.retryable and attempts < max_attempts:
        wait = error.retry_after or backoff(attempts, retry_base, rng=rng)
        return Retry(row, now + timedelta(seconds=wait), attempts, error)
    return Failed(row, attempts, error)


def row_update(verdict: Verdict) -> RowUpdate:
    """The verdict as the columns to write."""
    row = verdict.row
    final = not isinstance(verdict, Retry)
    forget = final and row.address_id is None  # an erased member's goodbye: no number kept
    match verdict:
        case Sent(provider_id=provider_id):
            return RowUpdate(
                row.id,
                status=OutboxStatus.SENT,
                provider_id=provider_id,
                sent=True,
                attempts=row.attempts + 1,
                forget_recipient=forget,
            )
        case Cancelled(why=why):
            return RowUpdate(
                row.id, status=OutboxStatus.CANCELLED, error_message=why, forget_recipient=forget
            )
        case Skipped(reason=reason):
            return RowUpdate(
                row.id,
                status=OutboxStatus.SKIPPED,
                error_code=reason,
                error_message=f"address {reason}",
                forget_recipient=forget,
            )
        case Retry(at=at, attempts=attempts, error=error):
            return RowUpdate(
                row.id,
                attempts=attempts,
                next_attempt_at=at,
                error_code=error.code,
                error_message=error.message[:500],
                mark_address=_mark(row, error),
            )
        case Failed(attempts=attempts, error=error):
            return RowUpdate(
                row.id,
                status=OutboxStatus.FAILED,
                attempts=attempts,
                error_code=error.code,
                error_message=error.message[:500],
                mark_address=_mark(row, error),
                forget_recipient=forget,
            )
    raise AssertionError(verdict)


def _mark(row: Claimed, error: SendError) -> tuple[int, AddressState] | None:
    if error.address_state is None or row.address_id is None:
        return None
    return (row.address_id, error.address_state)
