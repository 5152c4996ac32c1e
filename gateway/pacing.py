"""Keeping a channel under its sending rate, strictly: no bursts for a provider to throttle."""

from __future__ import annotations

import time

# A provider counting in a sliding one-second window sees rate + 1 sends across a boundary when
# they are spaced at exactly 1/rate, and network jitter bunches them further; a 3% margin keeps
# us under it at the cost of 3% speed.
MARGIN = 0.97


class Pacer:
    """Hands out send slots at most `rate` per second; shared by concurrent senders.

    reserve() is synchronous, so slots never collide between coroutines; the caller sleeps
    the returned delay, then sends.
    """

    def __init__(self, rate: float, clock=time.monotonic) -> None:
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

    def __init__(self, rate: float, burst: int = 3, clock=time.monotonic) -> None:
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
