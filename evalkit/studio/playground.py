"""The playground: one prompt to several OpenAI-compatible models, answers streamed side by side.

Models come from a YAML file (`evalkit studio RUN --playground models.yaml`):

    models:
      - {name: local, base_url: "http://127.0.0.1:8000/v1", model: tiny, api_key_env: null}
      - {name: gpt, model: gpt-4o-mini, price: {input: 0.15, output: 0.6}}

Each entry takes the keys of the `openai` backend's options (conf/model/openai.yaml) plus `name`.
A stream is relayed to the page as NDJSON lines: `{"delta": TEXT}` per chunk, then one
`{"done": true, "ttft_s", "seconds", "output_tokens", "tokens_per_s", "cost_usd"}` (tokens: the
server's `usage` when it sends one, else the number of content chunks), or `{"error": TEXT}`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.backends.openai_api import OpenAIOptions
from evalkit.errors import UserError
from evalkit.textfiles import load_yaml
from evalkit.validation import first_error


class PlaygroundModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    options: OpenAIOptions


def load_models(path: Path) -> list[PlaygroundModel]:
    """The models of a playground file; UserError naming the file and entry when one is bad."""
    if not path.is_file():
        raise UserError(f"{path}: playground file not found")
    data = load_yaml(path)
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{path}: expected `models:` with a list of models")
    models = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise UserError(f"{path}: models[{k}]: needs a name")
        fields = {key: value for key, value in entry.items() if key != "name"}
        try:
            models.append(PlaygroundModel(name=entry["name"], options=OpenAIOptions(**fields)))
        except ValidationError as exc:
            raise UserError(f"{path}: models[{k}] ({entry['name']}): {first_error(exc)}") from None
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: model names must differ")
    return models


def _cost(options: OpenAIOptions, input_tokens: int | None, output_tokens: int) -> float | None:
    if options.price is None or input_tokens is None:
        return None
    price = options.price
    return (input_tokens * price.get("input", 0.0) + output_tokens * price.get("output", 0.0)) / 1e6


def _request(options: OpenAIOptions, prompt: str) -> tuple[dict[str, str], dict[str, Any]]:
    headers = {"Content-Type": "application/json"}
    if options.api_key_env and os.environ.get(options.api_key_env):
        headers["Authorization"] = f"Bearer {os.environ[options.api_key_env]}"
    body: dict[str, Any] = {
        "model": options.model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
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


async def stream_answer(model: PlaygroundModel, prompt: str) -> AsyncIterator[str]:
    """NDJSON lines (see the module docstring) for one model's streamed answer to `prompt`."""
    o = model.options
    headers, body = _request(o, prompt)
    t0, first, chunks, usage = time.perf_counter(), None, 0, None
    try:
        timeout = aiohttp.ClientTimeout(total=o.timeout_s)
        url = o.base_url.rstrip("/") + "/chat/completions"
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            if response.status != 200:
                text = (await response.text())[:300]
                yield json.dumps({"error": f"HTTP {response.status}: {text}"}) + "\n"
                return
            async for event in _events(response):
                if event.get("error"):
                    yield json.dumps({"error": str(event["error"])[:300]}) + "\n"
                    return
                usage = event.get("usage") or usage
                for choice in event.get("choices") or []:
                    delta = (choice.get("delta") or {}).get("content")
                    if delta:
                        first = first if first is not None else time.perf_counter() - t0
                        chunks += 1
                        yield json.dumps({"delta": delta}) + "\n"
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        yield json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}) + "\n"
        return
    yield json.dumps(_timings(o, time.perf_counter() - t0, first, chunks, usage)) + "\n"


def _timings(
    o: OpenAIOptions, seconds: float, first: float | None, chunks: int, usage: Any
) -> dict[str, Any]:
    output_tokens = int(usage["completion_tokens"]) if usage else chunks
    input_tokens = int(usage["prompt_tokens"]) if usage else None
    generating = seconds - (first or 0.0)
    return {
        "done": True,
        "ttft_s": first,
        "seconds": seconds,
        "output_tokens": output_tokens,
        "tokens_per_s": output_tokens / generating if generating > 0 else None,
        "cost_usd": _cost(o, input_tokens, output_tokens),
    }
