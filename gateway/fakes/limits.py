"""The rate limits the fake providers enforce, counted the way providers count: on arrival, in a
sliding window."""

from __future__ import annotations

import math
from collections import deque


class SlidingWindow:
    """At most `rate` admissions per second (sliding); rates below 1/s widen the window."""

    def __init__(self, rate: float) -> None:
        self.window = max(1.0, 1.0 / rate)
        self.capacity = max(1, int(rate * self.window))
        self._hits: deque[float] = deque()

    def retry_after(self, now: float) -> int:
        """0 if an event is admitted now, else whole seconds until one would be."""
        while self._hits and now - self._hits[0] >= self.window:
            self._hits.popleft()
        if len(self._hits) < self.capacity:
            return 0
        return max(1, math.ceil(self._hits[0] + self.window - now))

    def hit(self, now: float) -> None:
        self._hits.append(now)

    def admit(self, now: float) -> bool:
        """Count the event if it is admitted now; False (and nothing counted) if not."""
        if self.retry_after(now):
            return False
        self.hit(now)
        return True
