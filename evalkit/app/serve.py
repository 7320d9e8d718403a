"""`evalkit serve`: an OpenAI-compatible HTTP server over any evalkit backend.

It makes a local model usable as a judge or as the model under test from any OpenAI client, and
gives the tests a real server. Routes: GET /v1/models, POST /v1/chat/completions and
/v1/completions (with `"stream": true` as server-sent events). Concurrent requests are gathered
into one backend batch (up to `max_batch` or `batch_wait_s`), since a local model is fastest
batched. A streamed answer is sent once generated (time to first token is then the whole
generation time): the backend protocol returns whole texts.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.config import ModelConfig
from evalkit.errors import UserError
from evalkit.protocols import Backend
from evalkit.types import ChatMessage, Generation, GenerationParams, Request
from evalkit.validation import first_error


class ServeConfig(BaseModel):
    """The settings of `evalkit serve` and their defaults (the one place they are given:
    conf/serve.yaml holds only its defaults list, the model being a config group)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelConfig = Field(description="The backend served (conf/model/).")
    host: str = Field("127.0.0.1", description="Address to listen on: loopback unless you say so.")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free one).")
    api_key_env: str | None = Field(
        None, description="Name of an env var holding a bearer key clients must send; None: none."
    )
    max_batch: int = Field(
        32, ge=1, description="Concurrent requests gathered into one backend batch, at most."
    )
    batch_wait_s: float = Field(
        0.01, ge=0, description="Seconds a batch waits for more requests after its first."
    )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServeConfig:
        """Validated; a problem is a UserError naming the field."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"invalid serve config: {first_error(exc)}") from None

    def settings(self) -> ServeSettings:
        """What the server needs, the bearer key read from `api_key_env`.

        Raises UserError when that variable is not set."""
        api_key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if self.api_key_env and not api_key:
            raise UserError(f"serve: environment variable {self.api_key_env} is not set")
        return ServeSettings(self.host, self.port, api_key, self.max_batch, self.batch_wait_s)


@dataclass(frozen=True)
class ServeSettings:
    """A running server's settings (ServeConfig's, with the bearer key itself)."""

    host: str
    port: int
    api_key: str | None
    max_batch: int
    batch_wait_s: float


class Batcher:
    """Collects concurrent requests and hands them to the backend as one batch, off the loop."""

    def __init__(self, backend: Backend, max_batch: int, wait_s: float) -> None:
        self.backend = backend
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.queue: asyncio.Queue[tuple[Request, asyncio.Future[Generation]]] = asyncio.Queue()

    async def submit(self, request: Request) -> Generation:
        future: asyncio.Future[Generation] = asyncio.get_running_loop().create_future()
        await self.queue.put((request, future))
        return await future

    async def run(self) -> None:
        while True:
            items = [await self.queue.get()]
            deadline = time.monotonic() + self.wait_s
            while len(items) < self.max_batch and (left := deadline - time.monotonic()) > 0:
                try:
                    items.append(await asyncio.wait_for(self.queue.get(), left))
                except TimeoutError:
                    break
            requests = [r for r, _ in items]
            try:
                results = await asyncio.to_thread(self.backend.generate, requests)
            except Exception as exc:  # a backend failure answers these requests, not the server
                results = [Generation(error=f"{type(exc).__name__}: {exc}") for _ in requests]
            for (_, future), result in zip(items, results, strict=True):
                if not future.done():
                    future.set_result(result)


def _params(body: dict[str, Any]) -> GenerationParams:
    stop = body.get("stop") or []
    return GenerationParams(
        max_new_tokens=int(body.get("max_tokens") or body.get("max_completion_tokens") or 256),
        temperature=float(body.get("temperature", 0.0) or 0.0),
        top_p=float(body.get("top_p", 1.0) or 1.0),
        stop=[stop] if isinstance(stop, str) else list(stop),
        n=int(body.get("n", 1) or 1),
        seed=int(body.get("seed", 0) or 0),
    )


def _usage(g: Generation) -> dict[str, int]:
    prompt, completion = g.input_tokens or 0, g.output_tokens or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _choices(g: Generation, chat: bool) -> list[dict[str, Any]]:
    texts = g.metadata.get("choices") or [g.text]
    key = "message" if chat else "text"
    return [
        {
            "index": i,
            key: {"role": "assistant", "content": t} if chat else t,
            "finish_reason": g.finish_reason or "stop",
        }
        for i, t in enumerate(texts)
    ]


class OpenAIServer:
    def __init__(self, backend: Backend, settings: ServeSettings) -> None:
        self.backend = backend
        self.settings = settings
        self.batcher = Batcher(backend, settings.max_batch, settings.batch_wait_s)
        self.app = web.Application(middlewares=[self._auth])
        self.app.router.add_get("/v1/models", self.models)
        self.app.router.add_post("/v1/chat/completions", self.chat)
        self.app.router.add_post("/v1/completions", self.completions)
        self.app.on_startup.append(self._start_batcher)

    async def _start_batcher(self, app: web.Application) -> None:
        app["batcher_task"] = asyncio.create_task(self.batcher.run())

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        key = self.settings.api_key
        if key is not None:
            sent = request.headers.get("Authorization", "")
            if not hmac.compare_digest(sent.encode(), f"Bearer {key}".encode()):
                return _error(401, "invalid or missing bearer token")
        response: web.StreamResponse = await handler(request)
        return response

    async def models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "object": "list",
                "data": [{"id": self.backend.name, "object": "model", "owned_by": "evalkit"}],
            }
        )

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        try:
            messages = [ChatMessage(role=m["role"], content=m["content"]) for m in body["messages"]]
        except (KeyError, TypeError, ValueError):
            return _error(400, "'messages' must be a list of {role, content}")
        return await self._answer(request, body, messages, chat=True)

    async def completions(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        prompt = body.get("prompt")
        if not isinstance(prompt, str):
            return _error(400, "'prompt' must be a string")
        return await self._answer(
            request, body, [ChatMessage(role="user", content=prompt)], chat=False
        )

    async def _answer(
        self, request: web.Request, body: dict[str, Any], messages: list[ChatMessage], *, chat: bool
    ) -> web.StreamResponse:
        try:
            params = _params(body)
        except (TypeError, ValueError) as exc:
            return _error(400, f"bad generation parameter: {exc}")
        generation = await self.batcher.submit(
            Request(task="serve", sample_id=uuid.uuid4().hex, messages=messages, params=params)
        )
        if generation.status == "error":  # an "empty" answer is passed on as one
            return _error(500, generation.error or "generation failed")
        kind = "chat.completion" if chat else "text_completion"
        payload = {
            "id": f"evalkit-{uuid.uuid4().hex[:12]}",
            "object": kind,
            "created": int(time.time()),
            "model": self.backend.name,
            "choices": _choices(generation, chat),
            "usage": _usage(generation),
        }
        if body.get("stream"):
            return await _stream(request, payload, chat)
        return web.json_response(payload)


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except json.JSONDecodeError:
        raise web.HTTPBadRequest(
            text='{"error": {"message": "body is not JSON"}}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": {"message": "body must be an object"}}', content_type="application/json"
        )
    return body


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "code": status}}, status=status)


async def _stream(request: web.Request, payload: dict[str, Any], chat: bool) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    kind = "chat.completion.chunk" if chat else "text_completion"
    base = {k: payload[k] for k in ("id", "created", "model")} | {"object": kind}

    async def send(chunk: dict[str, Any]) -> None:
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

    for choice in payload["choices"]:
        text = choice["message"]["content"] if chat else choice["text"]
        pieces = text.split(" ")
        for k, piece in enumerate(pieces):
            piece = piece if k == len(pieces) - 1 else piece + " "
            delta = {"delta": {"content": piece}} if chat else {"text": piece}
            await send(
                base | {"choices": [{"index": choice["index"], **delta, "finish_reason": None}]}
            )
        end: dict[str, Any] = {"delta": {}} if chat else {"text": ""}
        await send(
            base
            | {
                "choices": [
                    {"index": choice["index"], **end, "finish_reason": choice["finish_reason"]}
                ]
            }
        )
    await send(base | {"choices": [], "usage": payload["usage"]})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


def serve_forever(backend: Backend, settings: ServeSettings) -> None:
    server = OpenAIServer(backend, settings)
    print(f"evalkit serve: {backend.name} on http://{settings.host}:{settings.port}/v1", flush=True)
    web.run_app(server.app, host=settings.host, port=settings.port, print=None)
