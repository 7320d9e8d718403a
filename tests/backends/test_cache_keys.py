"""The response cache key of the `openai` backend covers everything it sends: two requests whose
HTTP bodies differ (system prompt, stop, seed, sampling, extra_body, logprobs, endpoint, model)
never share a cache entry, and neither do two endpoints."""

from __future__ import annotations

import itertools
from typing import Any

from evalkit.backends.api_call import CallSettings, payload
from evalkit.backends.openai_api import OpenAIBackend, OpenAIOptions
from evalkit.store.cache import cache_key
from evalkit.types import ChatMessage, GenerationParams, Request

BASE: dict[str, Any] = {"model": "m", "api_key_env": None, "base_url": "http://127.0.0.1:9/v1"}
OPTION_VARIANTS: list[dict[str, Any]] = [
    {},
    {"model": "other"},
    {"base_url": "http://127.0.0.1:9/other/v1"},
    {"endpoint": "completions"},
    {"logprobs": True},
    {"logprobs": True, "top_logprobs": 3},
    {"extra_body": {"reasoning_effort": "high"}},
    {"extra_body": {"reasoning_effort": "low"}},
    {"extra_body": {"response_format": {"type": "json_object"}}},
]


def request(system: str | None = None, user: str = "hi", **params: Any) -> Request:
    messages = [ChatMessage(role="system", content=system)] if system is not None else []
    messages.append(ChatMessage(role="user", content=user))
    return Request(task="t", sample_id="1", messages=messages, params=GenerationParams(**params))


REQUESTS = [
    request(),
    request(system="Answer briefly."),
    request(system="Answer in French."),
    request(user="hello"),
    request(stop=["\n"]),
    request(seed=1),
    request(temperature=0.7),
    request(temperature=0.7, top_p=0.9),
    request(max_new_tokens=10),
    request(n=2),
]


def sent(options: OpenAIOptions, req: Request) -> dict[str, Any]:
    """The request body the backend would POST, and where to."""
    settings = CallSettings(
        model=options.model,
        endpoint=options.endpoint,
        stream=False,  # streaming changes the transport, not the completion
        timeout_s=1,
        max_tries=1,
        backoff_base_s=0,
        backoff_max_s=0,
        logprobs=options.logprobs,
        top_logprobs=options.top_logprobs,
        extra_body=dict(options.extra_body),
    )
    return {"url": options.base_url, "endpoint": options.endpoint, **payload(req, settings)}


def signature(options: OpenAIOptions) -> str:
    backend = OpenAIBackend("api", options)
    try:
        return backend.signature()
    finally:
        backend.close()


def test_different_request_bodies_never_share_a_cache_key():
    rows = []
    for variant in OPTION_VARIANTS:
        options = OpenAIOptions(**{**BASE, **variant})
        sig = signature(options)
        rows.extend((sent(options, r), cache_key(sig, r)) for r in REQUESTS)
    for (body_a, key_a), (body_b, key_b) in itertools.combinations(rows, 2):
        if body_a != body_b:
            assert key_a != key_b, (body_a, body_b)
    assert len({key for _, key in rows}) == len(OPTION_VARIANTS) * len(REQUESTS)


def test_the_system_prompt_is_sent_and_keyed():
    options = OpenAIOptions(**BASE)
    sig = signature(options)
    with_system = request(system="Answer briefly.")
    assert sent(options, with_system)["messages"][0] == {
        "role": "system",
        "content": "Answer briefly.",
    }
    assert cache_key(sig, with_system) != cache_key(sig, request())
    assert cache_key(sig, with_system) == cache_key(sig, request(system="Answer briefly."))


def test_the_api_key_is_not_in_the_signature(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_VAR", "sk-very-secret")
    backend = OpenAIBackend("api", OpenAIOptions(**{**BASE, "api_key_env": "SECRET_KEY_VAR"}))
    try:
        assert "sk-very-secret" not in backend.signature()
    finally:
        backend.close()
