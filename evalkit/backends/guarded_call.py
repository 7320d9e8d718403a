"""An `ApiCall` that reports every attempt to a `FailureGuard` and sends nothing once it tripped.

The retry loop stays in `ApiCall.one`; this only wraps the single HTTP attempt (`_send`), so a
tripped guard turns every later attempt, and every retry still waiting, into an immediate
failure instead of `max_tries` x `timeout_s` per sample.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from evalkit.abort import FailureGuard
from evalkit.backends.api_call import ApiCall
from evalkit.backends.api_reply import FatalError, Reply, RetryableError
from evalkit.types import Request


@dataclass
class GuardedCall(ApiCall):
    guard: FailureGuard = field(default_factory=FailureGuard)

    async def _send(self, request: Request) -> Reply:
        if self.guard.reason is not None:
            raise FatalError(f"not sent: the run is stopping ({self.guard.reason})")
        try:
            reply = await super()._send(request)
        except RetryableError as exc:
            if not exc.rate_limited:
                self.guard.failure(str(exc))
            raise
        except FatalError as exc:
            self.guard.failure(str(exc))
            raise
        except asyncio.CancelledError:  # the attempt's timeout cancelled it
            self.guard.failure(f"timed out after {self.settings.timeout_s:g} s")
            raise
        except Exception as exc:
            self.guard.failure(f"{type(exc).__name__}: {exc}")
            raise
        self.guard.success()
        return reply
