"""Retry-After (RFC 9110 section 10.2.3: delay-seconds or HTTP-date) and `retry-after-ms`, the
back-off that never undercuts them, and the per-sample retry time budget."""

from __future__ import annotations

import asyncio
import random
import time
from email.utils import format_datetime, formatdate

import pytest

from evalkit.backends.api_call import retry_after_seconds
from evalkit.backends.openai_api import OpenAIBackend
from evalkit.backends.retry import SERVER_DELAY_SLACK_S, RetryPolicy
from tests.backends.fault_server import FaultServer
from tests.backends.test_openai import ask, backend

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z, a fixed "now" for the date forms


def http_date(unix: float) -> str:
    return formatdate(unix, usegmt=True)  # IMF-fixdate, e.g. "Tue, 14 Nov 2023 22:13:50 GMT"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "120"}, 120.0),
        ({"Retry-After": " 0 "}, 0.0),
        ({"Retry-After": "1.5"}, 1.5),  # not RFC delay-seconds, but unambiguous
        ({"retry-after": "7"}, 7.0),  # header names are case-insensitive
        ({"Retry-After": http_date(NOW + 30)}, 30.0),
        ({"Retry-After": http_date(NOW - 3600)}, 0.0),  # a date in the past: now
        ({"Retry-After": "Sunday, 06-Nov-94 08:49:37 GMT"}, 0.0),  # RFC 850 form, long past
        ({"Retry-After": "Tue Nov 14 22:14:20 2023"}, 60.0),  # asctime form (GMT)
        ({"retry-after-ms": "1500"}, 1.5),
        ({"Retry-After-Ms": "250.5"}, 0.2505),
        ({"retry-after-ms": "2000", "Retry-After": "30"}, 2.0),  # ms wins, as in openai-python
        ({"retry-after-ms": "soon", "Retry-After": "30"}, 30.0),  # unreadable ms: the other
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float) -> None:
    assert retry_after_seconds(headers, now=NOW) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    "value", ["", "   ", "soon", "-5", "inf", "nan", "1e400", "30 seconds", "Tue, 99 Foo 2023"]
)
def test_unreadable_retry_after_is_none(value: str) -> None:
    assert retry_after_seconds({"Retry-After": value}, now=NOW) is None
    assert retry_after_seconds({"retry-after-ms": value}, now=NOW) is None


def test_no_header_is_none_and_the_default_now_is_the_clock() -> None:
    assert retry_after_seconds({}) is None
    from datetime import UTC, datetime

    ahead = format_datetime(datetime.fromtimestamp(time.time() + 100, UTC), usegmt=True)
    assert 98.0 <= retry_after_seconds({"Retry-After": ahead}) <= 100.0  # type: ignore[operator]


def test_wait_is_the_larger_of_own_backoff_and_the_server_delay() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=60.0, max_retry_time_s=600)
    for attempt in range(1, 8):
        # the server's delay is never undercut, whatever the jitter draws
        for seed in range(50):
            wait = policy.wait(attempt, 3.0, random.Random(seed))
            own = random.Random(seed).uniform(0, min(60.0, 2 ** (attempt - 1)))
            assert wait == max(own, 3.0 + SERVER_DELAY_SLACK_S)
    assert policy.wait(1, None, random.Random(0)) == random.Random(0).uniform(0, 1.0)
    # our own back-off gives way to the budget; the server's delay never does
    assert policy.wait(7, None, random.Random(0), left_s=0.001) <= 0.001
    assert policy.wait(7, None, random.Random(0), left_s=-5) == 0.0
    assert policy.wait(7, 10.0, random.Random(0), left_s=1.0) == 10.0 + SERVER_DELAY_SLACK_S


