"""evalkit's one "cached or generate" (`evalkit.store.cache.look_up` / `CacheLookup.merge`,
`generate_cached`): the backend is asked only for what the cache lacks, answers keep request
order, failures are not stored and their texts are redacted, and without a cache every request
goes to the backend."""

from __future__ import annotations

from collections.abc import Sequence

from evalkit.store.cache import ResponseCache, generate_cached, look_up
from evalkit.types import ChatMessage, Generation, Request


class Echo:
    """A backend answering each request with its sample id (failing ids starting with 'x'),
    recording every batch it is asked."""

    name = "echo"

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def signature(self) -> str:
        return "echo|v1"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        self.asked.append([r.sample_id for r in requests])
        return [
            Generation(text="", error="401: Incorrect API key provided: sk-abcdefghijklmnop1234")
            if r.sample_id.startswith("x")
            else Generation(text=f"answer {r.sample_id}", latency_s=0.5)
            for r in requests
        ]


def requests(*ids: str) -> list[Request]:
    return [
        Request(task="t", sample_id=i, messages=[ChatMessage(role="user", content=i)]) for i in ids
    ]


def test_only_what_the_cache_lacks_is_asked_in_request_order(tmp_path) -> None:
    cache, backend = ResponseCache(tmp_path / "c.sqlite"), Echo()
    first = generate_cached(backend, cache, requests("a", "x1", "b"))
    assert [g.text for g in first] == ["answer a", "", "answer b"]
    assert not any(g.cached for g in first) and len(cache) == 2  # the failure is not stored
    assert "sk-abcdefghijklmnop1234" not in str(first[1].error)
    second = generate_cached(backend, cache, requests("b", "c", "x1", "a"))
    assert backend.asked == [["a", "x1", "b"], ["c", "x1"]]
    assert [(g.text, g.cached) for g in second] == [
        ("answer b", True), ("answer c", False), ("", False), ("answer a", True),
    ]  # fmt: skip
    assert second[0].latency_s == 0.5  # a cached answer keeps what it cost when made
    generate_cached(backend, cache, requests("a", "b"))
    assert len(backend.asked) == 2  # everything cached: the backend is not called at all
    cache.close()


def test_the_split_form_merges_like_the_one_call_form(tmp_path) -> None:
    cache, backend = ResponseCache(tmp_path / "c.sqlite"), Echo()
    generate_cached(backend, cache, requests("a"))
    lookup = look_up(cache, backend.signature(), requests("a", "b", "c"))
    assert lookup.missing == [1, 2] and list(lookup.cached) == [lookup.keys[0]]
    made = backend.generate(requests("b", "c"))
    merged = lookup.merge(made, cache)
    assert [(g.text, g.cached) for g in merged] == [
        ("answer a", True), ("answer b", False), ("answer c", False),
    ]  # fmt: skip
    assert len(cache) == 3
    cache.close()


def test_without_a_cache_every_request_is_asked() -> None:
    backend = Echo()
    lookup = look_up(None, "", requests("a", "b"))
    assert (lookup.keys, lookup.missing) == ([], [0, 1])
    assert [g.text for g in generate_cached(backend, None, requests("a", "a"))] == ["answer a"] * 2
    assert backend.asked == [["a", "a"]]
