"""The playground's models: one prompt to several models, answers streamed side by side.

Models come from a YAML file (`evalkit studio RUN --playground models.yaml`):

    models:
      - {name: local, base_url: "http://127.0.0.1:8000/v1", model: tiny, api_key_env: null}
      - {name: gpt, model: gpt-4o-mini, price: {input: 0.15, output: 0.6}}
      - {name: tiny-hf, backend: hf, path: /models/tiny, max_new_tokens: 64}

`backend` is `openai` (the default: any OpenAI-compatible server, `evalkit serve` included; the
keys of conf/model/openai.yaml) or `hf` (a local transformers model, loaded on first use; the
keys of conf/model/hf.yaml). `max_new_tokens` caps an answer (hf default 256; openai: the
server's default unless given). A stream is relayed to the page as NDJSON lines: `{"delta": TEXT}`
per chunk, then one `{"done": true, "ttft_s", "seconds", "output_tokens", "tokens_per_s",
"cost_usd"}` (seconds from the request), or `{"error": TEXT}`. `tokens_per_s` is the decode rate
after the first token, (output_tokens - 1) / (last chunk - first chunk), the inverse of vLLM's
benchmark TPOT; it is null ("n/a" on the page) unless at least 2 chunks came after the first
one, since an answer sent in one piece says nothing about how fast it was generated.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit.backends.hf_loading import HFOptions
from evalkit.backends.openai_api import OpenAIOptions
from evalkit.errors import UserError
from evalkit.store.redact import redact
from evalkit.textfiles import load_yaml, require_file
from evalkit.validation import first_error

Messages = list[dict[str, str]]  # [{role, content}]


class PlaygroundModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    backend: Literal["openai", "hf"] = "openai"
    options: OpenAIOptions | HFOptions
    max_new_tokens: int | None = Field(None, ge=1)


def load_models(path: Path) -> list[PlaygroundModel]:
    """The models of a playground file; UserError naming the file and entry when one is bad."""
    require_file(path, f"{path}: playground file not found", "playground file")
    data = load_yaml(path)
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise UserError(f"{path}: expected `models:` with a list of models")
    models = [_entry(path, k, entry) for k, entry in enumerate(entries)]
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise UserError(f"{path}: model names must differ")
    return models


def _entry(path: Path, k: int, entry: Any) -> PlaygroundModel:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise UserError(f"{path}: models[{k}]: needs a name")
    fields = {key: value for key, value in entry.items() if key not in ("name", "backend")}
    backend, cap = entry.get("backend", "openai"), fields.pop("max_new_tokens", None)
    try:
        if backend == "hf":
            options: OpenAIOptions | HFOptions = HFOptions(**fields)
        elif backend == "openai":
            options = OpenAIOptions(**fields)
        else:
            raise UserError(f"{path}: models[{k}]: backend {backend!r}: expected openai or hf")
        return PlaygroundModel(
            name=entry["name"], backend=backend, options=options, max_new_tokens=cap
        )
    except ValidationError as exc:
        raise UserError(f"{path}: models[{k}] ({entry['name']}): {first_error(exc)}") from None


MIN_CHUNKS_AFTER_FIRST = 2


def decode_rate(
    first: float | None, last: float | None, chunks: int, output_tokens: int
) -> float | None:
    """Tokens/s after the first token (see the module docstring); None when not streamed.

    `first`, `last`: seconds from the request to the first and last text chunk; `chunks`: the
    number of text chunks received.
    """
    if first is None or last is None or chunks - 1 < MIN_CHUNKS_AFTER_FIRST:
        return None
    if last <= first or output_tokens < 2:
        return None
    return (output_tokens - 1) / (last - first)


def done_line(
    seconds: float,
    first: float | None,
    output_tokens: int,
    cost_usd: float | None,
    *,
    last: float | None,
    chunks: int,
) -> str:
    """The closing NDJSON line of a stream (`last`, `chunks`: see `decode_rate`)."""
    return (
        json.dumps(
            {
                "done": True,
                "ttft_s": first,
                "seconds": seconds,
                "output_tokens": output_tokens,
                "tokens_per_s": decode_rate(first, last, chunks, output_tokens),
                "cost_usd": cost_usd,
            }
        )
        + "\n"
    )


def error_line(text: str) -> str:
    return json.dumps({"error": redact(text)[:300]}) + "\n"  # redacted whole: no key prefix


def stream_answer(model: PlaygroundModel, messages: Messages) -> AsyncIterator[str]:
    """NDJSON lines (see the module docstring) for one model's streamed answer."""
    if isinstance(model.options, HFOptions):
        from evalkit.studio.playground_hf import stream_hf

        return stream_hf(model.name, model.options, messages, model.max_new_tokens or 256)
    from evalkit.studio.playground_openai import stream_openai

    return stream_openai(model.options, messages, model.max_new_tokens)
