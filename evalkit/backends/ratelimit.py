"""Async admission control for API backends: a concurrency cap that backs off after 429s, and
requests-per-minute / tokens-per-minute budgets.

`AdaptiveLimit` starts at the configured cap. A rate-limit answer halves the allowed number of
requests in flight (never below one); every run of successes as long as the current limit adds
one back, up to the cap (additive increase, multiplicative decrease, as TCP does).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque


class AdaptiveLimit:
    """A semaphore whose size moves between 1 and `cap`; waiters are served first come, first
    served, and a release wakes exactly one of them (not all: thousands may be waiting)."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.limit = cap
        self.in_flight = 0
        self.peak_in_flight = 0
        self._successes = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self._admit()
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter  # _wake admitted us (in_flight already counts this request)
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.in_flight -= 1  # admitted, then cancelled: give the place back
                self._wake()
            raise

    async def release(self, *, rate_limited: bool) -> None:
        self.in_flight -= 1
        if rate_limited:
            self.limit = max(1, self.limit // 2)
            self._successes = 0
        else:
            self._successes += 1
            if self._successes >= self.limit and self.limit < self.cap:
                self.limit += 1
                self._successes = 0
        self._wake()

    def _admit(self) -> None:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._admit()
                waiter.set_result(None)


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
