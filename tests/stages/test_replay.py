"""Backend `replay`: long and wide files, several tasks in one file, missing outputs as errors."""

from __future__ import annotations

import pytest

from evalkit.backends.replay import build_replay_backends
from evalkit.errors import UserError
from evalkit.tasks.task import load_task_file
from tests.conftest import write_jsonl


def test_bundled_outputs_give_one_backend_per_system(qa_task):
    task = load_task_file(qa_task)
    backends = build_replay_backends("replay", {}, task)
    assert sorted(b.name for b in backends) == ["bad", "good"]
    good = next(b for b in backends if b.name == "good")
    requests = [task.request(s) for s in task.samples()[:2]]
    first, second = good.generate(requests)
    assert first.text == "I do not know" and second.text == "2" and second.latency_s == 0.5
    assert "sha256:" in good.signature() and "system:good" in good.signature()


def test_wide_file_with_task_column_and_extras(qa_task, tmp_path):
    task = load_task_file(qa_task)
    path = write_jsonl(
        tmp_path / "mine.jsonl",
        [
            {"id": "q1", "task": "toy_qa", "outputs": {"A": "2", "B": "3"}, "human": 4},
            {"id": "q1", "task": "other_task", "outputs": {"C": "x"}},
        ],
    )
    backends = build_replay_backends("replay", {"path": str(path)}, task)
    assert sorted(b.name for b in backends) == ["A", "B"]
    [gen_missing, gen_q1] = backends[0].generate([task.request(s) for s in task.samples()[:2]])
    assert gen_missing.error == "no recorded output for sample 'q0'"
    assert gen_q1.text == "2" and gen_q1.metadata == {"human": 4}


def test_system_selection_and_bad_files(qa_task, tmp_path):
    task = load_task_file(qa_task)
    assert [b.name for b in build_replay_backends("replay", {"systems": ["bad"]}, task)] == ["bad"]
    with pytest.raises(UserError, match="did you mean 'good'"):
        build_replay_backends("replay", {"systems": ["god"]}, task)
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "q1", "text": "2"}])
    with pytest.raises(UserError, match=r"bad.jsonl:1: field 'outputs' missing"):
        build_replay_backends("replay", {"path": str(bad)}, task)
    with pytest.raises(UserError, match="unknown option"):
        build_replay_backends("replay", {"paht": "x"}, task)