def test_budget_refuses_a_retry_it_cannot_wait_for() -> None:
    policy = RetryPolicy(backoff_base_s=1.0, backoff_max_s=60.0, max_retry_time_s=100)
    assert policy.refusal(spent_s=10, wait_s=80, server_delay=None) is None
    reason = policy.refusal(spent_s=10, wait_s=120, server_delay=120)
    assert reason == (
        "the server asks to wait 120.0 s, more than the 90.0 s left of model.max_retry_time_s=100"
    )
    reason = policy.refusal(spent_s=99, wait_s=2, server_delay=None)
    assert reason == (
        "no time left for a retry (99.0 s spent, then 2.0 s back-off; model.max_retry_time_s=100)"
    )


class FakeClock:
    """Real time plus every second slept, without the sleeping."""

    def __init__(self) -> None:
        self.skipped = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return time.monotonic() + self.skipped

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.skipped += seconds
        await asyncio.sleep(0)


def faked(b: OpenAIBackend, clock: FakeClock) -> OpenAIBackend:
    b._call.clock = clock.now
    b._call.sleep = clock.sleep
    b._call.rng = random.Random(0)  # the jitter drawn is the same on every run
    return b


@pytest.mark.parametrize(
    ("action", "at_least"),
    [("429date:30", 29.0), ("429ms:30000", 30.0), ("429:30", 30.0), ("503:45", 45.0)],
)
def test_the_server_delay_is_waited_out_in_every_form(action: str, at_least: float) -> None:
    """A date names a whole second, so a date 30 s ahead is 29 to 30 s away."""
    clock = FakeClock()
    with FaultServer() as server:
        server.script["p"] = [action, "ok"]
        [g] = ask(faked(backend(server, backoff_base_s=0.01), clock), "p")
    assert g.error is None and g.metadata["attempts"] == 2
    [slept] = clock.sleeps
    assert at_least <= slept <= at_least + 1.0 + SERVER_DELAY_SLACK_S


def test_a_server_delay_beyond_the_budget_fails_at_once() -> None:
    clock = FakeClock()
    with FaultServer() as server:
        server.script["p"] = ["429:900", "ok"]
        [g] = ask(faked(backend(server, max_retry_time_s=600, max_tries=6), clock), "p")
        assert len(server.attempts["p"]) == 1
    assert clock.sleeps == []
    assert g.error is not None and g.error.startswith(
        "gave up after 1 try, the server asks to wait 900.0 s, more than the "
    )
    assert "s left of model.max_retry_time_s=600: HTTP 429" in g.error


def test_retrying_stops_when_the_time_budget_is_spent() -> None:
    """The run-level failure guard (10 failures in a row stop the run) is raised out of the way:
    with small jitter draws more than 10 tries fit in 30 s, and this is about the per-sample
    budget, not the guard."""
    clock = FakeClock()
    options = {"max_tries": 1000, "backoff_base_s": 4.0, "backoff_max_s": 8.0}
    with FaultServer() as server:
        server.script["p"] = ["503"]
        b = faked(backend(server, max_retry_time_s=30.0, **options), clock)
        b.failure_guard.max_consecutive = 10_000
        [g] = ask(b, "p")
        tries = len(server.attempts["p"])
    assert 3 <= tries < 1000
    assert sum(clock.sleeps) <= 30.0
    assert g.error is not None and "no time left for a retry" in g.error
    assert "back-off; model.max_retry_time_s=30): HTTP 503" in g.error


def test_a_real_retry_comes_no_sooner_than_retry_after_ms() -> None:
    with FaultServer() as server:
        server.script["p"] = ["429ms:1200", "ok"]
        [g] = ask(backend(server, backoff_base_s=0.01), "p")
        first, second = server.attempts["p"]
    assert g.error is None and g.metadata["attempts"] == 2
    assert second - first >= 1.2


def test_a_real_retry_waits_for_an_http_date() -> None:
    wall = time.time() - time.monotonic()  # the server records monotonic times
    with FaultServer() as server:
        server.script["p"] = ["429date:2", "ok"]
        [g] = ask(backend(server, backoff_base_s=0.01), "p")
        first, second = server.attempts["p"]
    assert g.error is None and g.metadata["attempts"] == 2
    # the server's date is the whole second at or before (its answer's time + 2 s)
    assert second + wall >= int(first + wall + 2) - 0.005
