"""Sends what the outbox holds: per channel, claims due rows under a lease, sends at the
channel's rate, records the result.

- A crashed sender's rows come back when their lease ends.
- Each channel has its own loop, so a slow or throttled channel never holds up another;
  within a channel, conversational replies (priority 0) go before bulk broadcast rows.
- A retryable failure is tried again with exponential backoff and jitter; a 429 pauses that
  channel for the time the provider asks; a permanent failure is recorded with its reason and,
  where it says something about the address (blocked, opted out, invalid), marks the address.
- Just before sending, the address is looked at again: nothing goes to a blocked or invalid
  address, and no broadcast to one that opted out, even after fan-out or after the claim (a
  batch going out re-reads its addresses every ADDRESS_CHECK seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from broadcasts.quiet_hours import QuietHours
from gateway.channels.base import Channel, SendError
from gateway.sending.pacing import Pacer, PerKeyPacer, WindowLimiter
from storage.database import Database
from storage.models import Address, Broadcast, CampaignBroadcast, OutboxMessage
from storage.types import utcnow

log = logging.getLogger(__name__)
outbox, addresses, broadcasts = OutboxMessage.__table__, Address.__table__, Broadcast.__table__
campaign_broadcasts = CampaignBroadcast.__table__
CANCEL_CHECK = 0.25  # seconds
ADDRESS_CHECK = 0.25  # seconds between re-reads of the addresses of a batch still going out
# Seconds between recordings of what a long batch has sent so far: a status callback waits
# for its SID up to ~3 s (gateway/webhooks.py), and each recording is a write transaction that
# the web process, on SQLite, must then wait for.
RECORD_EVERY = 1.0
PIPELINE_DEPTH = 2  # batches of one channel in flight at once

ADDRESS_COLUMN_BY_STATE = {
    "blocked": "blocked_at",
    "opted_out": "opted_out_at",
    "invalid": "invalid_at",
}
BULK = 1  # outbox priority of broadcast rows
GONE = {"gone": True}  # the state of an address erased since the row was made


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: str
    recipient: str
    body: str
    choices: list[list[str]] | None
    attempts: int
    address_id: int | None
    priority: int
    broadcast_id: int | None = None


@dataclass(frozen=True)
class Result:
    row: Claimed
    provider_id: str | None = None
    error: SendError | None = None
    skipped: str | None = None  # why it was not sent at all (address opted out, blocked…)


def backoff(attempt: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Full jitter: a random wait up to base·2^(attempt-1), so retries do not come in waves."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


def skip_reason(row: Claimed, address: dict | None) -> str | None:
    """Why a claimed row must not be sent now, judged on the address as it is now."""
    if address is None:
        return None
    if address.get("gone"):
        return "erased"
    if address["blocked_at"] is not None:
        return "blocked"
    if address["invalid_at"] is not None:
        return "invalid"
    if row.priority == BULK and address["opted_out_at"] is not None:
        return "opted_out"
    return None


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        *,
        rates: Mapping[str, float] | None = None,
        per_chat_rates: Mapping[str, float] | None = None,
        lease: timedelta = timedelta(seconds=60),
        sms_quiet_hours: QuietHours | None = None,
        max_attempts: int = 5,
        batch_size: int = 200,
        concurrency: int = 64,
        idle_interval: float = 0.5,
        retry_base: float = 2.0,
        linger: float = 0.005,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.channels = dict(channels)
        self.lease, self.max_attempts, self.batch_size = lease, max_attempts, batch_size
        self.idle_interval, self.clock, self.retry_base = idle_interval, clock, retry_base
        self.linger = linger
        self.sms_quiet_hours = sms_quiet_hours
        rates = rates or {}
        self._pacers = {name: Pacer(rates[name]) for name in self.channels if rates.get(name)}
        self._limiters = {
            name: WindowLimiter(rates[name]) for name in self.channels if rates.get(name)
        }
        per_chat = per_chat_rates or {}
        self._chat_pacers = {
            name: PerKeyPacer(per_chat[name]) for name in self.channels if per_chat.get(name)
        }
        self._batch = {name: _batch_for(rates.get(name), batch_size) for name in self.channels}
        self._semaphores = {name: asyncio.Semaphore(concurrency) for name in self.channels}
        self._wake = {name: asyncio.Event() for name in self.channels}
        self._paused_until: dict[str, float] = {}  # channel → monotonic time (a 429)
        self._stopping = False
        self._stopped = asyncio.Event()
        self._cancelled: frozenset[int] = frozenset()  # broadcasts cancelled, as last looked up
        self._cancelled_at = float("-inf")
        self._cancelled_lookup: asyncio.Task | None = None

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        for event in self._wake.values():
            event.set()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self.wake()

    async def run(self) -> None:
        await asyncio.gather(*(self._run_channel(name) for name in self.channels))

    async def _run_channel(self, name: str) -> None:
        """Claim batches and send them, two at a time: the next batch is claimed (and the last
        recorded) while the current one is going out, so the channel never idles between them."""
        wake = self._wake[name]
        inflight: deque[asyncio.Task] = deque()
        try:
            while not self._stopping:
                wake.clear()  # before claiming: what is queued meanwhile wakes the next round
                pause = self._paused_until.get(name, 0) - time.monotonic()
                if pause > 0:
                    await self._sleep_unless_stopping(pause)
                    continue
                if len(inflight) < PIPELINE_DEPTH:
                    try:
                        rows, states = await self._claim(name)
                    except Exception:  # a database hiccup must not end sending for good
                        log.exception("claim on %s failed; trying again", name)
                        rows, states = [], {}
                    if rows:
                        inflight.append(asyncio.create_task(self._send_batch(rows, states)))
                        if len(rows) >= self._batch[name]:
                            continue  # a full batch: more is probably waiting
                if inflight:
                    await _finish(inflight.popleft())
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), self.idle_interval)
                except TimeoutError:
                    continue
                if self.linger:
                    await asyncio.sleep(self.linger)  # let replies queued together go out together
        finally:
            for task in inflight:
                await _finish(task)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def dispatch_once(self) -> int:
        """One batch on every channel that is not paused; returns rows handled."""
        counts = await asyncio.gather(*(self.dispatch_channel(name) for name in self.channels))
        return sum(counts)

    async def dispatch_channel(self, name: str) -> int:
        """Claim, send and record one batch of one channel; returns how many rows it handled."""
        if self._paused_until.get(name, 0) > time.monotonic():
            return 0
        rows, states = await self._claim(name)
        if not rows:
            return 0
        await self._send_batch(rows, states)
        return len(rows)

    async def _send_batch(self, rows: list[Claimed], states: dict[int, dict]) -> None:
        # A broadcast batch lasts about a second (two are in flight): a STOP that lands meanwhile
        # must still stop what has not gone out. Replies go out at once and need no refresh.
        refresher = None
        if states and any(row.priority == BULK for row in rows):
            refresher = asyncio.create_task(self._keep_fresh(states))
        # Results are recorded as they come, every RECORD_EVERY seconds and at the end of the
        # batch: a provider's status callback can only find a row once its provider id is in.
        done: list[Result] = []
        flushed = time.monotonic()
        try:
            # Tasks made here, in order: rows take their pacing slots in (priority, id) order.
            sends = [asyncio.ensure_future(self._send(row, states)) for row in rows]
            for sending in asyncio.as_completed(sends):
                done.append(await sending)
                if time.monotonic() - flushed >= RECORD_EVERY:
                    flushed = time.monotonic()
                    await self._record(done)
                    done = []
        finally:
            if refresher is not None:
                refresher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await refresher
        if done:
            await self._record(done)

    async def _keep_fresh(self, states: dict[int, dict]) -> None:
        ids = sorted(states)
        while True:
            await asyncio.sleep(ADDRESS_CHECK)
            try:
                async with self.database.sessions() as session:
                    fresh = await _address_states(session, ids)
            except Exception:  # a busy database: the states read at the claim still hold
                log.warning("re-reading address states failed", exc_info=True)
                continue
            states.update(fresh)

    async def _claim(self, name: str) -> tuple[list[Claimed], dict[int, dict]]:
        now = self.clock()
        due = (
            select(outbox.c.id)
            .where(
                outbox.c.status == "queued",
                outbox.c.channel == name,
                outbox.c.next_attempt_at <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
            )
            .order_by(outbox.c.priority, outbox.c.id)
            .limit(self._batch[name])
        )
        if name == "sms" and self.sms_quiet_hours and self.sms_quiet_hours.contains(now):
            # A campaign still going out at 21:00 waits for the morning; replies and the
            # secretariat's own broadcasts do not (sending at night was their choice).
            campaign_rows = select(campaign_broadcasts.c.broadcast_id).where(
                campaign_broadcasts.c.broadcast_id.is_not(None)
            )
            due = due.where(
                or_(outbox.c.broadcast_id.is_(None), outbox.c.broadcast_id.not_in(campaign_rows))
            )
        if not self.database.is_sqlite:
            due = due.with_for_update(skip_locked=True)  # several processes share the work
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(lease_until=now + self.lease)
            .returning(
                outbox.c.id,
                outbox.c.channel,
                outbox.c.recipient,
                outbox.c.body,
                outbox.c.choices,
                outbox.c.attempts,
                outbox.c.address_id,
                outbox.c.priority,
                outbox.c.broadcast_id,
            )
        )
        async with self.database.transaction() as connection:
            rows = sorted(
                (Claimed(*row) for row in await connection.execute(claim)),
                key=lambda r: (r.priority, r.id),
            )
            ids = sorted({row.address_id for row in rows if row.address_id is not None})
            states = await _address_states(connection, ids)
        return rows, states

    async def _send(self, row: Claimed, states: dict[int, dict]) -> Result:
        reason = skip_reason(row, states.get(row.address_id or 0))
        if reason is not None:
            return Result(row, skipped=reason)
        channel = self.channels[row.channel]
        # Wait for the turn holding nothing: a paced or paused channel must not hold permits
        # (there is a pool per channel anyway) while it waits.
        await self._wait_for_slot(row)
        reason = skip_reason(row, states.get(row.address_id or 0))
        if reason is not None:  # the address changed while the row waited its turn
            return Result(row, skipped=reason)
        if row.broadcast_id is not None and row.broadcast_id in await self._cancelled_broadcasts():
            return Result(row, skipped="cancelled")  # cancelled while it waited its turn
        if self._paused_until.get(row.channel, 0) > time.monotonic():
            # Throttled while this row waited: give it back untouched, no attempt counted.
            return Result(
                row, error=SendError("paused", "channel paused", retryable=True, retry_after=0.001)
            )
        limiter = self._limiters.get(row.channel)
        async with self._semaphores[row.channel], _occupying(limiter):
            try:
                provider_id = await channel.send(row.recipient, row.body, row.choices)
            except SendError as error:
                if error.retry_after or error.pause:
                    resume = time.monotonic() + (error.retry_after or error.pause)
                    self._paused_until[row.channel] = max(
                        self._paused_until.get(row.channel, 0), resume
                    )
                    if row.channel in self._pacers:
                        self._pacers[row.channel].hold_until(resume)
                return Result(row, error=error)
            except Exception as error:  # an adapter bug: keep the row, retry later
                log.exception("unclassified send failure on %s", row.channel)
                return Result(row, error=SendError("error", repr(error), retryable=True))
        return Result(row, provider_id=provider_id)

    async def _cancelled_broadcasts(self) -> frozenset[int]:
        """Cancelled broadcasts, looked up at most every CANCEL_CHECK seconds (cheap, read-only):
        a cancel from the API or the CLI, in any process, stops this batch within that time."""
        if time.monotonic() - self._cancelled_at > CANCEL_CHECK:
            if self._cancelled_lookup is None or self._cancelled_lookup.done():
                self._cancelled_lookup = asyncio.create_task(self._look_up_cancelled())
            await asyncio.shield(self._cancelled_lookup)
        return self._cancelled

    async def _look_up_cancelled(self) -> None:
        query = select(broadcasts.c.id).where(broadcasts.c.status == "cancelled")
        async with self.database.sessions() as session:
            self._cancelled = frozenset(await session.scalars(query))
        self._cancelled_at = time.monotonic()

    async def _wait_for_slot(self, row: Claimed) -> None:
        delay = 0.0
        pacer = self._pacers.get(row.channel)
        if pacer is not None:
            delay = pacer.reserve()
        chats = self._chat_pacers.get(row.channel)
        if chats is not None:
            delay = max(delay, chats.reserve(row.recipient))
        if delay > 0:
            await asyncio.sleep(delay)

    async def _record(self, results: list[Result]) -> None:
        now = self.clock()
        updates: list[dict] = []
        address_marks: list[tuple[int, str]] = []
        for result in results:
            row, error = result.row, result.error
            values: dict = {"id": row.id, "lease_until": None, "updated_at": now}
            if result.skipped == "cancelled":
                values |= {"status": "cancelled", "error_message": "broadcast cancelled"}
            elif result.skipped == "erased":  # as the erasure itself marks what it stopped
                values |= {"status": "cancelled", "error_message": "member erased"}
            elif result.skipped:
                values |= {
                    "status": "skipped",
                    "error_code": result.skipped,
                    "error_message": f"address {result.skipped}",
                }
            elif error is None:
                values |= {
                    "status": "sent",
                    "provider_id": result.provider_id,
                    "sent_at": now,
                    "attempts": row.attempts + 1,
                }
            else:
                attempts = row.attempts + (
                    0 if error.retry_after else 1
                )  # a 429 is not the row's fault
                values |= {
                    "attempts": attempts,
                    "error_code": error.code,
                    "error_message": error.message[:500],
                }
                if error.retryable and attempts < self.max_attempts:
                    wait = error.retry_after or backoff(attempts, self.retry_base)
                    values["next_attempt_at"] = now + timedelta(seconds=wait)
                else:
                    values["status"] = "failed"
                if error.address_state and row.address_id is not None:
                    address_marks.append((row.address_id, error.address_state))
            if row.address_id is None and "status" in values:
                values["recipient"] = ""  # an erased member's goodbye: keep no number once sent
            updates.append(values)
        async with self.database.transaction() as connection:
            for group in _by_keys(updates):
                columns = [key for key in group[0] if key != "id"]
                statement = (
                    update(outbox)
                    .where(outbox.c.id == bindparam("row_id"))
                    .values({column: bindparam(column) for column in columns})
                )
                await connection.execute(
                    statement, [{**values, "row_id": values["id"]} for values in group]
                )
            for address_id, state in address_marks:
                column = ADDRESS_COLUMN_BY_STATE[state]
                await connection.execute(
                    update(addresses).where(addresses.c.id == address_id).values({column: now})
                )


async def _address_states(connection, ids: list[int]) -> dict[int, dict]:
    """What may stop a send to these addresses, as the database says now. An address that is
    no longer there was erased (OUBLIER) with its member."""
    if not ids:
        return {}
    query = select(
        addresses.c.id, addresses.c.opted_out_at, addresses.c.blocked_at, addresses.c.invalid_at
    ).where(addresses.c.id.in_(ids))
    found = {row.id: row._asdict() for row in await connection.execute(query)}
    return {address_id: found.get(address_id, GONE) for address_id in ids}


@contextlib.asynccontextmanager
async def _occupying(limiter: WindowLimiter | None) -> AsyncIterator[None]:
    if limiter is None:
        yield
        return
    await limiter.acquire()
    try:
        yield
    finally:
        limiter.release()


async def _finish(task: asyncio.Task) -> None:
    try:
        await task
    except Exception:  # a database hiccup while recording: the rows' leases bring them back
        log.exception("a batch failed; its rows go out again when their lease ends")


def _batch_for(rate: float | None, batch_size: int) -> int:
    """About a second of sending per batch: rows are not leased long before they can go."""
    if not rate:
        return batch_size
    return max(10, min(batch_size, int(rate)))


def _by_keys(rows: list[dict]) -> list[list[dict]]:
    """Bulk UPDATE by primary key needs the same columns in every row of one call."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())
