"""Keeping a channel under its sending rate, strictly: no bursts for a provider to throttle."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]  # seconds, monotonic

# The Pacer spaces sends evenly a little under the limit; the WindowLimiter below is what
# guarantees the provider never counts more than the limit, whatever the jitter.
MARGIN = 0.99
# An answer leaves the window this much early: a timer set for that moment can fire a hair
# before it (float sums, the loop's clock resolution), and would otherwise be set again, and
# again, for less than the clock can tell apart. A microsecond is nothing to a provider's count.
TOLERANCE = 1e-6  # seconds


class Pacer:
    """Hands out send slots at most `rate` per second; shared by concurrent senders.

    reserve() is synchronous, so slots never collide between coroutines; the caller sleeps
    the returned delay, then sends.
    """

    def __init__(self, rate: float, clock: Clock = time.monotonic) -> None:
        self.interval = 1.0 / (rate * MARGIN)
        self.clock = clock
        self._next = 0.0

    def reserve(self) -> float:
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + self.interval
        return slot - now

    def hold_until(self, moment: float) -> None:
        """No slot before `moment` (a provider asked us to wait)."""
        self._next = max(self._next, moment)

    def held_until(self) -> float:
        return self._next


class PerKeyPacer:
    """Per recipient: Telegram allows about one message per second to one chat, and tolerates a
    short burst (a reply in two messages should not make the member wait a second)."""

    def __init__(self, rate: float, burst: int = 3, clock: Clock = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key → (tokens, at)

    def reserve(self, key: str) -> float:
        now = self.clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate) - 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 10_000:  # forget chats that are full again: memory stays bounded
            self._buckets = {
                k: v
                for k, v in self._buckets.items()
                if v[0] + (now - v[1]) * self.rate < self.burst
            }
        return 0.0 if tokens >= 0 else -tokens / self.rate


class WindowLimiter:
    """Never more than `limit` requests in any `window` seconds *as the provider counts them*.

    A provider counts a request when it arrives, somewhere between our sending it and our
    reading its answer; network or server stalls bunch arrivals together, so spacing the sends
    is not enough (it gave 20429s in the benchmark). Here a request occupies the window from
    the moment it is sent until `window` seconds after its answer; a new one starts only while
    fewer than `limit` do. Any `window` of arrivals then holds at most `limit`: the last request
    sent among them found all the others still occupying it. The price is a rate of
    limit / (1 + latency), close to the limit on a fast link.
    """

    def __init__(self, limit: float, window: float = 1.0, clock: Clock | None = None) -> None:
        self.window = max(window, 1.0 / limit)  # below 1/s, one request per 1/limit seconds
        self.capacity = max(1, int(limit * self.window))
        # Its timers run on the event loop, so by default it reads the loop's clock (which is
        # time.monotonic, unless a test runs the loop in virtual time).
        self._clock = clock
        self._answered: deque[float] = deque()  # answer times within the last window
        self._in_flight = 0
        # Waiters are served first come, first served by one timer, not woken all at once:
        # a batch of 500 sends waiting here must not cost 500 wake-ups per free slot.
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def clock(self) -> float:
        return self._clock() if self._clock else asyncio.get_running_loop().time()

    def _occupied(self, now: float) -> int:
        while self._answered and now - self._answered[0] >= self.window - TOLERANCE:
            self._answered.popleft()
        return len(self._answered) + self._in_flight

    async def acquire(self) -> None:
        if not self._waiters and self._occupied(self.clock()) < self.capacity:
            self._in_flight += 1
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._schedule()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # granted just as we were cancelled: give it back
            raise

    def release(self) -> None:
        """The request was answered (or failed: it may have been counted all the same)."""
        self._in_flight -= 1
        self._answered.append(self.clock())
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None or not self._waiters:
            return
        if self._occupied(self.clock()) < self.capacity:
            delay = 0.0
        elif self._answered:  # room comes back when the oldest answer leaves the window
            delay = self._answered[0] + self.window - self.clock()
        else:
            return  # every slot is a request in flight: release() schedules us
        self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._grant)

    def _grant(self) -> None:
        self._timer = None
        while self._waiters and self._occupied(self.clock()) < self.capacity:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)
        self._schedule()
