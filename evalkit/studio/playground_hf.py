"""The playground's stream from a local transformers model (the `hf` backend's loader and chat
template), token by token through transformers' `TextIteratorStreamer`.

The model is loaded on its first request (off the event loop) and kept; one generation at a time
per model (a lock), greedy, `max_new_tokens` at most. Time to first token is measured from the
request to the first decoded text; tokens are the ids the model generated (special ones
included); a local model has no price, so cost is null.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from evalkit.backends.hf_loading import HFOptions
from evalkit.studio.playground import Messages, done_line, error_line
from evalkit.types import ChatMessage

_LOADED: dict[tuple[str, str], Any] = {}  # (name, options json) -> HFBackend
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


def _backend(name: str, options: HFOptions) -> tuple[Any, threading.Lock]:
    from evalkit.backends.hf import HFBackend

    key = (name, options.model_dump_json())
    with _GUARD:
        if key not in _LOADED:
            _LOADED[key] = HFBackend(name, options)
            _LOCKS[key] = threading.Lock()
        return _LOADED[key], _LOCKS[key]


def _streamer(tokenizer: Any) -> Any:
    """A TextIteratorStreamer that also counts the generated token ids."""
    from transformers import TextIteratorStreamer

    class Counting(TextIteratorStreamer):
        tokens = 0

        def put(self, value: Any) -> None:
            if not (self.skip_prompt and self.next_tokens_are_prompt):
                self.tokens += int(value.numel())
            super().put(value)  # type: ignore[no-untyped-call]

    return Counting(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)


def _generate(backend: Any, lock: threading.Lock, encoded: Any, streamer: Any, cap: int) -> None:
    import torch

    try:
        with lock, torch.inference_mode():
            backend.model.generate(
                **encoded,
                streamer=streamer,
                max_new_tokens=cap,
                do_sample=False,
                pad_token_id=backend.tokenizer.pad_token_id,
            )
    except Exception as exc:  # reported on the stream; end() lets the reader stop
        streamer.failure = exc
        streamer.end()


async def stream_hf(
    name: str, options: HFOptions, messages: Messages, max_new_tokens: int
) -> AsyncIterator[str]:
    t0 = time.perf_counter()
    try:
        backend, lock = await asyncio.to_thread(_backend, name, options)
        chat = [ChatMessage.model_validate(m) for m in messages]
        prompt = backend.prompt_text(chat)
        encoded = backend.tokenizer(prompt, return_tensors="pt").to(backend.device)
    except Exception as exc:  # a model that cannot load is the stream's error, not a 500
        yield error_line(f"{type(exc).__name__}: {exc}")
        return
    streamer = _streamer(backend.tokenizer)
    streamer.failure = None
    worker = threading.Thread(
        target=_generate, args=(backend, lock, encoded, streamer, max_new_tokens), daemon=True
    )
    worker.start()
    first: float | None = None
    last: float | None = None
    chunks = 0
    pieces = iter(streamer)
    while (piece := await asyncio.to_thread(next, pieces, None)) is not None:
        if piece:
            last = time.perf_counter() - t0
            first = first if first is not None else last
            chunks += 1
            yield _delta(piece)
    await asyncio.to_thread(worker.join)
    if streamer.failure is not None:
        yield error_line(f"{type(streamer.failure).__name__}: {streamer.failure}")
        return
    yield done_line(
        time.perf_counter() - t0, first, streamer.tokens, None, last=last, chunks=chunks
    )


def _delta(text: str) -> str:
    import json

    return json.dumps({"delta": text}) + "\n"
