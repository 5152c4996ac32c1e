"""Rates: strict per channel, per chat with a short burst; through the real SDKs and fakes."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random

from sqlalchemy import insert

from gateway.sending.pacing import MARGIN, Pacer, PerKeyPacer, WindowLimiter
from storage.models import OutboxMessage
from tests.harness import start_harness, stop_harness


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_spaces_slots_strictly():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    delays = [pacer.reserve() for _ in range(5)]
    assert delays[0] == 0 and all(b > a for a, b in itertools.pairwise(delays))
    assert abs(delays[4] - 4 / (10 * MARGIN)) < 1e-9
    pacer.hold_until(clock.now + 5)
    assert pacer.reserve() >= 5


async def test_window_limiter_holds_the_limit_as_the_provider_counts_it():
    """A provider counts on arrival; stalls bunch arrivals. Sends go as fast as the limiter
    lets them; no sliding second of arrivals may exceed the limit, yet the rate stays near it."""
    limit, duration = 40, 1.6
    limiter = WindowLimiter(limit)
    arrivals: list[float] = []
    rng = random.Random(7)
    loop = asyncio.get_running_loop()

    async def one_request() -> None:
        await limiter.acquire()
        try:
            await asyncio.sleep(rng.choice([0, 0.001, 0.003, 0.08]))  # on the way, or stalled
            arrivals.append(loop.time())
            await asyncio.sleep(rng.uniform(0, 0.004))  # the answer coming back
        finally:
            limiter.release()

    start = loop.time()
    tasks = []
    while loop.time() - start < duration:
        tasks.append(asyncio.create_task(one_request()))
        await asyncio.sleep(0.002)  # offered at 500/s, far above the limit
    await asyncio.gather(*tasks)
    arrivals.sort()
    busiest = max(bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
    assert busiest <= limit
    assert len([t for t in arrivals if t < start + 1.0]) >= limit * 0.9  # not starved


async def test_window_limiter_forgets_a_cancelled_waiter():
    limiter = WindowLimiter(20, window=0.05)  # one request per 50 ms
    await limiter.acquire()
    waiting = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    limiter.release()
    await asyncio.sleep(0.06)
    await asyncio.wait_for(limiter.acquire(), 0.5)  # the cancelled waiter took nothing


def test_per_chat_allows_a_burst_then_one_per_second():
    clock = FakeClock()
    chats = PerKeyPacer(1.0, burst=3, clock=clock)
    assert [chats.reserve("42") for _ in range(3)] == [0, 0, 0]
    assert chats.reserve("42") == 1.0
    assert chats.reserve("7") == 0  # other chats are not held back
    clock.now += 10
    assert chats.reserve("42") == 0


async def queue(harness, channel: str, recipients: list[str], priority: int = 1) -> None:
    rows = [
        {"channel": channel, "recipient": recipient, "body": f"message {n}", "priority": priority}
        for n, recipient in enumerate(recipients)
    ]
    async with harness.database.transaction() as connection:
        await connection.execute(insert(OutboxMessage.__table__), rows)
    harness.dispatcher.wake()


async def test_sms_rate_is_kept_with_no_throttling(tmp_path):
    harness, runner = await start_harness(
        f"sqlite:///{tmp_path / 'b.db'}", twilio_rate=20.0, sms_rate=20.0
    )
    try:
        await queue(harness, "sms", [f"+2237600{n:04d}" for n in range(40)])
        sent = await harness.twilio.wait_for_messages(40, timeout=10)
        span = sent[-1].at - sent[0].at
        assert harness.twilio.throttled_count == 0
        assert 39 / span <= 20.0 and 39 / span >= 0.9 * 20.0
    finally:
        await stop_harness(harness, runner)


async def test_telegram_per_chat_pacing(tmp_path):
    harness, runner = await start_harness(f"sqlite:///{tmp_path / 'b.db'}", telegram_chat_rate=2.0)
    try:
        await queue(harness, "telegram", ["555"] * 5, priority=0)
        sent = await harness.telegram.wait_for_messages(5, chat_id=555, timeout=10)
        offsets = [message.at - sent[0].at for message in sent]
        assert offsets[2] < 0.2  # the burst
        assert offsets[3] >= 0.45 and offsets[4] >= 0.95  # then two a second
    finally:
        await stop_harness(harness, runner)
