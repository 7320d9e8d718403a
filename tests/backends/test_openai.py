"""Backend `openai` against a real, misbehaving server on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evalkit.backends.openai_api import build_openai_backends
from evalkit.config import RunConfig
from evalkit.stages.pipeline import run_evaluation
from evalkit.store.run_store import RunStore
from evalkit.types import ChatMessage, GenerationParams, Request
from tests.backends.fault_server import FaultServer


def backend(server: FaultServer, **options):
    defaults = {
        "base_url": server.base_url,
        "model": "m",
        "api_key_env": None,
        "stream": False,
        "backoff_base_s": 0.01,
        "max_tries": 3,
        "timeout_s": 5,
    }
    [b] = build_openai_backends("api", {**defaults, **options}, None)
    return b


def ask(b, *prompts: str):
    requests = [
        Request(
            task="t",
            sample_id=str(i),
            messages=[ChatMessage(role="user", content=p)],
            params=GenerationParams(max_new_tokens=16),
        )
        for i, p in enumerate(prompts)
    ]
    try:
        return b.generate(requests)
    finally:
        b.close()


def test_retry_after_is_honoured():
    with FaultServer() as server:
        server.script["p"] = ["429:0.5", "ok"]
        [g] = ask(backend(server), "p")
        first, second = server.attempts["p"]
    assert g.error is None and g.text == "echo: p" and g.metadata["attempts"] == 2
    assert second - first >= 0.5


def test_attempts_are_bounded_and_the_error_is_kept():
    with FaultServer() as server:
        server.script["p"] = ["503"]
        [g] = ask(backend(server, max_tries=4), "p")
        assert len(server.attempts["p"]) == 4
    assert g.error.startswith("gave up after 4 tries: HTTP 503")


@pytest.mark.parametrize("status", ["400", "401", "404", "422"])
def test_client_errors_fail_at_once(status):
    with FaultServer() as server:
        server.script["p"] = [status]
        [g] = ask(backend(server), "p")
        assert len(server.attempts["p"]) == 1
    assert g.error.startswith(f"HTTP {status}")


@pytest.mark.parametrize("status", ["408", "409", "500", "502"])
def test_retryable_statuses(status):
    with FaultServer() as server:
        server.script["p"] = [status, "ok"]
        [g] = ask(backend(server), "p")
    assert g.error is None and g.metadata["attempts"] == 2


def test_hung_request_aborts_at_the_timeout():
    with FaultServer() as server:
        server.script["p"] = ["hang"]
        start = time.monotonic()
        [g] = ask(backend(server, timeout_s=0.3, max_tries=2), "p")
        elapsed = time.monotonic() - start
    assert g.error == "gave up after 2 tries: timed out after 0.3 s"
    assert 0.6 <= elapsed < 3


def test_malformed_json_and_truncated_stream_are_retried():
    with FaultServer() as server:
        server.script["p"] = ["badjson", "truncate", "ok"]
        [g] = ask(backend(server, stream=True, max_tries=3), "p")
    assert g.error is None and g.text.strip() == "echo: p" and g.metadata["attempts"] == 3


def test_streaming_measures_ttft_and_costs_from_usage():
    with FaultServer() as server:
        [g] = ask(backend(server, stream=True, price={"input": 2.0, "output": 10.0}), "a b c")
    assert g.text.strip() == "echo: a b c" and g.finish_reason == "stop"
    assert 0 < g.time_to_first_token_s < g.latency_s
    assert (g.input_tokens, g.output_tokens) == (3, 4)
    assert g.cost_usd == pytest.approx((3 * 2.0 + 4 * 10.0) / 1e6)


def test_a_stream_is_read_to_its_end_and_its_connection_reused():
    """A streamed answer is read to the end of its body after [DONE] (here 50 ms later), so its
    connection goes back to the pool; released earlier, the connection was closed and each
    request opened a new one."""
    prompts = [f"q{i}" for i in range(6)]
    with FaultServer() as server:
        server.script = {p: ["lateend"] for p in prompts}
        out = ask(backend(server, stream=True, max_concurrency=1), *prompts)
    assert [g.text.strip() for g in out] == [f"echo: {p}" for p in prompts]
    assert len(server.connections) == 1


def test_price_table_lookup_by_model_name():
    with FaultServer() as server:
        b = backend(server, model="gpt-4o-mini")
        b.close()
    assert b.price is not None and b.price.input_per_1m > 0


def test_in_flight_requests_never_exceed_the_cap():
    with FaultServer() as server:
        server.script.update({f"p{i}": ["slow:0.05"] for i in range(60)})
        results = ask(backend(server, max_concurrency=4), *[f"p{i}" for i in range(60)])
        assert server.peak_in_flight == 4
    assert all(g.error is None for g in results)


def test_429_halves_concurrency():
    with FaultServer() as server:
        server.script.update({f"p{i}": ["429:0.1", "slow:0.05"] for i in range(16)})
        b = backend(server, max_concurrency=8)
        results = ask(b, *[f"p{i}" for i in range(16)])
    assert all(g.error is None for g in results)
    assert b._call.limit.limit < 8


def make_task(root: Path, n: int) -> Path:
    root.mkdir(parents=True)
    with (root / "data.jsonl").open("w") as handle:
        for i in range(n):
            handle.write(
                json.dumps({"id": f"s{i}", "q": f"question {i}", "a": f"echo: question {i}"}) + "\n"
            )
    (root / "task.yaml").write_text(
        "name: api_task\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: q, references: a}\n"
        "scorers: {exact_match: {}}\n"
    )
    return root


def run_config(task: Path, server: FaultServer, **model) -> RunConfig:
    return RunConfig.from_dict(
        {
            "suite": {"name": "api", "tasks": [str(task)]},
            "model": {
                "name": "api",
                "backend": "openai",
                "base_url": server.base_url,
                "model": "m",
                "api_key_env": None,
                "stream": False,
                "backoff_base_s": 0.01,
                "max_concurrency": 8,
                **model,
            },
            "progress": False,
            "batch_size": 32,
            "report": {"enabled": False},
        }
    )


def test_no_sample_lost_or_duplicated_under_20_percent_5xx(tmp_path):
    task = make_task(tmp_path / "task", 200)
    with FaultServer(fail_rate=0.2, seed=1) as server:
        # 12 tries: the chance that any of 200 requests fails all of them is 200 x 0.2^12 ~ 1e-6
        # (with 8 tries it was ~5e-4 a run, and it happened once)
        record = run_evaluation(run_config(task, server, max_tries=12), tmp_path / "run")
        assert server.total_attempts > 220  # failures did happen and were retried
    records = list(RunStore(tmp_path / "run").records())
    assert sorted(r.sample_id for r in records) == sorted(f"s{i}" for i in range(200))
    errors = [(r.generation.error, r.generation.metadata) for r in records if r.generation.error]
    assert not errors, errors[:3]
    [em] = record.aggregates
    assert (em.value, em.n, em.n_failed) == (1.0, 200, 0)


def test_retry_failed_reruns_exactly_the_failed_samples(tmp_path):
    task = make_task(tmp_path / "task", 40)
    broken = {f"question {i}" for i in (3, 17, 29)}
    with FaultServer() as server:
        server.script.update({p: ["500"] for p in broken})
        first = run_evaluation(run_config(task, server, max_tries=2), tmp_path / "run")
        assert first.aggregates[0].n_failed == 3
        server.script.clear()
        server.attempts.clear()
        again = run_evaluation(run_config(task, server, max_tries=2), tmp_path / "run")
        assert server.total_attempts == 0  # a plain resume keeps failures as they are
        assert again.aggregates[0].n_failed == 3
        retry = run_config(task, server, max_tries=2).model_copy(update={"retry_failed": True})
        final = run_evaluation(retry, tmp_path / "run")
        assert set(server.attempts) == broken
    assert (final.aggregates[0].n, final.aggregates[0].n_failed) == (40, 0)


def test_cached_generations_are_not_requested_again(tmp_path):
    task = make_task(tmp_path / "task", 10)
    with FaultServer() as server:
        run_evaluation(run_config(task, server), tmp_path / "a")
        before = server.total_attempts
        run_evaluation(run_config(task, server), tmp_path / "b")
        assert server.total_attempts == before == 10


def test_run_json_totals_tokens_cost_and_latency(tmp_path):
    task = make_task(tmp_path / "task", 20)
    with FaultServer() as server:
        record = run_evaluation(
            run_config(task, server, price={"input": 1.0, "output": 2.0}), tmp_path / "run"
        )
    [usage] = record.usage
    assert (usage.n, usage.n_errors, usage.n_cached) == (20, 0, 0)
    # the server counts words: "question 7" is 2 prompt tokens, "echo: question 7" 3 output tokens
    assert usage.input_tokens == 2 * 20 and usage.output_tokens == 3 * 20
    assert usage.cost_usd == pytest.approx((40 * 1.0 + 60 * 2.0) / 1e6)
    assert 0 < usage.latency_p50_s <= usage.latency_p95_s


def test_minute_budget_waits_once_spent():
    import asyncio

    from evalkit.backends.ratelimit import MinuteBudget

    async def scenario() -> float:
        budget = MinuteBudget(600)  # 10 per second
        await budget.take(600)
        start = time.monotonic()
        await budget.take(5)
        return time.monotonic() - start

    assert 0.4 <= asyncio.run(scenario()) < 1.5


def test_logprobs_are_requested_and_kept():
    with FaultServer() as server:
        server.script["p"] = ["logprobs"]
        [g] = ask(backend(server, logprobs=True, top_logprobs=2), "p")
        assert server.last_body["logprobs"] is True and server.last_body["top_logprobs"] == 2
    assert g.metadata["logprobs"] == {"content": [{"token": "echo", "logprob": -0.5}]}


def test_default_base_url_is_openai_base_url_as_the_openai_client_reads_it(monkeypatch):
    # A model spec without base_url (e.g. an inline judge `{backend: openai, model: gpt-4o}`)
    # must go where the openai client would: $OPENAI_BASE_URL, else api.openai.com.
    with FaultServer() as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        spec = {"model": "m", "api_key_env": None, "stream": False, "max_tries": 1}
        [b] = build_openai_backends("judge", spec, None)
        assert b.options.base_url == server.base_url
        assert server.base_url in b.signature()
        [g] = ask(b, "p")
        assert g.error is None and g.text == "echo: p" and server.attempts["p"]
    monkeypatch.setenv("OPENAI_BASE_URL", "")
    [b] = build_openai_backends("judge2", {"model": "m"}, None)
    assert b.options.base_url == "https://api.openai.com/v1"
    assert b.options.api_key_env == "OPENAI_API_KEY"
    b.close()


def test_two_batches_in_flight_share_one_http_session(monkeypatch):
    """`concurrent_batches = 2`: both threads asking for the client at once must get the same
    one. Two sessions meant one never closed ("Unclosed client session" after an aborted run)."""
    import asyncio
    import threading

    from evalkit.backends.openai_api import OpenAIBackend, OpenAIOptions

    backend = OpenAIBackend("m", OpenAIOptions(model="m", api_key_env=None))
    made: list[object] = []

    async def slow_make_call() -> object:
        await asyncio.sleep(0.2)  # both threads are inside `_call` by now
        made.append(object())
        return made[-1]

    monkeypatch.setattr(backend, "_make_call", slow_make_call)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(backend._call)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    monkeypatch.setattr(backend, "_live_call", None)  # nothing real to close
    backend.close()
    assert len(made) == 1 and got[0] is got[1]
