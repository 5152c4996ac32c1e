"""Sends what the outbox holds: claims due rows under a lease, sends, records the result.

A crashed sender's rows come back when their lease ends; a retryable failure is tried again
with exponential backoff and jitter; a permanent one is recorded with its reason and, where it
says something about the address (blocked, opted out, invalid), marks the address.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from gateway.channels.base import Channel, SendError
from storage.database import Database
from storage.models import Address, OutboxMessage
from storage.types import utcnow

log = logging.getLogger(__name__)
outbox, addresses = OutboxMessage.__table__, Address.__table__

ADDRESS_COLUMN_BY_STATE = {
    "blocked": "blocked_at",
    "opted_out": "opted_out_at",
    "invalid": "invalid_at",
}


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


@dataclass(frozen=True)
class Result:
    row: Claimed
    provider_id: str | None = None
    error: SendError | None = None


def backoff(attempt: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Full jitter: a random wait up to base·2^(attempt-1), so retries do not come in waves."""
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))


class Dispatcher:
    def __init__(
        self,
        database: Database,
        channels: Mapping[str, Channel],
        *,
        lease: timedelta = timedelta(seconds=60),
        max_attempts: int = 5,
        batch_size: int = 100,
        concurrency: int = 32,
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
        self._semaphore = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._paused_until: dict[str, float] = {}  # channel → monotonic time (Telegram 429)
        self._stopping = False

    def wake(self) -> None:
        """Something was queued: look now rather than at the next tick."""
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before claiming: what is queued meanwhile wakes the next round
            try:
                handled = await self.dispatch_once()
            except Exception:  # a database hiccup must not end sending for good
                log.exception("dispatch failed; trying again")
                handled = 0
            if handled >= self.batch_size:
                continue  # a full batch: more is probably waiting
            try:
                await asyncio.wait_for(self._wake.wait(), self.idle_interval)
            except TimeoutError:
                continue
            if self.linger:
                await asyncio.sleep(self.linger)  # let replies queued together go out together

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _active_channels(self) -> list[str]:
        now = time.monotonic()
        return [name for name in self.channels if self._paused_until.get(name, 0) <= now]

    async def dispatch_once(self) -> int:
        """Claim, send and record one batch; returns how many rows it handled."""
        rows = await self._claim()
        if not rows:
            return 0
        results = await asyncio.gather(*(self._send(row) for row in rows))
        await self._record(results)
        return len(rows)

    async def _claim(self) -> list[Claimed]:
        active = self._active_channels()
        if not active:
            return []
        now = self.clock()
        due = (
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status == "queued",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                OutboxMessage.channel.in_(active),
            )
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(self.batch_size)
        )
        if not self.database.is_sqlite:
            due = due.with_for_update(skip_locked=True)  # several processes share the work
        claim = (
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(lease_until=now + self.lease)
            .returning(
                OutboxMessage.id,
                OutboxMessage.channel,
                OutboxMessage.recipient,
                OutboxMessage.body,
                OutboxMessage.choices,
                OutboxMessage.attempts,
                OutboxMessage.address_id,
                OutboxMessage.priority,
            )
        )
        async with self.database.transaction() as connection:
            result = await connection.execute(claim)
            return sorted((Claimed(*row) for row in result.all()), key=lambda r: (r.priority, r.id))

    async def _send(self, row: Claimed) -> Result:
        channel = self.channels[row.channel]
        async with self._semaphore:
            try:
                provider_id = await channel.send(row.recipient, row.body, row.choices)
            except SendError as error:
                if error.retry_after:
                    self._paused_until[row.channel] = time.monotonic() + error.retry_after
                return Result(row, error=error)
            except Exception as error:  # an adapter bug: keep the row, retry later
                log.exception("unclassified send failure on %s", row.channel)
                return Result(row, error=SendError("error", repr(error), retryable=True))
        return Result(row, provider_id=provider_id)

    async def _record(self, results: list[Result]) -> None:
        now = self.clock()
        updates: list[dict] = []
        address_marks: list[tuple[int, str]] = []
        for result in results:
            row, error = result.row, result.error
            values: dict = {"id": row.id, "lease_until": None, "updated_at": now}
            if error is None:
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


def _by_keys(rows: list[dict]) -> list[list[dict]]:
    """Bulk UPDATE by primary key needs the same columns in every row of one call."""
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())
