"""Multi-turn samples: turn k is asked on the model's own earlier answers, stored and scored per
turn; replay of one recorded output per turn. The model is a scripted OpenAI-compatible server
on 127.0.0.1 that records every conversation it is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from evalkit.config import RunConfig
from evalkit.stages.pipeline import run_evaluation
from evalkit.store.run_store import RunStore
from tests.backends.fault_server import FaultServer
from tests.backends.judge_server import JudgeServer
from tests.conftest import write_jsonl

ROWS = [
    {"id": "a", "turns": ["What is 2+2?", "Times 3?"], "refs": ["4", "12"]},
    {"id": "b", "turns": ["Name a colour.", "Another one?", "And a third?"], "refs": None},
    {"id": "c", "turns": ["FAIL here", "Never asked?"], "refs": None},
]


class ChatServer(JudgeServer):
    """Answers `A<number of user messages>[<last user message>]`; scripted failures as
    FaultServer's; keeps every message list it was sent."""

    def __init__(self) -> None:
        super().__init__(self.answer)
        self.seen: list[list[dict[str, str]]] = []

    @staticmethod
    def answer(messages: list[dict[str, str]]) -> str:
        users = [m for m in messages if m["role"] == "user"]
        return f"A{len(users)}[{users[-1]['content']}]"

    async def _respond(
        self, request: web.Request, body: dict[str, Any], prompt: str, action: str
    ) -> web.StreamResponse:
        if action != "ok":
            return await FaultServer._respond(self, request, body, prompt, action)
        self.seen.append(body["messages"])
        return await super()._respond(request, body, prompt, action)


def make_task(root: Path) -> Path:
    write_jsonl(root / "data.jsonl", ROWS)
    (root / "task.yaml").write_text(
        "name: chat3\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, turns: turns, references: refs}\n"
        "system_prompt: Be brief.\nprompt: 'Q: {{ input }}'\n"
        "scorers: {exact_match: {}}\n",
        encoding="utf-8",
    )
    return root


def config(task: Path, model: dict[str, Any]) -> RunConfig:
    return RunConfig.from_dict(
        {
            "suite": {"name": "t", "tasks": [str(task)]},
            "model": model,
            "progress": False,
            "report": {"enabled": False},
            "scoring": {"workers": 0},
        }
    )


def openai_model(server: FaultServer) -> dict[str, Any]:
    return {
        "name": "chat",
        "backend": "openai",
        "base_url": server.base_url,
        "model": "m",
        "api_key_env": None,
        "stream": False,
        "max_tries": 1,
    }


def test_later_turns_are_asked_on_the_models_own_answers(tmp_path):
    task = make_task(tmp_path / "task")
    with ChatServer() as server:
        server.script["Q: FAIL here"] = ["400"]
        run = run_evaluation(config(task, openai_model(server)), tmp_path / "run")
        seen = server.seen
    # What the model was sent: each later turn carries its own earlier answers, verbatim.
    assert [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Q: What is 2+2?"},
        {"role": "assistant", "content": "A1[Q: What is 2+2?]"},
        {"role": "user", "content": "Times 3?"},
    ] in seen
    third = [m for m in seen if len(m) == 6]
    assert [m["content"] for m in third[0][1:]] == [
        "Q: Name a colour.", "A1[Q: Name a colour.]", "Another one?", "A2[Another one?]",
        "And a third?",
    ]  # fmt: skip
    assert not any(m[-1]["content"] == "Never asked?" for m in seen)
    records = {r.sample_id: r for r in RunStore(tmp_path / "run").records()}
    assert sorted(records) == ["a/turn1", "a/turn2", "b/turn1", "b/turn2", "b/turn3",
                               "c/turn1", "c/turn2"]  # fmt: skip
    # Stored per turn: the request is the conversation, turn 1's answer is in turn 2's request.
    a1, a2 = records["a/turn1"], records["a/turn2"]
    assert a2.request.messages[2].content == a1.generation.text == "A1[Q: What is 2+2?]"
    assert (a1.references, a2.references) == (["4"], ["12"])
    # A failed turn leaves the later turns not asked: failed, saying why.
    c2 = records["c/turn2"].generation
    assert c2.status == "error" and c2.error.startswith("not asked: turn 1 has no answer")
    # Scored per turn: exact match fails on "A1[...]" vs "4"; no reference is unscorable.
    aggregates = {a.metric: a for a in run.aggregates}
    assert set(aggregates) == {"exact_match_turn1", "exact_match_turn2", "exact_match_turn3"}
    assert [s.name for s in a2.scores] == ["exact_match_turn2"]
    turn2 = aggregates["exact_match_turn2"]
    assert (turn2.value, turn2.n + turn2.n_failed) == (0.0, 3)
    assert aggregates["exact_match_turn3"].n + aggregates["exact_match_turn3"].n_failed == 1


