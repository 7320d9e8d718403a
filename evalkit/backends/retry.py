"""When to retry an API request: the server's `Retry-After`, our own back-off, a time budget.

The server's delay is read as openai-python reads it: `retry-after-ms` (milliseconds) first, then
`Retry-After` as delay-seconds or as an HTTP-date (RFC 9110 section 10.2.3, parsed with
`email.utils.parsedate_to_datetime`). A retry never comes sooner than the server asks: the wait is
max(own back-off, server's delay) plus a few milliseconds, since both header forms are rounded down
(to the millisecond, to the second) and a retry landing a hair early would be refused again.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

SERVER_DELAY_SLACK_S = 0.05
"""Added to a server's delay: the header is rounded down, and our clock and its may differ."""


def _seconds(value: str) -> float | None:
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _http_date(value: str, now: float) -> float | None:
    """Seconds from `now` until an HTTP-date, in any of RFC 9110's three forms (IMF-fixdate,
    RFC 850, asctime); a date without a zone (asctime, "-0000") is GMT, as every HTTP-date is."""
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The delay in seconds (>= 0) a response's headers ask for before the next request.

    `retry-after-ms` wins when it is a valid number (as in openai-python); otherwise
    `Retry-After` as delay-seconds, or as an HTTP-date compared with `now` (Unix seconds; the
    current time by default), a date in the past giving 0. None when neither header is present
    or readable (a malformed header is ignored, and our own back-off applies).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    if (ms := lower.get("retry-after-ms")) is not None and (value := _seconds(ms)) is not None:
        return value / 1000.0
    raw = lower.get("retry-after")
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if (value := _seconds(raw)) is not None:
        return value
    return _http_date(raw, time.time() if now is None else now)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, capped, never below the server's delay."""

    backoff_base_s: float
    backoff_max_s: float
    max_retry_time_s: float

    def wait(
        self,
        attempt: int,
        server_delay: float | None,
        rng: random.Random,
        left_s: float = math.inf,
    ) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): our own back-off,
        shortened to the `left_s` seconds left of the budget, but never below the server's."""
        own = rng.uniform(0, min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempt - 1)))
        own = max(0.0, min(own, left_s))
        if server_delay is None:
            return own
        return max(own, server_delay + SERVER_DELAY_SLACK_S)

    def refusal(self, spent_s: float, wait_s: float, server_delay: float | None) -> str | None:
        """Why no retry may start after `wait_s` more seconds, when `spent_s` are already spent
        on this sample; None when it may."""
        left = self.max_retry_time_s - spent_s
        if spent_s + wait_s <= self.max_retry_time_s:
            return None
        budget = f"model.max_retry_time_s={self.max_retry_time_s:g}"
        if server_delay is not None and server_delay + SERVER_DELAY_SLACK_S >= wait_s:
            return (
                f"the server asks to wait {server_delay:.1f} s, more than the {max(left, 0):.1f} s"
                f" left of {budget}"
            )
        waits = f"{spent_s:.1f} s spent, then {wait_s:.1f} s back-off"
        return f"no time left for a retry ({waits}; {budget})"
