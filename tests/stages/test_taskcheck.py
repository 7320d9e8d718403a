"""Tasks that cannot render their input: `evalkit validate` fails them unless they are
replay-only, and a replay-only task refuses live backends with one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.resources import builtin_dir
from evalkit.stages.taskcheck import check_live, check_prompts
from evalkit.tasks.task import load_task, load_task_file

ROWS = [{"id": "a", "q": "What is 2+2?", "r": "4", "topic": "sums"}, {"id": "b", "q": "", "r": "1"}]


def _task(tmp_path: Path, body: str, rows=ROWS) -> Path:
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "task.yaml").write_text(f"name: t\nversion: 1\ndata: data.jsonl\n{body}")
    return tmp_path / "task.yaml"


def _check(path: Path) -> None:
    task = load_task_file(path)
    check_prompts(task, task.samples())


def test_the_builtin_wmt17_without_its_replay_only_line_fails_validation(tmp_path):
    """wmt17_en_de's data has references and outputs but no English source: every prompt would
    be the bare instruction. Declared replay-only it validates; without the line it does not."""
    source = builtin_dir("tasks") / "wmt17_en_de"
    task = load_task(str(source))
    assert task.replay_only and task.spec.replay_only is True
    check_prompts(task, task.samples())  # replay-only: fine
    spec = (source / "task.yaml").read_text().replace("replay_only: true\n", "replay_only: false\n")
    (tmp_path / "task.yaml").write_text(spec)
    (tmp_path / "data.jsonl").symlink_to(source / "data.jsonl")
    with pytest.raises(UserError, match="sample 'newstest2017-ende-1': the rendered prompt lacks"):
        _check(tmp_path / "task.yaml")


def test_an_empty_input_fails(tmp_path):
    path = _task(tmp_path, "fields: {id: id, input: q, references: r}\n")
    with pytest.raises(UserError) as caught:
        _check(path)
    assert "sample 'b': the rendered prompt lacks its input (fields.input: q, empty)" in str(
        caught.value
    )
    assert str(caught.value).startswith(str(path))


def test_a_template_that_never_names_the_input_fails(tmp_path):
    path = _task(
        tmp_path, "fields: {id: id, input: q, references: r}\nprompt: 'Answer the question.'\n"
    )
    with pytest.raises(UserError, match=r"sample 'a'.*not in the prompt"):
        _check(path)


def test_prompts_from_metadata_or_filters_pass(tmp_path):
    rows = [ROWS[0], {**ROWS[0], "id": "c", "q": "Name a prime."}]
    _check(_task(tmp_path, "fields: {id: id, input: q}\nprompt: '{{ input | upper }}'\n", rows))
    body = "fields: {id: id, input: q}\nprompt: 'Topic {{ metadata.topic }}: {{ input }}'\n"
    _check(_task(tmp_path, body, rows))
    # no input column, a prompt built from metadata, declared live-runnable
    body = "replay_only: false\nfields: {id: id}\nprompt: 'Q: {{ metadata.q }}'\n"
    _check(_task(tmp_path, body, rows))


def test_replay_only_is_inferred_without_an_input_field(tmp_path):
    task = load_task_file(_task(tmp_path, "fields: {id: id, references: r}\n"))
    assert task.replay_only
    check_live(task, "replay")
    with pytest.raises(UserError) as caught:
        check_live(task, "hf")
    assert "task 't' is replay-only (no fields.input" in str(caught.value)
    assert "live backend 'hf'" in str(caught.value) and "\n" not in str(caught.value)
    assert not load_task_file(_task(tmp_path, "fields: {id: id, input: q}\n")).replay_only


@pytest.mark.parametrize("model", ["openai", "hf"])
def test_live_backends_are_refused_through_the_cli(run_cli, tmp_path, model):
    out = run_cli("run", "tasks=[wmt17_en_de]", f"model={model}", "limit=2", "run_dir=r")
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert out.stderr.startswith("evalkit: error: task 'wmt17_en_de' is replay-only")
    assert not (tmp_path / "r" / "samples.jsonl").exists()


def test_validate_cli(run_cli, tmp_path):
    out = run_cli("validate", str(builtin_dir("tasks") / "wmt17_en_de"))
    assert out.returncode == 0 and "replay-only: live backends are refused" in out.stdout
    bad = _task(tmp_path, "fields: {id: id, input: q, references: r}\n")
    out = run_cli("validate", str(bad))
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "the rendered prompt lacks its input" in out.stderr


def test_a_live_run_of_a_task_whose_prompt_lacks_its_input_is_refused(run_cli, tmp_path):
    path = _task(tmp_path, "fields: {id: id, input: q, references: r}\n")
    out = run_cli("run", f"tasks=[{path}]", "model=openai", "run_dir=r")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "sample 'b': the rendered prompt lacks its input" in out.stderr
