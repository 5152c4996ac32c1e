"""The send policy as tables: what the dispatcher records for each outcome of a send."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from gateway.channels.base import CREDENTIALS_PAUSE, SendError
from gateway.sending import policy
from gateway.sending.policy import (
    PAUSED,
    Cancelled,
    Failed,
    Result,
    Retry,
    Sent,
    Skipped,
    backoff,
    channel_pause,
    judge,
    row_update,
    skip_reason,
)
from storage.outbox.claims import GONE, AddressSnapshot, Claimed, RowUpdate
from storage.outbox.states import AddressState, OutboxStatus, Priority

pytestmark = pytest.mark.unit  # pure logic: the fast layer (pytest -m unit)

NOW = datetime(2025, 11, 25, 9, 0, tzinfo=UTC)
MAX_ATTEMPTS, RETRY_BASE, SEED = 5, 2.0, 11


def row(
    attempts: int = 0, address_id: int | None = 3, priority: Priority = Priority.BULK
) -> Claimed:
    return Claimed(
        id=10, channel="sms", recipient="+22376123456", body="Bonjour", choices=None,
        attempts=attempts, address_id=address_id, priority=int(priority), broadcast_id=4,
    )  # fmt: skip


def jitter(attempt: int) -> timedelta:
    """The wait a seeded generator gives for this attempt: full jitter up to base·2^(n-1)."""
    return timedelta(seconds=backoff(attempt, RETRY_BASE, rng=random.Random(SEED)))


SERVER_ERROR = SendError("20500", "An internal server error has occurred", retryable=True)
THROTTLED = SendError("20429", "Too Many Requests", retryable=True, pause=1.0)
FLOOD = SendError("429", "Flood control exceeded", retryable=True, retry_after=7.0)
CREDENTIALS = SendError("20003", "Authenticate", retryable=True, retry_after=CREDENTIALS_PAUSE)
OPTED_OUT = SendError(
    "21610", "unsubscribed", retryable=False, address_state=AddressState.OPTED_OUT
)
TOO_LONG = SendError("21617", "too long", retryable=False)

# (what happened, the verdict, the columns written)
CASES = [
    (
        Result(row(), provider_id="SM1"),
        Sent(row(), "SM1"),
        RowUpdate(10, OutboxStatus.SENT, attempts=1, provider_id="SM1", sent=True),
    ),
    (
        Result(row(attempts=2), provider_id="SM1"),
        Sent(row(attempts=2), "SM1"),
        RowUpdate(10, OutboxStatus.SENT, attempts=3, provider_id="SM1", sent=True),
    ),
    (  # an erased member's goodbye keeps no number once it is sent
        Result(row(address_id=None), provider_id="SM1"),
        Sent(row(address_id=None), "SM1"),
        RowUpdate(
            10, OutboxStatus.SENT, attempts=1, provider_id="SM1", sent=True, forget_recipient=True
        ),
    ),
    (  # a server error: tried again after a jittered wait
        Result(row(), error=SERVER_ERROR),
        Retry(row(), NOW + jitter(1), 1, SERVER_ERROR),
        RowUpdate(
            10,
            None,
            attempts=1,
            next_attempt_at=NOW + jitter(1),
            error_code="20500",
            error_message="An internal server error has occurred",
        ),
    ),
    (  # … until the attempts run out
        Result(row(attempts=4), error=SERVER_ERROR),
        Failed(row(attempts=4), 5, SERVER_ERROR),
        RowUpdate(
            10,
            OutboxStatus.FAILED,
            attempts=5,
            error_code="20500",
            error_message="An internal server error has occurred",
        ),
    ),
    (  # a 429 with a pause: the row backs off like any retry, and pays an attempt
        Result(row(), error=THROTTLED),
        Retry(row(), NOW + jitter(1), 1, THROTTLED),
        RowUpdate(
            10,
            None,
            attempts=1,
            next_attempt_at=NOW + jitter(1),
            error_code="20429",
            error_message="Too Many Requests",
        ),
    ),
    (  # the provider said when: then, and no attempt lost, even on the last one
        Result(row(attempts=4), error=FLOOD),
        Retry(row(attempts=4), NOW + timedelta(seconds=7), 4, FLOOD),
        RowUpdate(
            10,
            None,
            attempts=4,
            next_attempt_at=NOW + timedelta(seconds=7),
            error_code="429",
            error_message="Flood control exceeded",
        ),
    ),
    (  # wrong credentials: the operator's to fix, the row waits with its attempts
        Result(row(), error=CREDENTIALS),
        Retry(row(), NOW + timedelta(seconds=CREDENTIALS_PAUSE), 0, CREDENTIALS),
        RowUpdate(
            10,
            None,
            attempts=0,
            next_attempt_at=NOW + timedelta(seconds=CREDENTIALS_PAUSE),
            error_code="20003",
            error_message="Authenticate",
        ),
    ),
    (  # throttled while it waited its turn: given back untouched
        Result(row(), error=PAUSED),
        Retry(row(), NOW + timedelta(seconds=0.001), 0, PAUSED),
        RowUpdate(
            10,
            None,
            attempts=0,
            next_attempt_at=NOW + timedelta(seconds=0.001),
            error_code="paused",
            error_message="channel paused",
        ),
    ),
    (  # what the refusal says about the address is kept on the address
        Result(row(), error=OPTED_OUT),
        Failed(row(), 1, OPTED_OUT),
        RowUpdate(
            10,
            OutboxStatus.FAILED,
            attempts=1,
            error_code="21610",
            error_message="unsubscribed",
            mark_address=(3, AddressState.OPTED_OUT),
        ),
    ),
    (  # … when there is still an address to keep it on
        Result(row(address_id=None), error=OPTED_OUT),
        Failed(row(address_id=None), 1, OPTED_OUT),
        RowUpdate(
            10,
            OutboxStatus.FAILED,
            attempts=1,
            error_code="21610",
            error_message="unsubscribed",
            forget_recipient=True,
        ),
    ),
    (  # the message's own fault: failed at once, the address untouched
        Result(row(), error=TOO_LONG),
        Failed(row(), 1, TOO_LONG),
        RowUpdate(
            10, OutboxStatus.FAILED, attempts=1, error_code="21617", error_message="too long"
        ),
    ),
    (
        Result(row(), skipped="blocked"),
        Skipped(row(), "blocked"),
        RowUpdate(10, OutboxStatus.SKIPPED, error_code="blocked", error_message="address blocked"),
    ),
    (
        Result(row(), skipped=policy.ERASED),
        Cancelled(row(), "member erased"),
        RowUpdate(10, OutboxStatus.CANCELLED, error_message="member erased"),
    ),
    (
        Result(row(), skipped=policy.CANCELLED),
        Cancelled(row(), "broadcast cancelled"),
        RowUpdate(10, OutboxStatus.CANCELLED, error_message="broadcast cancelled"),
    ),
]


@pytest.mark.parametrize(("result", "verdict", "update"), CASES)
def test_judge(result: Result, verdict, update: RowUpdate) -> None:
    judged = judge(
        result, NOW, max_attempts=MAX_ATTEMPTS, retry_base=RETRY_BASE, rng=random.Random(SEED)
    )
    assert judged == verdict
    assert row_update(judged) == update


def test_a_long_error_message_is_cut() -> None:
    error = SendError("error", "x" * 2000, retryable=False)
    assert row_update(judge(Result(row(), error=error), NOW, max_attempts=5, retry_base=2)) == (
        RowUpdate(10, OutboxStatus.FAILED, attempts=1, error_code="error", error_message="x" * 500)
    )


def snapshot(*states: AddressState) -> AddressSnapshot:
    return AddressSnapshot(frozenset(states))


BLOCKED, INVALID, OUT = AddressState.BLOCKED, AddressState.INVALID, AddressState.OPTED_OUT


@pytest.mark.parametrize(
    ("priority", "address", "reason"),
    [
        (Priority.BULK, None, None),  # no address on the row (an erased member's goodbye)
        (Priority.BULK, snapshot(), None),
        (Priority.BULK, GONE, "erased"),
        (Priority.REPLY, GONE, "erased"),
        (Priority.REPLY, snapshot(BLOCKED), "blocked"),  # nothing goes to a blocked address
        (Priority.BULK, snapshot(INVALID), "invalid"),
        (Priority.BULK, snapshot(BLOCKED, INVALID, OUT), "blocked"),
        (Priority.BULK, snapshot(OUT), "opted_out"),  # no broadcast after STOP
        (Priority.REPLY, snapshot(OUT), None),  # but the answer to what they wrote still goes
    ],
)
def test_skip_reason(priority, address, reason) -> None:
    assert skip_reason(row(priority=priority), address) == reason


@pytest.mark.parametrize(
    ("error", "pause"),
    [(SERVER_ERROR, None), (THROTTLED, 1.0), (FLOOD, 7.0), (CREDENTIALS, CREDENTIALS_PAUSE)],
)
def test_channel_pause(error: SendError, pause: float | None) -> None:
    assert channel_pause(error) == pause


@pytest.mark.parametrize("attempt", [1, 2, 5, 12])
def test_backoff_is_full_jitter_up_to_a_cap(attempt: int) -> None:
    rng = random.Random(attempt)
    waits = [backoff(attempt, 2.0, cap=300.0, rng=rng) for _ in range(200)]
    ceiling = min(300.0, 2.0 * 2 ** (attempt - 1))
    assert all(0 <= wait <= ceiling for wait in waits)
    assert max(waits) > ceiling * 0.8  # spread over the whole range, not bunched