def test_a_rerun_regenerates_nothing(tmp_path):
    task = make_task(tmp_path / "task")
    with ChatServer() as server:
        model = openai_model(server)
        run_evaluation(config(task, model), tmp_path / "one")
        calls = server.calls
        run_evaluation(config(task, model), tmp_path / "two")
        assert server.calls == calls  # every turn from the response cache
    one = {r.sample_id: r.generation.text for r in RunStore(tmp_path / "one").records()}
    two = {r.sample_id: r.generation.text for r in RunStore(tmp_path / "two").records()}
    assert one == two and len(one) == 7


def test_replay_serves_one_output_per_turn(tmp_path):
    task = make_task(tmp_path / "task")
    outputs = write_jsonl(
        tmp_path / "outputs.jsonl",
        [
            {"id": "a", "system": "x", "output": ["4", "12"]},
            {"id": "b", "system": "x", "output": ["red", "blue", "green"]},
            {"id": "c/turn1", "system": "x", "output": "one"},
            {"id": "c/turn2", "system": "x", "output": "two"},
        ],
    )
    model = {"name": "replay", "backend": "replay", "path": str(outputs)}
    run = run_evaluation(config(task, model), tmp_path / "run")
    records = {r.sample_id: r for r in RunStore(tmp_path / "run").records()}
    assert records["b/turn3"].generation.text == "green"
    assert [m.content for m in records["b/turn3"].request.messages[1:]] == [
        "Q: Name a colour.", "red", "Another one?", "blue", "And a third?"
    ]  # fmt: skip
    assert records["c/turn2"].generation.text == "two"
    values = {a.metric: (a.value, a.n) for a in run.aggregates}
    assert values["exact_match_turn1"] == (1.0, 1)  # "4" == "4"; b and c have no reference
    assert values["exact_match_turn2"] == (1.0, 1)


def test_a_plugin_scorer_on_a_multi_turn_task_gives_each_turn_its_own_metrics(tmp_path):
    """The contract check a plugin's scores pass (one score per metric) takes a turn's metrics
    for a turn's items: a plugin scorer works on multi-turn tasks."""
    from evalkit import registry
    from evalkit.types import Aggregate, Score

    class Length:
        name = "length"
        metrics = ("length",)

        def signature(self) -> str:
            return "length|v1"

        def score(self, items):
            return [[Score(name="length", value=float(len(i.prediction)))] for i in items]

        def aggregate(self, metric, scores, *, task, model, seed, n_resamples=1000):
            ok = [s.value for s in scores if s.status == "ok"]
            return Aggregate(task=task, model=model, metric=metric, value=sum(ok) / len(ok),
                             ci_low=None, ci_high=None, n=len(ok), n_failed=0,
                             method="mean")  # fmt: skip

    registry.register("scorer", "length", Length)
    task = make_task(tmp_path / "task")
    outputs = write_jsonl(
        tmp_path / "outputs.jsonl",
        [
            {"id": "a", "system": "x", "output": ["4", "12"]},
            {"id": "b", "system": "x", "output": ["red", "blue", "green"]},
            {"id": "c", "system": "x", "output": ["one", "two"]},
        ],
    )
    model = {"name": "replay", "backend": "replay", "path": str(outputs)}
    settings = config(task, model).model_dump()
    settings["scorers"] = {"length": {}}
    run = run_evaluation(RunConfig.from_dict(settings), tmp_path / "run")
    values = {a.metric: (a.value, a.n) for a in run.aggregates}
    assert values["length_turn1"] == (pytest.approx((1 + 3 + 3) / 3), 3)
    assert values["length_turn3"] == (5.0, 1)
