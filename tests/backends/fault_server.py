"""A scripted OpenAI-compatible server on 127.0.0.1 that misbehaves on purpose.

The last user message picks the behaviour. `script[prompt]` lists one action per attempt (the
last repeats): "ok"; an HTTP status like "500", or with a Retry-After: "429:<s>", "503date:<s>"
(an HTTP-date s ahead), "429ms:<ms>" (`retry-after-ms`); "hang"; "slow:<s>"; "badjson";
"truncate" (a stream cut before [DONE]); "nodone" (a finished stream closed without [DONE]);
"streamerr[:code]" (a partial stream, an error object, then [DONE]); "bodyerr[:code]" (HTTP 200
with an error object); "length" (the answer with finish_reason "length"); "reason:<key>:<finish>"
(reasoning text under `key`, content null when finish is "length", else the answer); "null"
(content null, finish_reason "stop", no reasoning); "inline:<shape>" (reasoning inside the
content: "closed" `<think>..</think>answer`, "open" `<think>..` cut at the token limit, "r1" `..
</think>answer` as DeepSeek-R1's template leaves it, "late" an answer that mentions a
`<think>` tag later on); "lateend" (a stream whose body ends 50 ms after [DONE]); "body:<json>"
(HTTP 200 with that body); "finish:<reason>" (the answer, partial when streamed, with that
finish_reason); "nochoices" (a stream with no choice at all, only usage and [DONE]); "sse:<json
list>" (a stream of those chunks, then [DONE]). Prompts
without a script answer "echo: <prompt>", failing with a random 500/502/503 at `fail_rate`.
Everything is recorded: attempt times per prompt, requests in flight (current and peak),
Authorization headers seen, the connections requests came on.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
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
        self.connections: set[Any] = set()  # the clients' (host, port): one per TCP connection
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
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    async def _shutdown(self) -> None:
        """Stop serving and end every handler still running (a hung one included): a task left
        pending is destroyed with the loop later, and asyncio logs that into whichever test's
        stderr is being captured at that moment."""
        await self._runner.cleanup()
        current = asyncio.current_task()
        leftover = [task for task in asyncio.all_tasks() if task is not current]
        for task in leftover:
            task.cancel()
        await asyncio.gather(*leftover, return_exceptions=True)

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
            if request.transport is not None:
                self.connections.add(request.transport.get_extra_info("peername"))
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
        if status := re.fullmatch(r"(\d{3})(date|ms)?(?::(.+))?", action):
            code, kind, value = status.groups()
            headers = _retry(kind or "", value) if value else {}
            return web.json_response({"error": f"status {code}"}, status=int(code), headers=headers)
        if action == "badjson":
            return web.Response(text='{"choices": [', content_type="application/json")
        if action.startswith("bodyerr"):
            return web.json_response({"error": _error_object(action)})
        if action.startswith("body:"):
            return web.json_response(json.loads(action[5:]))
        text = _INLINE.get(action, "{answer}").format(answer=f"echo: {prompt}", prompt=prompt)
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        if body.get("stream"):
            return await self._stream(request, text, usage, action)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "length" if action in ("length", "inline:open") else "stop"
        if action.startswith("finish:"):
            finish = action[7:]
        if action == "null":
            message = {"role": "assistant", "content": None}
        if action.startswith("reason:"):
            _, key, finish = action.split(":")
            message = {"role": "assistant", "content": None if finish == "length" else text}
            message[key] = f"thinking about {prompt}"
        choice: dict[str, Any] = {"index": 0, "finish_reason": finish, "message": message}
        if action == "logprobs":
            choice["logprobs"] = {"content": [{"token": "echo", "logprob": -0.5}]}
        return web.json_response({"choices": [choice], "usage": usage})

    async def _stream(
        self, request: web.Request, text: str, usage: dict[str, int], action: str
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        finish = "length" if action in ("length", "inline:open") else "stop"
        if action.startswith(("reason:", "finish:")):
            finish = action.split(":")[-1]
        usage_chunk = f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode()
        if action.startswith("sse:"):
            for chunk in json.loads(action[4:]):
                await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response
        if action == "nochoices":
            await response.write(usage_chunk + b"data: [DONE]\n\n")
            return response
        for delta in [{"role": "assistant"}] if action == "null" else _deltas(text, action):
            if "content" in delta and finish == "length" and action.startswith("reason:"):
                continue  # the budget ran out while reasoning: no content at all
            chunk = {"choices": [{"index": 0, "delta": delta}]}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
            await asyncio.sleep(0.005)
        if action == "truncate":
            return response  # the connection ends without [DONE]
        if action.startswith("streamerr"):
            error = {"error": _error_object(action)}
            await response.write(f"data: {json.dumps(error)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response
        final = {"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        await response.write(f"data: {json.dumps(final)}\n\n".encode())
        if action == "nodone":
            return response  # finished, then the connection ends without [DONE]
        await response.write(usage_chunk)
        await response.write(b"data: [DONE]\n\n")
        if action == "lateend":
            await asyncio.sleep(0.05)  # the body's last chunk comes a little after [DONE]
        return response


_INLINE = {
    "inline:closed": "<think>pondering {prompt}</think>\n\n{answer}",
    "inline:open": "<think>pondering {prompt} for a long",
    "inline:r1": "pondering {prompt}\n</think>\n\n{answer}",
    "inline:late": "{answer} (a <think> tag is HTML-like)",
}


def _deltas(text: str, action: str) -> list[dict[str, str]]:
    words = text.split(" ")
    if action.startswith(("streamerr", "finish:")):
        words = words[:1]  # a partial answer before the error
    deltas = [{"content": w + " "} for w in words]
    if action.startswith("reason:"):
        key = action.split(":")[1]
        deltas = [{key: "thinking "}, {key: "about it"}, *deltas]
    return deltas


def _retry(kind: str, value: str) -> dict[str, str]:
    """Retry headers for "<status>:<s>", "<status>date:<s ahead>", "<status>ms:<ms>"."""
    if kind == "date":
        return {"Retry-After": email.utils.formatdate(time.time() + float(value), usegmt=True)}
    if kind == "ms":
        return {"retry-after-ms": value}
    return {"Retry-After": value}


def _error_object(action: str) -> dict[str, Any]:
    code = int(action.split(":")[1]) if ":" in action else 500
    return {"message": "CUDA out of memory", "type": "server_error", "code": code}
