"""Reading an OpenAI-compatible answer: a JSON body or a server-sent-event stream.

What is not an answer raises: an error object (`{"error": {...}}`, or vLLM's `{"object": "error"}`)
in a body or inside a stream, which servers send when generation fails after the headers went out
(`RetryableError`, or `FatalError` when its code is a client error such as 400); a stream that
ends before `data: [DONE]` with a choice still unfinished, an answer with no choice at all, a
choice that a server ended with finish_reason "error" or "abort" (in any case), and a body whose
`choices`, `message`, content (a text part's text included) or finish_reason has the wrong shape
(all `RetryableError`). Reasoning text that a server returns apart from the answer
(`reasoning_content`, or `reasoning`, in a message or a stream delta) is collected per choice, and
so is whether a choice's answer was null (`content: null`, a list of parts none of which holds
text, or a stream in which no delta carried any content): no answer, unlike an empty string.
Usage token counts that are not whole numbers from 0 to MAX_TOKENS are unknown (None), as when a
server sends no usage: no cost is computed from them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from evalkit.store.redact import redact

RETRYABLE_STATUS = {408, 409, 429}
REASONING_KEYS = ("reasoning_content", "reasoning")
FAILED_FINISH_REASONS = frozenset({"error", "abort"})
"""Finish reasons of a choice the server stopped without completing: "error" (vLLM: generation
failed) and "abort" (vLLM, SGLang: the request was aborted). Any text before is no answer."""


class RetryableError(Exception):
    def __init__(self, message: str, retry_after: float | None = None, rate_limited: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.rate_limited = rate_limited


class FatalError(Exception):
    pass


@dataclass
class Reply:
    """One answer: a text per choice (index order), the first choice's finish reason; `null`
    per choice: its content was null (no answer at all), not a string."""

    texts: list[str]
    finish_reason: str | None
    input_tokens: int | None
    output_tokens: int | None
    first_token_s: float | None
    logprobs: Any = None
    reasoning: list[str | None] = field(default_factory=list)
    null: list[bool] = field(default_factory=list)


def is_retryable_status(status: int) -> bool:
    return status in RETRYABLE_STATUS or status >= 500


def error_object(payload: dict[str, Any]) -> Any:
    """The error a body or stream chunk carries instead of an answer, or None."""
    if payload.get("error") is not None:
        return payload["error"]
    if payload.get("object") == "error":
        return payload
    return None


def error_exception(error: Any, where: str) -> RetryableError | FatalError:
    """The exception for an error object: fatal for a client-error code (4xx other than 408, 409,
    429: the request will not get better), retryable like a 5xx otherwise."""
    if isinstance(error, dict):
        message = str(error.get("message") or redact(json.dumps(error))[:200])
        kind, code = error.get("type"), error.get("code")
    else:
        message, kind, code = str(error), None, None
    details = [str(kind)] if kind else []
    if code is not None:
        details.append(f"code {code}")
    text = f"error object in the {where}: {message}"
    text += f" ({', '.join(details)})" if details else ""
    status = int(code) if isinstance(code, int | str) and str(code).isdigit() else None
    if status is not None and 400 <= status < 500 and not is_retryable_status(status):
        return FatalError(text)
    return RetryableError(text, rate_limited=status == 429)


TEXT_PART_TYPES = frozenset({"text", "output_text"})
"""Types of a content part that holds answer text: "text" (chat completions) and "output_text"
(the OpenAI Responses API's name, which some servers send in chat answers too)."""

MAX_TOKENS = 10**9
"""The most tokens a usage count may say for one request; above it the count is unknown."""


def _content(value: Any) -> str | None:
    """Message content as text, or None when it holds no answer: null, or a list of parts
    ({type: text | output_text, text}) none of which holds text (`[]`, images only)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts = [p for p in value if isinstance(p, dict) and p.get("type") in TEXT_PART_TYPES]
        texts = [p.get("text") for p in parts]
        if not all(t is None or isinstance(t, str) for t in texts):
            raise RetryableError("malformed answer: a text part's text is not a string")
        strings = [t for t in texts if t is not None]
        return "".join(strings) if strings else None
    if value is None:
        return None
    raise RetryableError("malformed answer: content is not text, null or a list of parts")


def _finish_reason(value: Any) -> str | None:
    """A choice's finish reason, lower-case ("ERROR" is "error"), or None when there is none."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RetryableError("malformed answer: finish_reason is not a string")
    return value.lower() or None


def _count(value: Any) -> int | None:
    """A usage token count, or None (unknown, as when a server sends no usage) for one that is
    not a whole number from 0 to MAX_TOKENS: no cost is computed from a count that is wrong."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        return None
    return value


def _usage(value: Any) -> tuple[int | None, int | None]:
    """Prompt and completion token counts of a `usage` object; unknown where not given."""
    if not isinstance(value, dict):
        return None, None
    return _count(value.get("prompt_tokens")), _count(value.get("completion_tokens"))


def _check_finished(reasons: list[Any]) -> None:
    """Raise when there is no answer at all, or a choice was stopped by the server."""
    if not reasons:
        raise RetryableError("no choices in the response")
    for reason in reasons:
        if reason in FAILED_FINISH_REASONS:
            raise RetryableError(
                f"finish_reason {reason!r}: the server stopped this answer without completing it"
            )


def _choices(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A body's choices in index order, each checked to hold what an answer is read from."""
    choices = body.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise RetryableError("malformed answer: 'choices' is not a list of objects")
    return sorted(choices, key=lambda c: c.get("index", 0))


def _message(choice: dict[str, Any]) -> dict[str, Any]:
    message = choice.get("message")
    if not isinstance(message, dict):
        raise RetryableError("malformed answer: a choice has no message object")
    return message


def _reasoning(holder: dict[str, Any]) -> str | None:
    for key in REASONING_KEYS:
        value = holder.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def parse_body(body: dict[str, Any], endpoint: str) -> Reply:
    """A non-streaming answer. Raises for an error object and for a body with no answer."""
    if (error := error_object(body)) is not None:
        raise error_exception(error, "response body")
    choices = _choices(body)
    reasons = [_finish_reason(c.get("finish_reason")) for c in choices]
    _check_finished(reasons)
    input_tokens, output_tokens = _usage(body.get("usage"))
    if endpoint == "chat":
        messages = [_message(c) for c in choices]
        raw = [m.get("content") for m in messages]
        reasoning = [_reasoning(m) for m in messages]
    else:
        raw = [c.get("text") for c in choices]
        reasoning = [_reasoning(c) for c in choices]
    texts = [_content(value) for value in raw]
    return Reply(
        texts=[text or "" for text in texts],
        finish_reason=reasons[0],
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        first_token_s=None,
        logprobs=choices[0].get("logprobs"),
        reasoning=reasoning,
        null=[text is None for text in texts],
    )


@dataclass
class _Stream:
    t0: float
    endpoint: str
    texts: dict[int, list[str]] = field(default_factory=dict)
    reasoning: dict[int, list[str]] = field(default_factory=dict)
    finish: dict[int, str] = field(default_factory=dict)
    answered: set[int] = field(default_factory=set)  # choices with a content string, even ""
    usage: Any = None
    first: float | None = None

    def add(self, chunk: dict[str, Any]) -> None:
        if (error := error_object(chunk)) is not None:
            raise error_exception(error, "stream")
        self.usage = chunk.get("usage") or self.usage
        for choice in chunk.get("choices") or []:
            index = choice.get("index", 0)
            holder = (choice.get("delta") or {}) if self.endpoint == "chat" else choice
            value = holder.get("content" if self.endpoint == "chat" else "text")
            piece = _content(value)
            self.texts.setdefault(index, [])
            if piece is not None:
                self.answered.add(index)
            if piece:
                self.first = self.first if self.first is not None else time.perf_counter() - self.t0
                self.texts[index].append(piece)
            if thought := _reasoning(holder):
                self.reasoning.setdefault(index, []).append(thought)
            if reason := _finish_reason(choice.get("finish_reason")):
                self.finish[index] = reason

    def reply(self, done: bool) -> Reply:
        unfinished = [i for i in self.texts if i not in self.finish]
        if not done and (unfinished or not self.texts):
            raise RetryableError("stream ended before [DONE] with no finish_reason (cut off)")
        indices = sorted(self.texts)
        _check_finished([self.finish.get(i) for i in indices])
        input_tokens, output_tokens = _usage(self.usage)
        return Reply(
            texts=["".join(self.texts.get(i, [])) for i in indices],
            finish_reason=self.finish.get(indices[0]),
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            first_token_s=self.first,
            reasoning=[_joined(self.reasoning.get(i)) for i in indices],
            null=[i not in self.answered for i in indices],
        )


def _joined(pieces: list[str] | None) -> str | None:
    return "".join(pieces) if pieces else None


async def read_stream(response: aiohttp.ClientResponse, t0: float, endpoint: str) -> Reply:
    """A streamed answer; `t0` (perf_counter) is when the request was sent, for time to first
    token. A stream without `[DONE]` is accepted only when every choice has finished."""
    stream = _Stream(t0, endpoint)
    async for raw in response.content:
        line = raw.strip()  # bytes: the blank line after each event is never decoded
        if not line.startswith(b"data:"):
            continue
        data = line[5:].strip().decode("utf-8")
        if data == "[DONE]":
            await _drain(response)
            return stream.reply(done=True)
        stream.add(json.loads(data))
    return stream.reply(done=False)


DRAIN_S = 1.0  # how long the end of a stream after `[DONE]` is waited for


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read what follows `[DONE]` (the chunked body's last, empty chunk) so that the connection
    goes back to the pool: a response released before its end closes its connection, and the
    next request pays a new TCP (and TLS) handshake. A server that sends more, or never ends the
    body, is given DRAIN_S; then the connection is closed as before."""
    if response.content.at_eof():
        return
    try:
        async with asyncio.timeout(DRAIN_S):
            await response.content.read()
    except TimeoutError:
        pass
