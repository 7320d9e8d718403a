"""One OpenAI-compatible request with retries, streaming, timing and cost.

Retried: 408, 409, 429, 5xx, connection errors, timeouts, malformed or cut-off answers, error
objects in a body or stream; with exponential back-off and full jitter, never sooner than the
server's `retry-after-ms` / `Retry-After` (seconds or HTTP-date). Failed at once: every other 4xx
(a bad request will not get better), and a retry the sample's time budget (`max_retry_time_s`)
cannot wait for. After `max_tries` the sample's generation carries the last error; nothing is
raised to the run.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from evalkit.backends.api_reply import (
    FatalError,
    Reply,
    RetryableError,
    is_retryable_status,
    parse_body,
    read_stream,
)
from evalkit.backends.inline_reasoning import ReasoningTags, joined, split_inline_reasoning
from evalkit.backends.pricing import Price, estimate_tokens
from evalkit.backends.ratelimit import AdaptiveLimit, MinuteBudget
from evalkit.backends.retry import RetryPolicy, retry_after_seconds
from evalkit.store.redact import redact
from evalkit.types import Generation, Request

__all__ = ["ApiCall", "CallSettings", "payload", "retry_after_seconds"]


@dataclass(frozen=True)
class CallSettings:
    model: str
    endpoint: str
    stream: bool
    timeout_s: float
    max_tries: int
    backoff_base_s: float
    backoff_max_s: float
    logprobs: bool = False
    top_logprobs: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    max_retry_time_s: float = 600.0
    score_reasoning: bool = False
    reasoning_tags: ReasoningTags = "auto"

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.backoff_base_s, self.backoff_max_s, self.max_retry_time_s)


@dataclass
class _Failure:
    """One failed attempt: why, and whether and when it may be retried."""

    error: str
    retry_after: float | None = None
    rate_limited: bool = False
    fatal: bool = False


def payload(request: Request, settings: CallSettings) -> dict[str, Any]:
    p = request.params
    body: dict[str, Any] = {
        "model": settings.model,
        "max_tokens": p.max_new_tokens,
        "temperature": p.temperature,
        "top_p": p.top_p,
        "n": p.n,
        "seed": p.seed,
        **settings.extra_body,
    }
    if p.stop:
        body["stop"] = p.stop
    if settings.endpoint == "chat":
        body["messages"] = [m.model_dump() for m in request.messages]
        if settings.logprobs:
            body["logprobs"] = True
            if settings.top_logprobs is not None:
                body["top_logprobs"] = settings.top_logprobs
    else:
        body["prompt"] = "\n\n".join(m.content for m in request.messages)
        if settings.logprobs:
            body["logprobs"] = settings.top_logprobs or 1
    if settings.stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


@dataclass
class ApiCall:
    """Sends requests; `clock` and `sleep` measure and wait out retries (a test fakes them)."""

    session: aiohttp.ClientSession
    settings: CallSettings
    limit: AdaptiveLimit
    rpm: MinuteBudget | None = None
    tpm: MinuteBudget | None = None
    price: Price | None = None
    attempts: int = 0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)

    async def many(self, requests: list[Request]) -> list[Generation]:
        return list(await asyncio.gather(*(self.one(r) for r in requests)))

    async def close(self) -> None:
        await self.session.close()

    async def one(self, request: Request) -> Generation:
        """Attempts until one succeeds, one fails for good, `max_tries` are spent, or the next
        retry would start after `max_retry_time_s` of attempts and waits (time queued behind the
        concurrency cap or a rate budget does not count)."""
        s = self.settings
        started = time.perf_counter()
        history: list[str] = []
        spent = 0.0
        failure = _Failure("no attempt made")
        for attempt in range(1, s.max_tries + 1):
            outcome, seconds = await self._attempt(request, attempt)
            spent += seconds
            if isinstance(outcome, Generation):
                return outcome
            failure = outcome
            if failure.fatal:
                return Generation(error=failure.error, latency_s=time.perf_counter() - started)
            history.append(failure.error.split(":")[0])
            if attempt == s.max_tries:
                break
            wait = s.policy.wait(attempt, failure.retry_after, self.rng, s.max_retry_time_s - spent)
            refusal = s.policy.refusal(spent, wait, failure.retry_after)
            if refusal is not None:
                return _gave_up(f"after {_tries(attempt)}, {refusal}", failure, started, history)
            t0 = self.clock()
            await self.sleep(wait)
            spent += self.clock() - t0
        return _gave_up(f"after {_tries(s.max_tries)}", failure, started, history)

    async def _attempt(self, request: Request, attempt: int) -> tuple[Generation | _Failure, float]:
        """One request, admitted by the rate budgets and the concurrency cap; with the seconds
        it took from admission."""
        s = self.settings
        await self._admit(request)
        t0, sent = self.clock(), time.perf_counter()
        outcome: Generation | _Failure
        try:
            async with asyncio.timeout(s.timeout_s):  # no extra task per attempt (wait_for's)
                reply = await self._send(request)
        except FatalError as exc:
            outcome = _Failure(str(exc), fatal=True)
        except RetryableError as exc:
            outcome = _Failure(str(exc), exc.retry_after, exc.rate_limited)
        except TimeoutError:
            outcome = _Failure(f"timed out after {s.timeout_s:g} s")
        except (aiohttp.ClientError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            outcome = _Failure(f"{type(exc).__name__}: {exc}")
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            outcome = _Failure(f"malformed answer ({type(exc).__name__}: {exc})")
        else:
            outcome = self._generation(reply, sent, attempt)
        rate_limited = isinstance(outcome, _Failure) and outcome.rate_limited
        await self.limit.release(rate_limited=rate_limited)
        return outcome, self.clock() - t0

    async def _admit(self, request: Request) -> None:
        if self.rpm is not None:
            await self.rpm.take(1)
        if self.tpm is not None:
            prompt = sum(estimate_tokens(m.content) for m in request.messages)
            await self.tpm.take(prompt + request.params.max_new_tokens)
        await self.limit.acquire()
        self.attempts += 1

    def _generation(self, reply: Reply, t0: float, attempt: int) -> Generation:
        """The answer as a Generation; its status (ok / truncated / empty) follows from the text
        and finish reason (`Generation`), and a null answer (`content: null`, parts with no
        text, or a reasoning block never closed) with no text to score is `empty` whatever the
        finish reason, and so is an answer with no text that the server's content filter
        stopped."""
        cost = self.price.cost(reply.input_tokens, reply.output_tokens) if self.price else None
        metadata: dict[str, Any] = {"attempts": attempt}
        answers, reasoning, null = self._answers(reply)
        texts = [self._scored_text(t, r) for t, r in zip(answers, reasoning, strict=True)]
        if len(texts) > 1:
            metadata["choices"] = texts
            if any(reasoning):
                metadata["choice_reasoning"] = reasoning
        if reply.logprobs is not None:
            metadata["logprobs"] = reply.logprobs
        text = texts[0] if texts else ""
        status, error = None, None
        why = null[0] if null else None
        if why is None and reply.finish_reason == "content_filter":
            why = "the server's content filter stopped the answer"
        if why and not text.strip() and reply.finish_reason != "length":
            status, error = "empty", f"empty output: {why} (finish_reason {reply.finish_reason!r})"
        return Generation(
            text=text,
            reasoning=reasoning[0] if reasoning else None,
            finish_reason=reply.finish_reason,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            latency_s=time.perf_counter() - t0,
            time_to_first_token_s=reply.first_token_s,
            cost_usd=cost,
            metadata=metadata,
            status=status,
            error=error,
        )

    def _answers(self, reply: Reply) -> tuple[list[str], list[str | None], list[str | None]]:
        """Per choice: the answer, its reasoning (returned apart, then any inline block split
        off under `reasoning_tags: auto`), and why there is no answer (or None)."""
        answers, reasoning, null = [], [], []
        for i, text in enumerate(reply.texts):
            apart = reply.reasoning[i] if i < len(reply.reasoning) else None
            why = "the answer's content was null" if i < len(reply.null) and reply.null[i] else None
            inline = None
            if self.settings.reasoning_tags == "auto":
                split = split_inline_reasoning(text)
                text, inline = split.answer, split.reasoning
                if split.unclosed:
                    why = "the reasoning block (<think>) was never closed: no answer after it"
            answers.append(text)
            reasoning.append(joined(apart, inline))
            null.append(why)
        return answers, reasoning, null

    def _scored_text(self, text: str, reasoning: str | None) -> str:
        """The text that is scored: the answer, preceded by the reasoning when asked."""
        if not self.settings.score_reasoning or not reasoning:
            return text
        return f"{reasoning}\n\n{text}" if text else reasoning

    async def _send(self, request: Request) -> Reply:
        path = "chat/completions" if self.settings.endpoint == "chat" else "completions"
        t0 = time.perf_counter()
        async with self.session.post(path, json=payload(request, self.settings)) as response:
            if response.status != 200:
                await _raise_for_status(response)
            if self.settings.stream and response.content_type == "text/event-stream":
                return await read_stream(response, t0, self.settings.endpoint)
            return parse_body(await response.json(content_type=None), self.settings.endpoint)


def _tries(n: int) -> str:
    return "1 try" if n == 1 else f"{n} tries"


def _gave_up(why: str, failure: _Failure, started: float, history: list[str]) -> Generation:
    return Generation(
        error=f"gave up {why}: {failure.error}",
        latency_s=time.perf_counter() - started,
        metadata={"attempt_errors": history},
    )


async def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    detail = redact(await response.text())[:200].replace("\n", " ")  # no key's prefix is left
    message = f"HTTP {response.status}: {detail}"
    if is_retryable_status(response.status):
        raise RetryableError(
            message,
            retry_after=retry_after_seconds(response.headers),
            rate_limited=response.status == 429,
        )
    raise FatalError(message)
