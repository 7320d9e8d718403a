"""Backend `openai`: any OpenAI-compatible endpoint (OpenAI, vLLM, TGI, SGLang, llama.cpp, ...).

Requests run on one asyncio loop in a background thread, so every batch shares one connection
pool, one concurrency cap and one rate budget, and the pipeline may hand over the next batch while
the last requests of the previous one are still out. The API key is read from the environment
variable the config names, sent in the Authorization header, and kept nowhere else: not in the
signature (so not in run.json or cache keys), not in errors, not in logs.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from evalkit.abort import FailureGuard
from evalkit.backends.api_call import ApiCall, CallSettings
from evalkit.backends.guarded_call import GuardedCall
from evalkit.backends.inline_reasoning import ReasoningTags
from evalkit.backends.pricing import Price, estimate_tokens, load_price_table
from evalkit.backends.ratelimit import AdaptiveLimit, MinuteBudget
from evalkit.backends.shared import LiveBackends
from evalkit.errors import UserError
from evalkit.protocols import BackendDefaults
from evalkit.store.redact import register_secret
from evalkit.tasks.task import Task
from evalkit.types import Generation, Request

T = TypeVar("T")

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"


def default_base_url() -> str:
    """$OPENAI_BASE_URL when set and non-empty, else the OpenAI API (as the `openai` client).

    Read when an options object is made, so every `backend: openai` (a run's model, a judge model
    declared inline, a studio playground model) goes where the OpenAI client would.
    """
    return os.environ.get("OPENAI_BASE_URL") or OPENAI_DEFAULT_BASE_URL


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(
        default_factory=lambda: default_base_url(),
        description="Endpoint root; default $OPENAI_BASE_URL, else the OpenAI API.",
    )
    model: str = Field(description="The model name the endpoint expects.")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="Env var holding the key.")
    endpoint: Literal["chat", "completions"] = "chat"
    max_concurrency: int = Field(16, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    max_tries: int = Field(6, ge=1)
    backoff_base_s: float = Field(0.5, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    max_retry_time_s: float = Field(
        600.0, gt=0, description="Per sample: no retry starts after this many seconds."
    )
    score_reasoning: bool = Field(
        False, description="Score the reasoning text (reasoning_content) before the answer."
    )
    reasoning_tags: ReasoningTags = Field(
        "auto",
        description="auto: a leading <think>...</think> in the answer goes to `reasoning`; keep.",
    )
    stream: bool = True
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=20)
    price: dict[str, float] | None = Field(None, description="{input, output} $ per 1M tokens.")
    price_table: str | None = None
    extra_body: dict[str, Any] = Field(default_factory=dict)


class OpenAIBackend(BackendDefaults):
    """Batch in, batch out; failures become `Generation.error`, the run goes on."""

    def __init__(self, name: str, options: OpenAIOptions) -> None:
        self.name = name
        self.options = options
        self.price = _price_for(options)
        self.concurrent_batches = 2
        self.failure_guard: FailureGuard = (
            FailureGuard()
        )  # trips on 401/403/404 or a run of failures
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._live_call: ApiCall | None = None  # made on first use: a dry run needs no key
        self._call_lock = threading.Lock()  # two batches in flight must not both make a session

    @property
    def _call(self) -> ApiCall:
        """The HTTP session; the API key is read (and its absence reported) here."""
        with self._call_lock:
            if self._live_call is None:
                self._live_call = self._run(self._make_call())
            return self._live_call

    def signature(self) -> str:
        o = self.options
        reasoning = "|score_reasoning" if o.score_reasoning else ""  # it changes the scored text
        return (
            f"openai|base_url:{o.base_url}|model:{o.model}|endpoint:{o.endpoint}"
            f"|logprobs:{o.logprobs}:{o.top_logprobs}|extra:{sorted(o.extra_body.items())}"
            f"{reasoning}|reasoning_tags:{o.reasoning_tags}"  # both change the stored text
        )

    @property
    def peak_in_flight(self) -> int:
        return self._live_call.limit.peak_in_flight if self._live_call is not None else 0

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return self._run(self._call.many(list(requests)))

    def estimate(self, requests: Sequence[Request]) -> list[Generation]:
        """A dry run: prompt tokens counted, output tokens at their maximum, cost from prices."""
        out = []
        for request in requests:
            prompt_tokens = sum(estimate_tokens(m.content) for m in request.messages)
            max_out = request.params.max_new_tokens * request.params.n
            cost = self.price.cost(prompt_tokens, max_out) if self.price else None
            out.append(Generation(input_tokens=prompt_tokens, output_tokens=max_out, cost_usd=cost))
        return out

    def close(self) -> None:
        _LIVE.release(self)
        if self._loop.is_running():
            if self._live_call is not None:
                self._run(self._live_call.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    async def _make_call(self) -> ApiCall:
        o = self.options
        key = os.environ.get(o.api_key_env) if o.api_key_env else None
        if o.api_key_env and not key:
            raise UserError(f"model '{self.name}': environment variable {o.api_key_env} is not set")
        register_secret(key)  # masked in every error text, log line and stored field
        if key and not key.isascii():  # a header carries ASCII: sent as UTF-8 bytes, a server
            raise UserError(  # decodes it as Latin-1 and echoes a form no redaction knows
                f"model '{self.name}': the key in {o.api_key_env} holds non-ASCII characters;"
                " API keys are ASCII (check for a stray character pasted with it)"
            )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        session = aiohttp.ClientSession(
            base_url=o.base_url.rstrip("/") + "/",
            headers=headers,
            connector=aiohttp.TCPConnector(limit=o.max_concurrency),
        )
        settings = CallSettings(
            model=o.model,
            endpoint=o.endpoint,
            stream=o.stream,
            timeout_s=o.timeout_s,
            max_tries=o.max_tries,
            backoff_base_s=o.backoff_base_s,
            backoff_max_s=o.backoff_max_s,
            logprobs=o.logprobs,
            top_logprobs=o.top_logprobs,
            extra_body=dict(o.extra_body),
            max_retry_time_s=o.max_retry_time_s,
            score_reasoning=o.score_reasoning,
            reasoning_tags=o.reasoning_tags,
        )
        return GuardedCall(
            guard=self.failure_guard,
            session=session,
            settings=settings,
            limit=AdaptiveLimit(o.max_concurrency),
            rpm=MinuteBudget(o.requests_per_minute) if o.requests_per_minute else None,
            tpm=MinuteBudget(o.tokens_per_minute) if o.tokens_per_minute else None,
            price=self.price,
        )


def _price_for(options: OpenAIOptions) -> Price | None:
    if options.price is not None:
        try:
            return Price(float(options.price["input"]), float(options.price["output"]))
        except (KeyError, TypeError, ValueError):
            raise UserError("model.price: needs numeric 'input' and 'output'") from None
    table = load_price_table(Path(options.price_table) if options.price_table else None)
    return table.get(options.model)


_LIVE: LiveBackends[OpenAIOptions, OpenAIBackend] = LiveBackends(
    "openai", OpenAIOptions, OpenAIBackend
)


def build_openai_backends(
    name: str, options: dict[str, Any], task: Task | None
) -> list[OpenAIBackend]:
    """One backend (one connection pool and concurrency cap) per model config, for every task."""
    return [_LIVE.get(name, options)]
