"""The bundled task library: mt_bench (two turns, judged per turn, reference-guided where it has
references) and the replay tasks with human ratings (Topical-Chat, QAGS), whose meta-evaluation
is checked against rouge-score and scipy run on the bundled files directly."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rouge_score import rouge_scorer
from scipy import stats

from evalkit.config import RunConfig
from evalkit.judges.rubric import load_rubric
from evalkit.resources import builtin_dir
from evalkit.stages.pipeline import run_evaluation
from evalkit.stages.taskcheck import check_task_file
from evalkit.store.run_store import RunStore
from evalkit.tasks.task import available_tasks, load_task
from tests.backends.judge_server import JudgeServer

LIBRARY = ("mt_bench", "topical_chat", "qags_cnndm", "qags_xsum")


@pytest.mark.parametrize("name", LIBRARY)
def test_library_tasks_are_listed_validate_and_carry_a_readme(name):
    path = available_tasks()[name]
    assert path.parent == builtin_dir("tasks") / name
    check = check_task_file(path)
    assert check.problems == [] and check.samples > 0
    readme = (path.parent / "README.md").read_text(encoding="utf-8")
    assert "Source:" in readme and "License:" in readme


def test_mt_bench_has_80_two_turn_questions_with_references_for_math_reasoning_coding():
    task = load_task("mt_bench")
    samples = task.samples()
    assert len(samples) == 80 and task.multi_turn
    assert all(len(s.turns) == 2 and s.input == s.turns[0] for s in samples)
    categories = Counter(s.metadata["category"] for s in samples)
    assert len(categories) == 8 and set(categories.values()) == {10}
    with_refs = {s.metadata["category"] for s in samples if any(s.turn_references)}
    assert with_refs == {"math", "reasoning", "coding"}
    assert all(len(r) == 1 for s in samples if any(s.turn_references) for r in s.turn_references)
    assert task.request(samples[0]).sample_id == f"{samples[0].id}/turn1"


def test_mt_bench_rubric_is_reference_guided_only_with_a_reference():
    rubric = load_rubric("mt_bench_single")
    assert rubric.scale == (1, 10)
    _, plain = rubric.render(source="Q", output="O", reference="")
    _, guided = rubric.render(source="Q", output="O", reference="R42")
    assert "Reference answer" not in plain and "R42" in guided


def _model_answer(messages: list[dict[str, str]]) -> str:
    users = [m for m in messages if m["role"] == "user"]
    return f"my answer {len(users)}: {users[-1]['content'][:30]}"


def test_mt_bench_runs_two_turns_and_judges_each_turn(tmp_path):
    judged: list[str] = []

    def judge(messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        judged.append(prompt)
        score = 9 if "[Reference answer" in prompt else 5
        score -= 2 if "[Assistant]" in prompt else 0  # turn 2: the conversation has an answer
        return json.dumps({"rationale": "scripted", "score": score})

    with JudgeServer(_model_answer) as model, JudgeServer(judge) as judge_server:
        judge_spec = judge_server.model("stub-judge")
        config = RunConfig.from_dict(
            {
                "suite": {"name": "t", "tasks": ["mt_bench"]},
                "model": {
                    "name": "chat",
                    "backend": "openai",
                    "base_url": model.base_url,
                    "model": "m",
                    "api_key_env": None,
                    "stream": False,
                    "max_tries": 1,
                },
                "scorers": {
                    "judge": {
                        "rubric": "mt_bench_single",
                        "metric": "mt_bench",
                        "model": judge_spec,
                    }
                },
                "progress": False,
                "report": {"enabled": False},
                "scoring": {"workers": 0},
            }
        )
        run = run_evaluation(config, tmp_path / "run")
    values = {a.metric: (a.value, a.n, a.n_failed) for a in run.aggregates}
    # 30 questions with references: (30 x 9 + 50 x 5) / 80 on turn 1, two less on turn 2.
    assert values == {"mt_bench_turn1": (6.5, 80, 0), "mt_bench_turn2": (4.5, 80, 0)}
    records = {r.sample_id: r for r in RunStore(tmp_path / "run").records()}
    first = records["81/turn1"].generation.text
    assert first.startswith("my answer 1: Compose an engaging travel")
    turn2_prompts = [p for p in judged if "[Assistant]" in p and "Rewrite your previous" in p]
    assert len(turn2_prompts) == 1 and first in turn2_prompts[0]  # the judge sees turn 1


def _run_replay(task: str, tmp_path: Path, limit: int) -> Path:
    config = RunConfig.from_dict(
        {
            "suite": {"name": "t", "tasks": [task]},
            "model": {"name": "replay", "backend": "replay"},
            "limit": limit,
            "progress": False,
            "report": {"enabled": False},
            "scoring": {"workers": 0},
        }
    )
    run_evaluation(config, tmp_path / task)
    return tmp_path / task


def _rows(task: str, name: str) -> list[dict[str, Any]]:
    path = builtin_dir("tasks") / task / name
    return [json.loads(line) for line in path.open(encoding="utf-8")]


SCIPY = {"pearson": stats.pearsonr, "spearman": stats.spearmanr, "kendall": stats.kendalltau}


def _meta_eval_json(run_cli, run_dir: Path) -> dict[tuple[str, str, str, str], float]:
    result = run_cli("meta-eval", str(run_dir), "--json", "--resamples", "100")
    assert result.returncode == 0, result.stderr
    return {
        (r["metric"], r["human"], r["level"], r["method"]): r["value"]
        for r in json.loads(result.stdout)
    }


def test_qags_meta_eval_matches_rouge_score_and_scipy(tmp_path, run_cli):
    run_dir = _run_replay("qags_xsum", tmp_path, limit=40)
    got = _meta_eval_json(run_cli, run_dir)
    rouge = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
    sources = {r["id"]: r["source"] for r in _rows("qags_xsum", "data.jsonl")[:40]}
    outputs = [r for r in _rows("qags_xsum", "outputs.jsonl") if r["id"] in sources]
    metric = [rouge.score(sources[r["id"]], r["output"])["rouge2"].fmeasure for r in outputs]
    human = [r["human"]["consistency"] for r in outputs]
    for method, correlate in SCIPY.items():
        expected = correlate(metric, human)[0]
        assert got[("rouge2", "consistency", "sample", method)] == pytest.approx(expected, abs=1e-9)


@pytest.mark.filterwarnings("ignore::scipy.stats.ConstantInputWarning")  # skipped, as evalkit does
def test_topical_chat_meta_eval_matches_rouge_score_and_scipy(tmp_path, run_cli):
    run_dir = _run_replay("topical_chat", tmp_path, limit=12)
    got = _meta_eval_json(run_cli, run_dir)
    rouge = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    facts = {r["id"]: r["fact"] for r in _rows("topical_chat", "data.jsonl")[:12]}
    outputs = [r for r in _rows("topical_chat", "outputs.jsonl") if r["id"] in facts]
    assert len(outputs) == 72  # 12 dialogues x 6 systems
    metric = [rouge.score(facts[r["id"]], r["output"])["rouge1"].fmeasure for r in outputs]
    for dimension in ("groundedness", "overall"):
        human = [r["human"][dimension] for r in outputs]
        key = ("rouge1", dimension)
        assert got[(*key, "sample", "kendall")] == pytest.approx(
            stats.kendalltau(metric, human)[0], abs=1e-9
        )
        by_system: dict[str, list[tuple[float, float]]] = defaultdict(list)
        by_dialogue: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for row, m, h in zip(outputs, metric, human, strict=True):
            by_system[row["system"]].append((m, h))
            by_dialogue[row["id"]].append((m, h))
        means = np.array([np.mean(v, axis=0) for v in by_system.values()])
        assert got[(*key, "system", "pearson")] == pytest.approx(
            stats.pearsonr(means[:, 0], means[:, 1])[0], abs=1e-9
        )
        per_dialogue = [stats.spearmanr(*zip(*v, strict=True))[0] for v in by_dialogue.values()]
        defined = [c for c in per_dialogue if not math.isnan(c)]
        assert got[(*key, "summary", "spearman")] == pytest.approx(np.mean(defined), abs=1e-9)
