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

This is the loop and its waiting; what to do with each row is gateway/sending/policy.py, and
the SQL is storage/outbox/claims.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta

from broadcasts import fallback
from broadcasts.quiet_hours import QuietHours
from gateway.channels.base import Channel, SendError, enabled
from gateway.sending import policy
from gateway.sending.pacing import Pacer, PerKeyPacer, WindowLimiter
from gateway.sending.policy import Result
from storage.database import Database
from storage.outbox import claims, reroute
from storage.outbox.claims import AddressSnapshot, Claimed
from storage.types import utcnow

log = logging.getLogger(__name__)
CANCEL_CHECK = 0.25  # seconds
ADDRESS_CHECK = 0.25  # seconds between re-reads of the addresses of a batch still going out
# Seconds between recordings of what a long batch has sent so far. Status callbacks do not
# wait for it (they find their row by id); it bounds what a crash would send twice and how
# stale a broadcast's progress looks. Each recording is a write transaction that webhooks, on
# SQLite, queue behind: so not much more often.
RECORD_EVERY = 1.0
PIPELINE_DEPTH = 2  # batches of one channel in flight at once
# A loop that has not gone round for this long (a claim or a batch that never ends) is stalled:
# the dispatcher is not ready. A batch lasts about a second; pauses (429) are not counted.
STALL = 120.0  # seconds
MIN_IDLE_WAIT = 0.05  # seconds: a row due "now" that the claim did not get is not a busy loop


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        *,
        rates: Mapping[str, float | None] | None = None,
        per_chat_rates: Mapping[str, float | None] | None = None,
        lease: timedelta = timedelta(seconds=60),
        sms_quiet_hours: QuietHours | None = None,
        max_attempts: int = 5,
        batch_size: int = 200,
        concurrency: int = 64,
        idle_interval: float = 5.0,  # the longest idle wait: rows queued by other processes
        available: Mapping[str, asyncio.Event] | None = None,  # set once the channel is up
        stall: float = STALL,
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
        paced = {name: rate for name, rate in (rates or {}).items() if rate}
        # A channel that limits itself (the SMS route layer: each SIM its rate) gets no window
        # limiter here — its sends wait their route's turn, which may be minutes, and would hold
        # the window from replies — but is told the rate (its Twilio route keeps the window).
        # Sends are still spaced here, where a cancel or a STOP is looked at after the wait.
        itself = {name for name, channel in self.channels.items() if _paces_itself(channel)}
        for name in itself & paced.keys():
            self.channels[name].paced_at(paced[name])  # type: ignore[attr-defined]
        per_chat = {name: rate for name, rate in (per_chat_rates or {}).items() if rate}
        self._pacers = {name: Pacer(paced[name]) for name in self.channels if name in paced}
        self._limiters = {
            name: WindowLimiter(paced[name])
            for name in self.channels
            if name in paced.keys() - itself
        }
        self._chat_pacers = {
            name: PerKeyPacer(per_chat[name]) for name in self.channels if name in per_chat
        }
        self._batch = {name: _batch_for(paced.get(name), batch_size) for name in self.channels}
        self._semaphores = {name: asyncio.Semaphore(concurrency) for name in self.channels}
        self._wake = {name: asyncio.Event() for name in self.channels}
        self._paused_until: dict[str, float] = {}  # channel → monotonic time (a 429)
        self._stopping = False
        self._stopped = asyncio.Event()
        self._cancelled: frozenset[int] = frozenset()  # broadcasts cancelled, as last looked up
        self._cancelled_at = float("-inf")
        self._cancelled_lookup: asyncio.Task[None] | None = None
        self._available, self.stall = available or {}, stall
        self._turned = {name: time.monotonic() for name in self.channels}  # last time round
        self._resting: dict[str, str] = {}  # channel → why its loop waits: idle, paused, down

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        for event in self._wake.values():
            event.set()

    def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        self.wake()

    async def run(self) -> None:
        # A task group: one loop's failure ends them all, so a restart never runs two of one.
        async with asyncio.TaskGroup() as loops:
            for name in self.channels:
                loops.create_task(self._run_channel(name), name=f"dispatch {name}")

    @property
    def stopped(self) -> bool:
        return self._stopping

    def health(self) -> dict[str, object]:
        """Each channel loop: resting (why) or busy (for how long); stalled ones named."""
        now = time.monotonic()
        busy = {
            name: 0.0 if name in self._resting else now - self._turned[name]
            for name in self.channels
        }
        loops = {
            name: {"loop": self._resting.get(name, "busy"), "busy_for": round(busy[name], 1)}
            for name in self.channels
        }
        return {"loops": loops, "stalled": [name for name in busy if busy[name] > self.stall]}

    def _rest(self, name: str, why: str | None) -> None:
        self._turned[name] = time.monotonic()
        if why is None:
            self._resting.pop(name, None)
        else:
            self._resting[name] = why

    async def _run_channel(self, name: str) -> None:
        """Claim batches and send them, two at a time: the next batch is claimed (and the last
        recorded) while the current one is going out, so the channel never idles between them."""
        wake = self._wake[name]
        inflight: deque[asyncio.Task] = deque()
        available = self._available.get(name)
        if available is not None and not available.is_set():
            self._rest(name, "down")  # the channel could not start yet: nothing to send with
            await self._until_either(available, self._stopped)
        try:
            while not self._stopping:
                self._rest(name, None)
                wake.clear()  # before claiming: what is queued meanwhile wakes the next round
                pause = self._paused_until.get(name, 0) - time.monotonic()
                if pause > 0:
                    self._rest(name, "paused")
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
                    if len(inflight) >= PIPELINE_DEPTH:
                        await self._finish_or_replies(name, inflight, wake)
                    elif await self._finished_or_woken(inflight[0], wake):
                        await _finish(inflight.popleft())
                    # else woken (something queued): claimed now, beside the batch in flight
                    continue
                # Idle: sleep until the next row comes due (a retry, a lease ending) or a wake,
                # not a tight poll: an idle dispatcher costs next to nothing.
                self._rest(name, "idle")
                try:
                    await asyncio.wait_for(wake.wait(), await self._idle_wait(name))
                except TimeoutError:
                    continue
                if self.linger:
                    await asyncio.sleep(self.linger)  # let replies queued together go out together
        finally:
            for task in inflight:
                await _finish(task)

    @staticmethod
    async def _finished_or_woken(batch: asyncio.Task[None], wake: asyncio.Event) -> bool:
        """Wait for the batch in flight, or a wake: True when the batch is done. A broadcast's
        last batch on slow routes lasts minutes; a reply queued meanwhile must not wait for it."""
        waking = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait([batch, waking], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the loop is cancelled: so is its batch, as if awaited
            batch.cancel()
            raise
        finally:
            waking.cancel()
        return batch.done()

    async def _finish_or_replies(
        self, name: str, inflight: deque[asyncio.Task], wake: asyncio.Event
    ) -> None:
        """The pipeline is full (a broadcast on slow routes: Android SIMs at a few SMS a minute
        hold a batch for minutes): wait for its first batch, but a wake (something queued) claims
        the replies due meanwhile at once, so a member is not answered after the broadcast."""
        if await self._finished_or_woken(inflight[0], wake):
            await _finish(inflight.popleft())
            return
        wake.clear()
        try:
            rows, states = await self._claim(name, replies_only=True)
        except Exception:  # a database hiccup: the next wake or round claims them
            log.exception("claim of replies on %s failed", name)
            return
        if rows:
            inflight.append(asyncio.create_task(self._send_batch(rows, states)))

    async def _idle_wait(self, name: str) -> float:
        try:
            async with self.database.read_engine.connect() as connection:
                due = await claims.next_due(connection, name, hold_campaigns=self._holds(name))
        except Exception:  # a busy database: wait the longest, a wake still comes at once
            log.warning("looking up the next due row on %s failed", name, exc_info=True)
            return self.idle_interval
        if due is None:
            return self.idle_interval
        seconds = (due - self.clock()).total_seconds()
        return min(self.idle_interval, max(MIN_IDLE_WAIT, seconds))

    def _holds(self, name: str) -> bool:
        # A campaign still going out at 21:00 waits for the morning; replies and the
        # secretariat's own broadcasts do not (sending at night was their choice).
        quiet = self.sms_quiet_hours
        return name == "sms" and quiet is not None and quiet.contains(self.clock())

    @staticmethod
    async def _until_either(first: asyncio.Event, second: asyncio.Event) -> None:
        waits = [asyncio.create_task(first.wait()), asyncio.create_task(second.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

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
        available = self._available.get(name)
        if available is not None and not available.is_set():
            return 0
        rows, states = await self._claim(name)
        if not rows:
            return 0
        await self._send_batch(rows, states)
        return len(rows)

    async def _send_batch(self, rows: list[Claimed], states: dict[int, AddressSnapshot]) -> None:
        # A broadcast batch lasts about a second (two are in flight): a STOP that lands meanwhile
        # must still stop what has not gone out. Replies go out at once and need no refresh.
        helpers = []
        if states and any(row.bulk for row in rows):
            helpers.append(asyncio.create_task(self._keep_fresh(states)))
        unrecorded = {row.id for row in rows}
        helpers.append(asyncio.create_task(self._keep_leased(unrecorded)))
        done: list[Result] = []
        flushed = time.monotonic()
        try:
            # Tasks made here, in order: rows take their pacing slots in (priority, id) order.
            sends = [asyncio.ensure_future(self._send(row, states)) for row in rows]
            finished: asyncio.Queue[asyncio.Future[Result]] = asyncio.Queue()
            for sending in sends:
                sending.add_done_callback(finished.put_nowait)
            left = len(sends)
            while left:
                # A send done, or the time to record what is done: on SIMs at a few SMS a
                # minute the next send can be a turn away, and what went out must not wait.
                due = flushed + RECORD_EVERY - time.monotonic() if done else None
                try:
                    async with asyncio.timeout(None if due is None else max(due, 0.0)):
                        completed = await finished.get()
                except TimeoutError:
                    pass
                else:
                    left -= 1
                    done.append(completed.result())
                if done and time.monotonic() - flushed >= RECORD_EVERY:
                    flushed = time.monotonic()
                    await self._record(done)
                    unrecorded.difference_update(result.row.id for result in done)
                    done = []
        finally:
            for helper in helpers:
                helper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await helper
        if done:
            await self._record(done)

    async def _keep_leased(self, unrecorded: set[int]) -> None:
        """Renew the lease of the batch's rows not yet recorded, at a third of the lease: only a
        dead sender's rows come back to be claimed again, however long a batch takes."""
        every = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            try:
                async with self.database.transaction() as connection:
                    await claims.extend_leases(
                        connection, sorted(unrecorded), self.clock(), self.lease
                    )
            except Exception:  # a busy database: the next renewal or the lease itself decides
                log.warning("renewing the leases of a batch failed", exc_info=True)

    async def _keep_fresh(self, states: dict[int, AddressSnapshot]) -> None:
        ids = sorted(states)
        while True:
            await asyncio.sleep(ADDRESS_CHECK)
            try:
                async with self.database.read_engine.connect() as connection:
                    fresh = await claims.address_states(connection, ids)
            except Exception:  # a busy database: the states read at the claim still hold
                log.warning("re-reading address states failed", exc_info=True)
                continue
            states.update(fresh)

    async def _claim(
        self, name: str, replies_only: bool = False
    ) -> tuple[list[Claimed], dict[int, AddressSnapshot]]:
        now = self.clock()
        hold_campaigns = self._holds(name)
        async with self.database.transaction() as connection:
            rows = await claims.claim_due(
                connection,
                name,
                now,
                lease=self.lease,
                limit=self._batch[name],
                hold_campaigns=hold_campaigns,
                skip_locked=not self.database.is_sqlite,  # several processes share the work
                replies_only=replies_only,
            )
            ids = sorted({row.address_id for row in rows if row.address_id is not None})
            states = await claims.address_states(connection, ids)
        return rows, states

    async def _send(self, row: Claimed, states: dict[int, AddressSnapshot]) -> Result:
        reason = policy.skip_reason(row, states.get(row.address_id or 0))
        if reason is not None:
            return Result(row, skipped=reason)
        channel = self.channels[row.channel]
        # Wait for the turn holding nothing: a paced or paused channel must not hold permits
        # (there is a pool per channel anyway) while it waits.
        await self._wait_for_slot(row)
        reason = policy.skip_reason(row, states.get(row.address_id or 0))
        if reason is not None:  # the address changed while the row waited its turn
            return Result(row, skipped=reason)
        if row.broadcast_id is not None and row.broadcast_id in await self._cancelled_broadcasts():
            return Result(row, skipped=policy.CANCELLED)  # cancelled while it waited its turn
        if self._paused_until.get(row.channel, 0) > time.monotonic():
            return Result(row, error=policy.PAUSED)  # throttled while this row waited
        message = policy.outgoing(row, states.get(row.address_id or 0), self.clock())
        if isinstance(message, SendError):  # outside WhatsApp's window without a template
            return Result(row, error=message)
        limiter = self._limiters.get(row.channel)
        async with self._semaphores[row.channel], _occupying(limiter):
            try:
                provider_id = await channel.send(message)
            except SendError as error:
                pause = policy.channel_pause(error)
                if pause:
                    self._pause(row.channel, time.monotonic() + pause)
                return Result(row, error=error)
            except Exception as error:  # an adapter bug: keep the row, retry later
                log.exception("unclassified send failure on %s", row.channel)
                return Result(row, error=SendError("error", repr(error), retryable=True))
        return Result(row, provider_id=provider_id)

    def _pause(self, channel: str, resume: float) -> None:
        self._paused_until[channel] = max(self._paused_until.get(channel, 0), resume)
        if channel in self._pacers:
            self._pacers[channel].hold_until(resume)

    async def _cancelled_broadcasts(self) -> frozenset[int]:
        """Cancelled broadcasts, looked up at most every CANCEL_CHECK seconds (cheap, read-only):
        a cancel from the API or the CLI, in any process, stops this batch within that time."""
        if time.monotonic() - self._cancelled_at > CANCEL_CHECK:
            if self._cancelled_lookup is None or self._cancelled_lookup.done():
                self._cancelled_lookup = asyncio.create_task(self._look_up_cancelled())
            await asyncio.shield(self._cancelled_lookup)
        return self._cancelled

    async def _look_up_cancelled(self) -> None:
        async with self.database.read_engine.connect() as connection:
            self._cancelled = await claims.cancelled_broadcasts(connection)
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
        verdicts = [
            policy.judge(result, now, max_attempts=self.max_attempts, retry_base=self.retry_base)
            for result in results
        ]
        reasons = {
            verdict.row.id: reason
            for verdict in verdicts
            if (reason := policy.fall_back_reason(verdict)) is not None
        }
        usable = enabled(self.channels)
        async with self.database.transaction() as connection:
            await claims.record(connection, [policy.row_update(v) for v in verdicts], now)
            # In the same transaction: a row that fails here is never left failed by a crash
            # between the two, and never moved without its failure recorded.
            moved = await fallback.fall_back(connection, reasons, usable, now) if reasons else 0
            # A report that failed a row before its send was recorded asked for the move.
            sent = [v.row.id for v in verdicts if isinstance(v, policy.Sent) and v.row.bulk]
            moved += await fallback.after_recording(connection, sent, usable, now)
            # A phone's radio failed an SMS before its send was recorded: another route now.
            sms = [
                v.row.id for v in verdicts if isinstance(v, policy.Sent) and v.row.channel == "sms"
            ]
            moved += await reroute.after_recording(connection, sms, now)
        if moved:
            self.wake()  # their next channel's loop may be idle


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


def _paces_itself(channel: Channel) -> bool:
    return bool(getattr(channel, "paces_itself", False))


async def _finish(task: asyncio.Task[None]) -> None:
    try:
        await task
    except Exception:  # a database hiccup while recording: the rows' leases bring them back
        log.exception("a batch failed; its rows go out again when their lease ends")


def _batch_for(rate: float | None, batch_size: int) -> int:
    """About a second of sending per batch: rows are not leased long before they can go."""
    if not rate:
        return batch_size
    return max(10, min(batch_size, int(rate)))
