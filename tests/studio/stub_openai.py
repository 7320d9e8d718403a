"""A local OpenAI-compatible chat server for playground tests: streams a fixed answer per model
in small SSE chunks (with a usage event), on 127.0.0.1, in a background thread."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

ANSWERS = {
    "alpha": "Paris is the capital. <script>document.body.dataset.pwned='stream'</script>",
    "beta": "It is Paris <img src=x onerror=\"document.body.dataset.pwned='img'\"> indeed.",
}
# a server that buffers: the whole answer in one chunk (usage still counts its tokens)
ONE_CHUNK = {"whole": "Paris is the capital of France, and has been for a very long time."}


def _chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


async def _chat(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    model = body.get("model")
    if model not in ANSWERS and model not in ONE_CHUNK:
        return web.json_response({"error": {"message": "no such model"}}, status=404)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    pieces = _chunks(ANSWERS[model]) if model in ANSWERS else [ONE_CHUNK[model]]
    for piece in pieces:
        event = {"choices": [{"index": 0, "delta": {"content": piece}}]}
        await response.write(f"data: {json.dumps(event)}\n\n".encode())
        await asyncio.sleep(0.01)
    tokens = len(pieces) if model in ANSWERS else len(ONE_CHUNK[model].split())
    usage = {"prompt_tokens": 11, "completion_tokens": tokens, "total_tokens": 11}
    await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
    if "cut" not in body["messages"][0]["content"]:
        await response.write(b"data: [DONE]\n\n")
    return response


@contextmanager
def stub_server() -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT/v1) of a running stub."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _chat)
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    # everything on the thread's own loop: the caller's thread may run a loop already (Playwright)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
