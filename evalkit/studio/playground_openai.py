"""The playground's stream from an OpenAI-compatible chat server (`/chat/completions` with
`stream: true`, server-sent events); tokens are the server's `usage` when it sends one, else the
number of content chunks; cost from the model's `price` (USD per million tokens)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from evalkit.backends.openai_api import OpenAIOptions
from evalkit.studio.playground import Messages, done_line, error_line


def _cost(options: OpenAIOptions, input_tokens: int | None, output_tokens: int) -> float | None:
    if options.price is None or input_tokens is None:
        return None
    price = options.price
    return (input_tokens * price.get("input", 0.0) + output_tokens * price.get("output", 0.0)) / 1e6


def _request(
    options: OpenAIOptions, messages: Messages, max_tokens: int | None
) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if options.api_key_env and os.environ.get(options.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[options.api_key_env]}"
    body: dict[str, Any] = {
        "model": options.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        **({"max_tokens": max_tokens} if max_tokens else {}),
        **options.extra_body,
    }
    return headers, body


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The JSON events of a server-sent-events chat stream, up to `data: [DONE]`."""
    async for raw in response.content:
        line = raw.decode("utf-8", "replace").strip()
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        event = json.loads(data)
        if isinstance(event, dict):
            yield event
    raise ValueError("the stream ended before [DONE] (the answer may be cut)")


async def stream_openai(
    o: OpenAIOptions, messages: Messages, max_tokens: int | None
) -> AsyncIterator[str]:
    headers, body = _request(o, messages, max_tokens)
    t0, first, last, chunks, usage = time.perf_counter(), None, None, 0, None
    try:
        timeout = aiohttp.ClientTimeout(total=o.timeout_s)
        url = o.base_url.rstrip("/") + "/chat/completions"
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            if response.status != 200:
                yield error_line(f"HTTP {response.status}: {await response.text()}")
                return
            async for event in _events(response):
                if event.get("error"):
                    yield error_line(str(event["error"]))
                    return
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        last = time.perf_counter() - t0
                        first = first if first is not None else last
                        chunks += 1
                        yield json.dumps({"delta": delta}) + "\n"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        yield error_line(f"{type(exc).__name__}: {exc}")
        return
    output_tokens = int(usage["completion_tokens"]) if usage else chunks
    input_tokens = int(usage["prompt_tokens"]) if usage else None
    cost = _cost(o, input_tokens, output_tokens)
    yield done_line(time.perf_counter() - t0, first, output_tokens, cost, last=last, chunks=chunks)
