"""Async admission control for API backends: a concurrency cap that backs off after 429s, and
requests-per-minute / tokens-per-minute budgets.

`AdaptiveLimit` starts at the configured cap. A rate-limit answer halves the allowed number of
requests in flight (never below one); every run of successes as long as the current limit adds
one back, up to the cap (additive increase, multiplicative decrease, as TCP does).
"""

from __future__ import annotations

import asyncio
import time


class AdaptiveLimit:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.limit = cap
        self.in_flight = 0
        self.peak_in_flight = 0
        self._successes = 0
        self._changed = asyncio.Condition()

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    async def release(self, *, rate_limited: bool) -> None:
        async with self._changed:
            self.in_flight -= 1
            if rate_limited:
                self.limit = max(1, self.limit // 2)
                self._successes = 0
            else:
                self._successes += 1
                if self._successes >= self.limit and self.limit < self.cap:
                    self.limit += 1
                    self._successes = 0
            self._changed.notify_all()


class MinuteBudget:
    """A token bucket refilled continuously at `per_minute` units per minute."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self._available = per_minute
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        amount = min(amount, self.per_minute)  # one oversized request must still pass eventually
        async with self._lock:
            while True:
                now = time.monotonic()
                rate = self.per_minute / 60.0
                self._available = min(
                    self.per_minute, self._available + (now - self._updated) * rate
                )
                self._updated = now
                if self._available >= amount:
                    self._available -= amount
                    return
                await asyncio.sleep((amount - self._available) / rate)
