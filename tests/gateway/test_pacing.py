"""Rates: strict per channel, per chat with a short burst; through the real SDKs and fakes."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import random

import pytest
from aiotools import VirtualClock
from sqlalchemy import insert

from gateway.sending.pacing import MARGIN, Pacer, PerKeyPacer, WindowLimiter
from storage.models import OutboxMessage
from tests.harness import start_harness, stop_harness


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.unit
def test_pacer_spaces_slots_strictly():
    clock = FakeClock()
    pacer = Pacer(10, clock=clock)
    delays = [pacer.reserve() for _ in range(5)]
    assert delays[0] == 0 and all(b > a for a, b in itertools.pairwise(delays))
    assert abs(delays[4] - 4 / (10 * MARGIN)) < 1e-9
    pacer.hold_until(clock.now + 5)
    assert pacer.reserve() >= 5


@pytest.mark.unit
async def test_window_limiter_holds_the_limit_as_the_provider_counts_it():
    """A provider counts on arrival; stalls bunch arrivals. Sends go as fast as the limiter
    lets them; no sliding second of arrivals may exceed the limit, yet the rate stays near it.
    In virtual time: the loop's clock jumps to the next timer instead of sleeping."""
    limit, duration = 40, 5.0
    loop = asyncio.get_running_loop()
    with VirtualClock().patch_loop():
        limiter = WindowLimiter(limit)  # on the loop's clock, as in production
        arrivals: list[float] = []
        rng = random.Random(7)

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
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=duration * 100)
    arrivals.sort()
    busiest = max(bisect.bisect_left(arrivals, t + 1.0) - i for i, t in enumerate(arrivals))
    assert busiest <= limit
    assert len([t for t in arrivals if t < start + 1.0]) >= limit * 0.9  # not starved
    assert len(arrivals) >= limit * duration * 0.8  # and kept near the limit throughout


@pytest.mark.unit
async def test_window_limiter_forgets_a_cancelled_waiter():
    with VirtualClock().patch_loop():
        limiter = WindowLimiter(20, window=0.05)  # one request per 50 ms
        await limiter.acquire()
        waiting = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        limiter.release()
        await asyncio.sleep(0.06)
        await asyncio.wait_for(limiter.acquire(), 0.5)  # the cancelled waiter took nothing


@pytest.mark.unit
async def test_window_limiter_on_an_injected_clock():
    """Given a clock, it reads that one: slots come back `window` after the answers."""
    clock = FakeClock()
    limiter = WindowLimiter(2, window=1.0, clock=clock)
    await limiter.acquire()
    await limiter.acquire()
    limiter.release()
    limiter.release()
    assert limiter._occupied(clock()) == 2  # both answers still in the window
    clock.now += 1.0
    assert limiter._occupied(clock()) == 0
    await asyncio.wait_for(limiter.acquire(), 0.5)


@pytest.mark.unit
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
