"""A failed or cut-off generation is never a successful one: error objects in streams and bodies,
streams cut before [DONE], empty answers at the token limit, reasoning text kept apart.

The answers' shapes follow the OpenAI chat-completions API (finish_reason "length": the token
limit was reached; an error object `{"error": {"message", "type", "code"}}`), as vLLM sends them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from evalkit.backends.api_reply import parse_body
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.usage import cut_off_lines
from evalkit.store.cache import ResponseCache
from evalkit.store.run_store import RunStore
from evalkit.types import Generation
from tests.backends.fault_server import FaultServer
from tests.backends.test_openai import ask, backend, make_task, run_config

STREAM_ERROR = "error object in the stream: CUDA out of memory (server_error, code 500)"


@pytest.mark.parametrize(
    ("text", "finish", "status"),
    [
        ("Canberra", "stop", "ok"),
        ("", "stop", "ok"),  # an empty answer the model chose to give is an answer
        ("Canberra is", "length", "truncated"),
        ("", "length", "empty"),
        (" \n\t", "length", "empty"),
        ("", None, "ok"),
    ],
)
def test_status_follows_text_and_finish_reason(text: str, finish: str | None, status: str) -> None:
    g = Generation(text=text, finish_reason=finish, output_tokens=64)
    assert g.status == status
    assert g.failed == (status == "empty")
    assert (g.error is not None) == (status == "empty")
    assert Generation.model_validate_json(g.model_dump_json()) == g


def test_errors_and_old_records_get_their_status() -> None:
    assert Generation(error="HTTP 500").status == "error"
    old = '{"text": "", "finish_reason": "length", "error": null, "cached": false, "metadata": {}}'
    assert Generation.model_validate_json(old).status == "empty"  # a record written before
    with pytest.raises(ValidationError, match="does not fit"):
        Generation(text="x", status="error")
    with pytest.raises(ValidationError, match="does not fit"):
        Generation(text="x", error="boom", status="ok")


@pytest.mark.parametrize("stream", [True, False])
def test_an_error_object_is_retried_then_recorded(stream: bool) -> None:
    action = "streamerr" if stream else "bodyerr"
    where = "stream" if stream else "response body"
    with FaultServer() as server:
        server.script["p"] = [action]
        server.script["q"] = [action, "ok"]
        g, h = ask(backend(server, stream=stream, max_tries=3), "p", "q")
        assert len(server.attempts["p"]) == 3
    assert g.status == "error" and g.failed and g.text == ""
    assert g.error == (
        f"gave up after 3 tries: error object in the {where}: CUDA out of memory"
        " (server_error, code 500)"
    )
    assert h.error is None and h.text.strip() == "echo: q" and h.metadata["attempts"] == 2


@pytest.mark.parametrize("action", ["streamerr:400", "bodyerr:422"])
def test_an_error_object_with_a_client_error_code_fails_at_once(action: str) -> None:
    with FaultServer() as server:
        server.script["p"] = [action]
        [g] = ask(backend(server, stream=True), "p")
        assert len(server.attempts["p"]) == 1
    assert g.status == "error" and g.error is not None and "CUDA out of memory" in g.error


def test_a_stream_cut_before_done_is_an_error_after_its_tries() -> None:
    with FaultServer() as server:
        server.script["p"] = ["truncate"]
        [g] = ask(backend(server, stream=True, max_tries=2), "p")
    assert g.status == "error"
    assert g.error == (
        "gave up after 2 tries: stream ended before [DONE] with no finish_reason (cut off)"
    )


def test_a_finished_stream_without_done_is_an_answer() -> None:
    with FaultServer() as server:
        server.script["p"] = ["nodone"]
        [g] = ask(backend(server, stream=True), "p")
    assert g.status == "ok" and g.text.strip() == "echo: p" and g.finish_reason == "stop"


@pytest.mark.parametrize("key", ["reasoning_content", "reasoning"])
@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_that_spent_the_budget_is_an_empty_failure(key: str, stream: bool) -> None:
    with FaultServer() as server:
        server.script["p"] = [f"reason:{key}:length"]
        [g] = ask(backend(server, stream=stream), "p")
        assert len(server.attempts["p"]) == 1  # the same request would end the same way
    assert (g.status, g.text, g.finish_reason) == ("empty", "", "length")
    assert g.error is not None and g.error.startswith("empty output: no answer text before the")
    assert g.reasoning == ("thinking about it" if stream else "thinking about p")


@pytest.mark.parametrize("stream", [True, False])
def test_reasoning_is_kept_apart_from_the_answer(stream: bool) -> None:
    with FaultServer() as server:
        server.script["p"] = ["reason:reasoning_content:stop"]
        [g] = ask(backend(server, stream=stream), "p")
    assert g.status == "ok" and g.text.strip() == "echo: p" and "thinking" not in g.text
    assert g.reasoning is not None and g.reasoning.startswith("thinking about")


def test_score_reasoning_puts_it_before_the_answer_and_changes_the_signature() -> None:
    with FaultServer() as server:
        server.script["p"] = ["reason:reasoning_content:stop"]
        server.script["q"] = ["reason:reasoning_content:length"]
        plain = backend(server)
        plain.close()
        b = backend(server, score_reasoning=True)
        signature = b.signature()
        g, h = ask(b, "p", "q")
    assert signature != plain.signature()
    assert g.text == "thinking about p\n\necho: p" and g.reasoning == "thinking about p"
    assert (h.status, h.text, h.error) == ("truncated", "thinking about q", None)


@pytest.mark.parametrize("stream", [True, False])
def test_text_cut_at_the_limit_is_kept_and_flagged(stream: bool) -> None:
    with FaultServer() as server:
        server.script["p"] = ["length"]
        [g] = ask(backend(server, stream=stream), "p")
    assert (g.status, g.text.strip(), g.finish_reason, g.error) == (
        "truncated",
        "echo: p",
        "length",
        None,
    )


def test_content_as_a_list_of_parts_and_completions_text_null() -> None:
    body = {
        "choices": [
            {
                "message": {
                    "content": [{"type": "text", "text": "Can"}, {"type": "text", "text": "berra"}]
                },
                "finish_reason": "stop",
            }
        ]
    }
    assert parse_body(body, "chat").texts == ["Canberra"]
    body = {"choices": [{"text": None, "finish_reason": "length"}]}
    assert parse_body(body, "completions").texts == [""]


def test_only_successes_are_cached_and_old_failures_are_not_served(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    empty = Generation(text="", finish_reason="length")
    cut = Generation(text="Canberra is", finish_reason="length")
    cache.put_many([("a", empty), ("b", cut), ("c", Generation(error="x"))])
    assert set(cache.get_many(["a", "b", "c"])) == {"b"}
    old = json.dumps({"text": "", "finish_reason": "length", "metadata": {}})
    cache._db.execute("INSERT INTO responses VALUES ('d', ?, 0)", (old,))
    assert cache.get_many(["d"]) == {}
    cache.close()


def test_a_run_counts_failed_empty_and_truncated_and_caches_no_failure(tmp_path: Path) -> None:
    task = make_task(tmp_path / "task", 6)
    actions = ["streamerr", "reason:reasoning_content:length", "length", "ok", "ok", "truncate"]
    cache = {"path": str(tmp_path / "cache.sqlite")}
    with FaultServer() as server:
        server.script.update({f"question {i}": [a] for i, a in enumerate(actions)})
        config = run_config(task, server, stream=True, max_tries=2).model_copy(
            update={"cache": run_config(task, server).cache.model_copy(update=cache)}
        )
        record = run_evaluation(config, tmp_path / "run")
        records = {r.sample_id: r.generation for r in RunStore(tmp_path / "run").records()}
        server.script.clear()
        server.attempts.clear()
        again = run_evaluation(config, tmp_path / "again")
        asked_again = sorted(server.attempts)
    assert {k: g.status for k, g in records.items()} == {
        "s0": "error",
        "s1": "empty",
        "s2": "truncated",
        "s3": "ok",
        "s4": "ok",
        "s5": "error",
    }
    assert STREAM_ERROR in (records["s0"].error or "")
    assert records["s1"].reasoning == "thinking about it"
    [em] = record.aggregates
    assert (em.n, em.n_failed, em.value) == (3, 3, 1.0)  # the cut "echo: question 2" still matches
    [usage] = record.usage
    assert (usage.n, usage.n_errors, usage.n_empty, usage.n_truncated) == (6, 3, 1, 1)
    assert cut_off_lines(record.usage) == [
        "api_task/api: truncated: 1 of 6 (cut at the token limit, scored); "
        "empty: 1 of 6 (no answer text, failed)"
    ]
    # the failures were not cached: the rerun asks for exactly those again, and they now succeed
    assert asked_again == ["question 0", "question 1", "question 5"]
    assert (again.aggregates[0].n, again.aggregates[0].n_failed) == (6, 0)


def test_the_console_names_cut_and_empty_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evalkit.app.session import finish_run

    task = make_task(tmp_path / "task", 3)
    actions = ["length", "reason:reasoning:length", "ok"]
    with FaultServer() as server:
        server.script.update({f"question {i}": [a] for i, a in enumerate(actions)})
        finish_run(run_config(task, server, max_tries=1), tmp_path / "run")
    err = " ".join(capsys.readouterr().err.split())
    assert "1 samples failed (api_task/api: 1)" in err
    assert "api_task/api/s1: empty output: no answer text before the token limit" in err
    assert (
        "api_task/api: truncated: 1 of 3 (cut at the token limit, scored); "
        "empty: 1 of 3 (no answer text, failed)"
    ) in err


# ---- content: null is no answer; reasoning inline in the content is split off ----


def test_null_content_is_told_apart_from_an_empty_string() -> None:
    def body(content: object) -> dict[str, object]:
        return {"choices": [{"message": {"content": content}, "finish_reason": "stop"}]}

    assert parse_body(body(None), "chat").null == [True]
    assert parse_body(body(""), "chat").null == [False]
    assert parse_body({"choices": [{"text": None}]}, "completions").null == [True]


@pytest.mark.parametrize("stream", [True, False])
def test_null_content_with_stop_is_an_empty_failure(stream: bool) -> None:
    """The issue lists `content: null` among failed generations; "" with stop stays an answer."""
    with FaultServer() as server:
        server.script["p"] = ["null"]
        [g] = ask(backend(server, stream=stream), "p")
    assert (g.status, g.text, g.finish_reason, g.failed) == ("empty", "", "stop", True)
    assert g.error == "empty output: the answer's content was null (finish_reason 'stop')"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("shape", "status", "text", "reasoning"),
    [
        ("inline:closed", "ok", "echo: p", "pondering p"),
        ("inline:r1", "ok", "echo: p", "pondering p"),
        ("inline:open", "empty", "", "pondering p for a long"),
        ("inline:late", "ok", "echo: p (a <think> tag is HTML-like)", None),
    ],
)
def test_inline_reasoning_is_split_off_the_answer(
    stream: bool, shape: str, status: str, text: str, reasoning: str | None
) -> None:
    with FaultServer() as server:
        server.script["p"] = [shape]
        [g] = ask(backend(server, stream=stream), "p")
    assert (g.status, g.text.strip(), g.reasoning) == (status, text, reasoning)
    if status == "empty":  # cut at the token limit while thinking: the budget ran out
        assert g.finish_reason == "length" and g.error is not None
        assert g.error.startswith("empty output: no answer text before the token limit")


def test_reasoning_tags_keep_leaves_the_text_and_changes_the_signature() -> None:
    with FaultServer() as server:
        server.script["p"] = ["inline:closed"]
        auto = backend(server)
        auto.close()
        keep = backend(server, reasoning_tags="keep")
        [g] = ask(keep, "p")
    assert g.text == "<think>pondering p</think>\n\necho: p" and g.reasoning is None
    assert "reasoning_tags:auto" in auto.signature()
    assert keep.signature() == auto.signature().replace("tags:auto", "tags:keep")


def test_inline_reasoning_is_scored_only_when_asked() -> None:
    with FaultServer() as server:
        server.script["p"] = ["inline:closed"]
        [g] = ask(backend(server, score_reasoning=True), "p")
    assert g.text == "pondering p\n\necho: p" and g.reasoning == "pondering p"


def test_a_run_counts_null_and_unclosed_reasoning_as_failed_and_caches_neither(
    tmp_path: Path,
) -> None:
    task = make_task(tmp_path / "task", 3)
    cache = {"path": str(tmp_path / "cache.sqlite")}
    with FaultServer() as server:
        server.script.update(
            {f"question {i}": [a] for i, a in enumerate(["null", "inline:closed", "inline:open"])}
        )
        config = run_config(task, server).model_copy(
            update={"cache": run_config(task, server).cache.model_copy(update=cache)}
        )
        record = run_evaluation(config, tmp_path / "run")
        server.script.clear()
        server.attempts.clear()
        run_evaluation(config, tmp_path / "again")
        asked_again = sorted(server.attempts)
    [em] = record.aggregates
    assert (em.n, em.n_failed, em.value) == (1, 2, 1.0)  # the split answer matches exactly
    [usage] = record.usage
    assert (usage.n_errors, usage.n_empty) == (2, 2)
    assert asked_again == ["question 0", "question 2"]


# ---- an HTTP 200 that holds no real answer is a failed sample, never an ok "" ----


def _choice(**fields: object) -> dict[str, object]:
    return {"index": 0, "finish_reason": "stop", **fields}


NO_MESSAGE = "malformed answer: a choice has no message object"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"choices": []}, "no choices in the response"),
        ({"choices": None}, "malformed answer: 'choices' is not a list of objects"),
        ({"choices": {"0": _choice()}}, "malformed answer: 'choices' is not a list of objects"),
        ({"choices": ["echo"]}, "malformed answer: 'choices' is not a list of objects"),
        ({"choices": [_choice()]}, NO_MESSAGE),
        ({"choices": [_choice(message=None)]}, NO_MESSAGE),
        ({"choices": [_choice(message="echo")]}, NO_MESSAGE),
        (
            {"choices": [_choice(message={"content": 42})]},
            "malformed answer: content is not text, null or a list of parts",
        ),
        (
            {"choices": [_choice(message={"content": "a stub"}, finish_reason="error")]},
            "finish_reason 'error': the server stopped this answer without completing it",
        ),
        (
            {"choices": [_choice(message={"content": "a stub"}, finish_reason="abort")]},
            "finish_reason 'abort': the server stopped this answer without completing it",
        ),
    ],
)
def test_a_body_without_a_real_answer_is_a_failed_sample(body: object, error: str) -> None:
    with FaultServer() as server:
        server.script["p"] = ["body:" + json.dumps(body)]
        [g] = ask(backend(server, max_tries=2), "p")
        assert len(server.attempts["p"]) == 2  # retried: a server's slip, not a bad request
    assert (g.status, g.failed, g.text) == ("error", True, "")
    assert g.error == f"gave up after 2 tries: {error}"


@pytest.mark.parametrize(
    ("action", "error"),
    [
        ("finish:error", "finish_reason 'error': the server stopped this answer without"),
        ("finish:abort", "finish_reason 'abort': the server stopped this answer without"),
        ("nochoices", "no choices in the response"),
    ],
)
def test_a_stream_without_a_real_answer_is_a_failed_sample(action: str, error: str) -> None:
    with FaultServer() as server:
        server.script["p"] = [action]
        server.script["q"] = [action, "ok"]
        g, h = ask(backend(server, stream=True, max_tries=2), "p", "q")
    assert (g.status, g.failed, g.text) == ("error", True, "")
    assert g.error is not None and g.error.startswith(f"gave up after 2 tries: {error}")
    assert h.error is None and h.text.strip() == "echo: q"


def test_a_run_counts_answers_without_choices_or_with_an_error_finish_as_failed(
    tmp_path: Path,
) -> None:
    task = make_task(tmp_path / "task", 3)
    actions = ['body:{"choices": []}', "finish:error", "ok"]
    with FaultServer() as server:
        server.script.update({f"question {i}": [a] for i, a in enumerate(actions)})
        record = run_evaluation(run_config(task, server, max_tries=1), tmp_path / "run")
    [em] = record.aggregates
    assert (em.n, em.n_failed, em.value) == (1, 2, 1.0)
    [usage] = record.usage
    assert usage.n_errors == 2


# ---- a reply's fields of the wrong type or value: a failed sample or an unknown count ----


def _sse(*chunks: dict[str, object]) -> str:
    return "sse:" + json.dumps(list(chunks))


def _delta(content: object, finish: object = None) -> dict[str, object]:
    choice = {"index": 0, "delta": {"content": content}, "finish_reason": finish}
    return {"choices": [choice]}


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("content", "finish_reason", "malformed"),
    [
        ("a stub", 5, "finish_reason is not a string"),
        ([{"type": "text", "text": {"value": "2"}}], "stop", "a text part's text is not a string"),
    ],
)
def test_a_malformed_answer_is_a_failed_sample(
    stream: bool, content: object, finish_reason: object, malformed: str
) -> None:
    """A finish_reason that is not a string, or a text part whose text is not one (it was
    scored as "{'value': '2'}"), fails the sample after its tries; the run goes on."""
    body = {"choices": [_choice(message={"content": content}, finish_reason=finish_reason)]}
    action = _sse(_delta(content, finish_reason)) if stream else "body:" + json.dumps(body)
    with FaultServer() as server:
        server.script["p"] = [action]
        [g] = ask(backend(server, stream=stream, max_tries=2), "p")
    assert (g.status, g.failed, g.text) == ("error", True, "")
    assert g.error == f"gave up after 2 tries: malformed answer: {malformed}"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("count", ["abc", 5.5, 1e30, -5, True, 10**12, [3]])
def test_a_usage_count_that_is_not_a_real_count_is_unknown_and_costs_nothing(
    stream: bool, count: object
) -> None:
    usage = {"prompt_tokens": count, "completion_tokens": 7}
    body = {"choices": [_choice(message={"content": "a stub"})], "usage": usage}
    final = {"choices": [], "usage": usage}
    action = _sse(_delta("a stub", "stop"), final) if stream else "body:" + json.dumps(body)
    with FaultServer() as server:
        server.script["p"] = [action]
        b = backend(server, stream=stream, price={"input": 2.0, "output": 10.0})
        [g] = ask(b, "p")
    assert (g.status, g.text, g.input_tokens, g.output_tokens) == ("ok", "a stub", None, 7)
    assert g.cost_usd is None  # as with no usage at all: never a cost from a wrong count


def test_a_whole_float_count_is_read_and_a_usage_that_is_not_an_object_is_unknown() -> None:
    def body(usage: object) -> dict[str, object]:
        return {"choices": [_choice(message={"content": "x"})], "usage": usage}

    reply = parse_body(body({"prompt_tokens": 5.0, "completion_tokens": 0}), "chat")
    assert (reply.input_tokens, reply.output_tokens) == (5, 0)
    reply = parse_body(body(["prompt_tokens"]), "chat")
    assert (reply.input_tokens, reply.output_tokens) == (None, None)


@pytest.mark.parametrize(
    ("content", "text", "null"),
    [
        ([], "", True),
        ([{"type": "image_url", "image_url": {"url": "x"}}], "", True),
        (["2"], "", True),
        ([{"type": "output_text", "text": "2"}], "2", False),
        ([{"type": "text", "text": "1"}, {"type": "output_text", "text": "2"}], "12", False),
        ([{"type": "text", "text": ""}], "", False),
    ],
)
def test_content_parts_are_read_as_text_or_as_no_answer(
    content: object, text: str, null: bool
) -> None:
    reply = parse_body({"choices": [_choice(message={"content": content})]}, "chat")
    assert (reply.texts, reply.null) == ([text], [null])


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("content", [[], [{"type": "image_url"}], ["2"]])
def test_content_parts_without_text_are_an_empty_failure(stream: bool, content: object) -> None:
    body = {"choices": [_choice(message={"content": content})]}
    action = _sse(_delta(content, "stop")) if stream else "body:" + json.dumps(body)
    with FaultServer() as server:
        server.script["p"] = [action]
        [g] = ask(backend(server, stream=stream), "p")
    assert (g.status, g.failed, g.text) == ("empty", True, "")
    assert g.error == "empty output: the answer's content was null (finish_reason 'stop')"


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(("content", "status"), [("", "empty"), ("  ", "empty"), ("Paris", "ok")])
def test_content_filter_with_no_text_is_an_empty_failure(
    stream: bool, content: str, status: str
) -> None:
    body = {"choices": [_choice(message={"content": content}, finish_reason="content_filter")]}
    action = _sse(_delta(content, "content_filter")) if stream else "body:" + json.dumps(body)
    with FaultServer() as server:
        server.script["p"] = [action]
        [g] = ask(backend(server, stream=stream), "p")
    assert (g.status, g.text, g.finish_reason) == (status, content, "content_filter")
    if status == "empty":
        assert g.error == (
            "empty output: the server's content filter stopped the answer"
            " (finish_reason 'content_filter')"
        )


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("reason", ["ERROR", "Abort"])
def test_failed_finish_reasons_count_in_any_case(stream: bool, reason: str) -> None:
    body = {"choices": [_choice(message={"content": "a stub"}, finish_reason=reason)]}
    action = _sse(_delta("a stub", reason)) if stream else "body:" + json.dumps(body)
    with FaultServer() as server:
        server.script["p"] = [action]
        [g] = ask(backend(server, stream=stream, max_tries=1), "p")
    assert (g.status, g.failed, g.text) == ("error", True, "")
    assert g.error is not None and f"finish_reason {reason.lower()!r}" in g.error


def test_a_run_with_malformed_fields_counts_failures_and_is_not_aborted(tmp_path: Path) -> None:
    """The tester's reply shapes that aborted the whole run (exit 1) or were scored as wrong."""
    task = make_task(tmp_path / "task", 3)
    bodies = [
        {"choices": [_choice(message={"content": "x"}, finish_reason=5)]},
        {"choices": [_choice(message={"content": []})]},
        {"choices": [_choice(message={"content": "x"})], "usage": {"prompt_tokens": "abc"}},
    ]
    with FaultServer() as server:
        script = {f"question {i}": ["body:" + json.dumps(b)] for i, b in enumerate(bodies)}
        server.script.update(script)
        record = run_evaluation(run_config(task, server, max_tries=1), tmp_path / "run")
    [em] = record.aggregates
    assert (em.n, em.n_failed) == (1, 2)
