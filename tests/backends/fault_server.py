"""A scripted OpenAI-compatible server on 127.0.0.1 that misbehaves on purpose.

The last user message picks the behaviour. `script[prompt]` lists one action per attempt
(the last repeats): "ok", an HTTP status like "500", "429:<retry-after s>", "hang",
"slow:<s>", "badjson", "truncate" (a stream cut before [DONE]). Prompts without a script answer
"echo: <prompt>", failing with a random 500/502/503 at `fail_rate`. Everything is recorded:
attempt times per prompt, requests in flight (current and peak), Authorization headers seen.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import defaultdict
from typing import Any

from aiohttp import web


class FaultServer:
    def __init__(self, fail_rate: float = 0.0, seed: int = 0, delay_s: float = 0.0) -> None:
        self.script: dict[str, list[str]] = {}
        self.fail_rate = fail_rate
        self.delay_s = delay_s
        self.rng = random.Random(seed)
        self.attempts: dict[str, list[float]] = defaultdict(list)
        self.auth_headers: set[str] = set()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.last_body: dict[str, Any] = {}
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def total_attempts(self) -> int:
        return sum(len(v) for v in self.attempts.values())

    def __enter__(self) -> FaultServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2)  # hung handlers are dropped
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def _action(self, prompt: str) -> str:
        attempt = len(self.attempts[prompt])
        self.attempts[prompt].append(time.monotonic())
        if prompt in self.script:
            steps = self.script[prompt]
            return steps[min(attempt, len(steps) - 1)]
        if self.rng.random() < self.fail_rate:
            return self.rng.choice(["500", "502", "503"])
        return "ok"

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            self.auth_headers.add(request.headers.get("Authorization", ""))
            body = await request.json()
            self.last_body = body
            prompt = body["messages"][-1]["content"]
            action = self._action(prompt)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            return await self._respond(request, body, prompt, action)
        finally:
            self.in_flight -= 1

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        if action == "hang":
            await asyncio.sleep(3600)
        if action.startswith("slow:"):
            await asyncio.sleep(float(action[5:]))
            action = "ok"
        if action.startswith("429"):
            retry = action.split(":")[1] if ":" in action else None
            headers = {"Retry-After": retry} if retry else {}
            return web.json_response({"error": "slow down"}, status=429, headers=headers)
        if action.isdigit():
            return web.json_response({"error": f"status {action}"}, status=int(action))
        if action == "badjson":
            return web.Response(text='{"choices": [', content_type="application/json")
        text = f"echo: {prompt}"
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        if body.get("stream"):
            return await self._stream(request, text, usage, truncate=action == "truncate")
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": text},
        }
        if action == "logprobs":
            choice["logprobs"] = {"content": [{"token": "echo", "logprob": -0.5}]}
        return web.json_response({"choices": [choice], "usage": usage})

    async def _stream(
        self, request: web.Request, text: str, usage: dict[str, int], truncate: bool
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for word in text.split(" "):
            chunk = {"choices": [{"index": 0, "delta": {"content": word + " "}}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(0.005)
        if truncate:
            return response  # the connection ends without [DONE]
        final = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        await response.write(f"data: {json.dumps(final)}\n\n".encode())
        await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        return response
