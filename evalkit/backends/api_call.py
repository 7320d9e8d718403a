"""One OpenAI-compatible request with retries, streaming, timing and cost.

Retried: 408, 409, 429, 5xx, connection errors, timeouts, malformed or truncated answers; with
exponential back-off and full jitter, never sooner than a `Retry-After` the server sent. Failed at
once: every other 4xx (a bad request will not get better). After `max_tries` the sample's
generation carries the last error; nothing is raised to the run.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from evalkit.backends.ratelimit import AdaptiveLimit, MinuteBudget
from evalkit.pricing import Price, estimate_tokens
from evalkit.types import Generation, Request

RETRYABLE_STATUS = {408, 409, 429}


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class FatalError(Exception):
    pass


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


@dataclass
class Reply:
    texts: list[str]
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    first_token_s: float | None
    logprobs: Any = None


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


def retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own back-off


@dataclass
class ApiCall:
    session: aiohttp.ClientSession
    settings: CallSettings
    limit: AdaptiveLimit
    rpm: MinuteBudget | None = None
    tpm: MinuteBudget | None = None
    price: Price | None = None
    attempts: int = 0

    async def many(self, requests: list[Request]) -> list[Generation]:
        return list(await asyncio.gather(*(self.one(r) for r in requests)))

    async def close(self) -> None:
        await self.session.close()

    async def one(self, request: Request) -> Generation:
        s = self.settings
        last_error = "no attempt made"
        history: list[str] = []
        started = time.perf_counter()
        for attempt in range(1, s.max_tries + 1):
            await self._admit(request)
            t0 = time.perf_counter()
            rate_limited, retry_after = False, None
            try:
                reply = await asyncio.wait_for(self._send(request), timeout=s.timeout_s)
            except FatalError as exc:
                await self.limit.release(rate_limited=False)
                return Generation(error=str(exc), latency_s=time.perf_counter() - started)
            except RetryableError as exc:
                last_error, retry_after, rate_limited = str(exc), exc.retry_after, exc.rate_limited
            except TimeoutError:
                last_error = f"timed out after {s.timeout_s:g} s"
            except (aiohttp.ClientError, json.JSONDecodeError, KeyError, TypeError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                await self.limit.release(rate_limited=False)
                return self._generation(reply, t0, attempt)
            history.append(last_error.split(":")[0])
            await self.limit.release(rate_limited=rate_limited)
            if attempt < s.max_tries:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        return Generation(
            error=f"gave up after {s.max_tries} tries: {last_error}",
            latency_s=time.perf_counter() - started,
            metadata={"attempt_errors": history},
        )

    async def _admit(self, request: Request) -> None:
        if self.rpm is not None:
            await self.rpm.take(1)
        if self.tpm is not None:
            prompt = sum(estimate_tokens(m.content) for m in request.messages)
            await self.tpm.take(prompt + request.params.max_new_tokens)
        await self.limit.acquire()
        self.attempts += 1

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        s = self.settings
        jittered = random.uniform(0, min(s.backoff_max_s, s.backoff_base_s * 2 ** (attempt - 1)))
        return max(jittered, retry_after or 0.0)

    def _generation(self, reply: Reply, t0: float, attempt: int) -> Generation:
        cost = self.price.cost(reply.input_tokens, reply.output_tokens) if self.price else None
        metadata: dict[str, Any] = {"attempts": attempt}
        if len(reply.texts) > 1:
            metadata["choices"] = reply.texts
        if reply.logprobs is not None:
            metadata["logprobs"] = reply.logprobs
        return Generation(
            text=reply.texts[0] if reply.texts else "",
            finish_reason=reply.finish_reason,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            latency_s=time.perf_counter() - t0,
            time_to_first_token_s=reply.first_token_s,
            cost_usd=cost,
            metadata=metadata,
        )

    async def _send(self, request: Request) -> Reply:
        path = "chat/completions" if self.settings.endpoint == "chat" else "completions"
        t0 = time.perf_counter()
        async with self.session.post(path, json=payload(request, self.settings)) as response:
            if response.status != 200:
                await _raise_for_status(response)
            if self.settings.stream and response.content_type == "text/event-stream":
                return await _read_stream(response, t0, self.settings.endpoint)
            return _parse_body(await response.json(content_type=None), self.settings.endpoint)


async def _raise_for_status(response: aiohttp.ClientResponse) -> None:
    detail = (await response.text())[:200].replace("\n", " ")
    message = f"HTTP {response.status}: {detail}"
    if response.status in RETRYABLE_STATUS or response.status >= 500:
        raise RetryableError(
            message,
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            rate_limited=response.status == 429,
        )
    raise FatalError(message)


def _choice_text(choice: dict[str, Any], endpoint: str) -> str:
    if endpoint == "chat":
        return str(choice["message"].get("content") or "")
    return str(choice["text"])


def _parse_body(body: dict[str, Any], endpoint: str) -> Reply:
    choices = sorted(body["choices"], key=lambda c: c.get("index", 0))
    usage = body.get("usage") or {}
    return Reply(
        texts=[_choice_text(c, endpoint) for c in choices],
        finish_reason=choices[0].get("finish_reason") if choices else None,
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        first_token_s=None,
        logprobs=choices[0].get("logprobs") if choices else None,
    )


async def _read_stream(response: aiohttp.ClientResponse, t0: float, endpoint: str) -> Reply:
    texts: dict[int, list[str]] = {}
    finish: str | None = None
    usage: dict[str, Any] = {}
    first: float | None = None
    done = False
    async for raw in response.content:
        line = raw.decode("utf-8").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            done = True
            break
        chunk = json.loads(data)
        usage = chunk.get("usage") or usage
        for choice in chunk.get("choices") or []:
            piece = (
                choice.get("delta", {}).get("content") if endpoint == "chat" else choice.get("text")
            )
            if piece:
                first = first if first is not None else time.perf_counter() - t0
                texts.setdefault(choice.get("index", 0), []).append(piece)
            finish = choice.get("finish_reason") or finish
    if not done:
        raise RetryableError("stream ended before [DONE] (truncated answer)")
    return Reply(
        texts=["".join(texts[i]) for i in sorted(texts)] or [""],
        finish_reason=finish,
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        first_token_s=first,
    )
