"""A scripted judge: an OpenAI-compatible server on 127.0.0.1 whose replies a test function picks.

`reply(messages)` returns the judge's text, or (text, logprobs) to attach OpenAI-style logprobs.
Built on FaultServer (same lifecycle and request bookkeeping); answers are never streamed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.backends.fault_server import FaultServer

Reply = Callable[[list[dict[str, str]]], "str | tuple[str, dict[str, Any]]"]


class JudgeServer(FaultServer):
    def __init__(self, reply: Reply) -> None:
        super().__init__()
        self.reply = reply
        self.calls = 0

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        self.calls += 1
        answer = self.reply(body["messages"])
        text, logprobs = answer if isinstance(answer, tuple) else (answer, None)
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": "stop",
            "message": {"role": "assistant", "content": text},
        }
        if logprobs is not None and body.get("logprobs"):
            choice["logprobs"] = logprobs
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split())}
        return web.json_response({"choices": [choice], "usage": usage})

    def model(self, name: str = "judge-model", **extra: Any) -> dict[str, Any]:
        """The judge model spec pointing at this server."""
        return {
            "name": name,
            "backend": "openai",
            "base_url": self.base_url,
            "model": name,
            "api_key_env": None,
            "stream": False,
            "max_tries": 1,
            "price": {"input": 1.0, "output": 2.0},
            **extra,
        }
