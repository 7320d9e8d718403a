"""Stop a run that cannot succeed, early and with one line, instead of failing every sample.

A `FailureGuard` watches one backend's requests. It trips

- at once on an error that will not get better by retrying (`HTTP 401`, `403`, `404`: a wrong
  key, no access, no such model), and
- after `max_consecutive` failed attempts in a row with no success in between (server down,
  every request hanging until its timeout). Rate limiting (429) is not a failure here.

Once tripped, the backend sends nothing more, and the pipeline stops the run with `RunAborted`
(exit status 3). Finished samples stay in samples.jsonl and the cache; a rerun resumes.
"""

from __future__ import annotations

import threading

DEFAULT_MAX_CONSECUTIVE_FAILURES = 10
NOT_RETRYABLE = ("HTTP 401", "HTTP 403", "HTTP 404")


class RunFailed(Exception):
    """Samples failed and the user asked to hear it (`fail_on_errors=true`): exit status 1."""

    exit_status = 1


class RunAborted(RunFailed):
    """The run stopped before its end, or every sample failed (nothing computed is lost):
    exit status 3."""

    exit_status = 3


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs (records kept, pool shut,
    run.json marked interrupted); `evalkit` exits 143 instead of 130."""


def stop_cause(exc: BaseException) -> str:
    """What a KeyboardInterrupt was: 'SIGTERM' (Terminated) or 'SIGINT (Ctrl-C)'."""
    return "SIGTERM" if isinstance(exc, Terminated) else "SIGINT (Ctrl-C)"


class FailureGuard:
    """Counts consecutive failed attempts of one backend; thread-safe."""

    def __init__(self, max_consecutive: int = DEFAULT_MAX_CONSECUTIVE_FAILURES) -> None:
        self.max_consecutive = max_consecutive
        self.consecutive = 0
        self.reason: str | None = None
        self._lock = threading.Lock()

    def success(self) -> None:
        with self._lock:
            self.consecutive = 0

    def failure(self, message: str) -> None:
        """One failed attempt; trips the guard when it is the `max_consecutive`-th in a row."""
        if message.startswith(NOT_RETRYABLE):
            self.trip(f"{message} (not retryable: stopped at once)")
            return
        with self._lock:
            self.consecutive += 1
            count = self.consecutive
        if count >= self.max_consecutive:
            self.trip(f"{count} requests in a row failed, the last with: {message}")

    def trip(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason

    @property
    def tripped(self) -> bool:
        return self.reason is not None
