"""`evalkit.evaluate(...)`: a run from Python returning the loaded run, equal to the CLI's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import evalkit
from evalkit.analysis.results import LoadedRun
from evalkit.errors import UserError
from tests.conftest import TEST_DATA

CASE = TEST_DATA / "gsm8k50"


def _task(tmp_path: Path) -> Path:
    task = tmp_path / "gsm8k50"
    task.mkdir()
    shutil.copy(CASE / "data.jsonl", task / "data.jsonl")
    spec = (CASE / "task.yaml").read_text()
    (task / "task.yaml").write_text(spec + "extract: [{regex: '#### (\\-?[0-9\\.\\,]+)'}]\n")
    return task / "task.yaml"


def test_evaluate_returns_the_loaded_run(tmp_path):
    run = evalkit.evaluate(
        [_task(tmp_path)],
        model={"backend": "replay", "path": str(CASE / "my_outputs.jsonl")},
        scorers={"numeric_match": {}},
        run_dir=tmp_path / "run",
        scoring={"workers": 0},
    )
    assert isinstance(run, LoadedRun) and run.record.status == "complete"
    frame = run.results().set_index(["model", "metric"])["value"]
    # the case README: cot-v1 50/50 once `#### N` is extracted; terse-v1 never writes it
    assert frame[("cot-v1", "numeric_match")] == 1.0
    assert frame[("terse-v1", "numeric_match")] == 0.0
    assert set(run.results()["metric"]) == {"numeric_match"}  # scorers given replace the task's
    assert (tmp_path / "run" / "report.html").is_file()
    again = evalkit.load_run(tmp_path / "run")
    assert again.record.aggregates == run.record.aggregates


def test_evaluate_adds_scorers_with_the_task_key_and_takes_settings(tmp_path):
    run = evalkit.evaluate(
        [str(_task(tmp_path))],
        model={"backend": "replay", "path": str(CASE / "my_outputs.jsonl"), "systems": ["cot-v1"]},
        scorers={"task": {}, "numeric_match": {}},
        run_dir=tmp_path / "run",
        limit=5,
        report={"enabled": False},
    )
    frame = run.results()
    assert set(frame["metric"]) == {"exact_match", "f1", "numeric_match"}
    assert set(frame["model"]) == {"cot-v1"} and set(frame["n"]) == {5}
    assert not (tmp_path / "run" / "report.html").exists()


def test_evaluate_matches_the_cli(run_cli, tmp_path):
    task = _task(tmp_path)
    outputs = CASE / "my_outputs.jsonl"
    out = run_cli(
        "run", f"tasks=[{task}]", f"model.path={outputs}", "run_dir=cli", "progress=false"
    )
    assert out.returncode == 0, out.stderr
    cli = evalkit.load_run(tmp_path / "cli")
    api = evalkit.evaluate(
        [task], {"backend": "replay", "path": str(outputs)}, run_dir=tmp_path / "api"
    )
    assert api.record.spec_hash != "" and api.record.aggregates == cli.record.aggregates


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"model": "nope"}, "unknown model preset 'nope'"),
        ({"model": {"backend": "hf"}}, "model.path: a value is required"),
        ({"model": {"path": "x"}}, "a dict with a 'backend' key"),
        ({"limit": 0}, "config: limit:"),
        ({"colour": "red"}, "config: colour: unknown field"),
    ],
)
def test_evaluate_user_errors(tmp_path, kwargs, message):
    with pytest.raises(UserError, match=message):
        evalkit.evaluate(["summeval"], run_dir=tmp_path / "r", **kwargs)


def test_tasks_must_be_a_list(tmp_path):
    with pytest.raises(UserError, match="tasks must be a list"):
        evalkit.evaluate("summeval", run_dir=tmp_path / "r")
