"""The read model of a run directory (evalkit.analysis.rundir): one error for a folder that is not a
run
directory, whichever command reads it; references restored from unchanged task data only;
sample records read only when asked for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import evalkit
from evalkit.analysis.rundir import open_run
from evalkit.errors import NotARunDirectory, UserError
from tests.conftest import cli_in_process

# Every command that takes a run directory, with what else it needs to get that far.
COMMANDS = {
    "results": ["results", "{d}"],
    "compare": ["compare", "{d}"],
    "report": ["report", "{d}"],
    "gate": ["gate", "{d}", "--baseline", "{d}"],
    "baseline save": ["baseline", "save", "{d}", "-o", "{tmp}/baseline.json"],
    "leaderboard": ["leaderboard", "{d}", "-o", "{tmp}/board"],
    "judge run": ["judge", "run", "{d}"],
    "meta-eval": ["meta-eval", "{d}"],
    "studio": ["studio", "{d}", "--port", "{port}"],
}


def _free_port() -> int:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", list(COMMANDS))
def test_not_a_run_directory_is_one_line_and_exit_2_for_every_command(command, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(d=empty, tmp=tmp_path, port=_free_port()) for a in COMMANDS[command]]
    result = cli_in_process(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"evalkit: error: {empty}: not a run directory (no run.json)\n"
    assert result.stdout == ""
    assert sorted(p.name for p in empty.iterdir()) == []  # nothing was written into it


def test_open_run_refuses_a_missing_folder_with_the_same_error(tmp_path):
    with pytest.raises(NotARunDirectory) as raised:
        open_run(tmp_path / "nowhere")
    assert str(raised.value) == f"{tmp_path / 'nowhere'}: not a run directory (no run.json)"
    assert isinstance(raised.value, UserError)


def _run(root: Path, qa_task: Path) -> Path:
    """A 6-sample run of the toy QA task (systems good and bad), without report."""
    run_dir = root / "run"
    evalkit.evaluate(
        [str(qa_task / "task.yaml")],
        model={"backend": "replay", "path": str(qa_task / "outputs.jsonl")},
        run_dir=run_dir,
        limit=6,
        scoring={"workers": 0},
        report={"enabled": False},
    )
    return run_dir


def _drop_references(run_dir: Path) -> None:
    """Rewrite samples.jsonl as a run written before records kept their references."""
    path = run_dir / "samples.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        row["references"] = []
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_references_come_back_from_unchanged_task_data(tmp_path, qa_task):
    run_dir = _run(tmp_path, qa_task)
    _drop_references(run_dir)
    run = open_run(run_dir)
    assert all(not r.references for r in run.stored_records)  # as stored
    # the task data's answers (conftest QA_ROWS): q{i} -> [2i, "2i.0"]
    got = {(r.model, r.sample_id): r.references for r in run.records}
    assert len(got) == 12
    assert got[("good", "q3")] == ["6", "6.0"] and got[("bad", "q5")] == ["10", "10.0"]


def test_references_stay_missing_when_the_task_data_changed(tmp_path, qa_task):
    run_dir = _run(tmp_path, qa_task)
    _drop_references(run_dir)
    with (qa_task / "data.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"qid": "extra", "question": "?", "answer": ["0"]}) + "\n")
    run = open_run(run_dir)
    assert run.task_references("toy_qa") == {}
    assert all(not r.references for r in run.records)
    with pytest.raises(UserError, match="task 'toy_qa': its data changed since the run"):
        run.task_samples()


def test_records_are_read_only_when_asked_for(tmp_path, qa_task):
    run_dir = _run(tmp_path, qa_task)
    with (run_dir / "samples.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    run = open_run(run_dir)  # run.json alone: fine
    assert run.record.status == "complete" and run.name == "run"
    assert run.metrics.metrics("toy_qa") == ["exact_match", "f1"]
    # commands that need only run.json are not stopped by a bad sample line
    assert evalkit.load_run(run_dir).results()["n"].tolist() == [6, 6, 6, 6]
    listed = cli_in_process("results", str(run_dir), "--format", "csv")
    assert listed.returncode == 0, listed.stderr
    with pytest.raises(UserError, match=r"samples\.jsonl:13: not a valid sample record"):
        run.stored_records  # noqa: B018 (the property reads the file)


def test_latest_record_of_a_retried_sample_wins(tmp_path, qa_task):
    run_dir = _run(tmp_path, qa_task)
    path = run_dir / "samples.jsonl"
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    first["generation"]["text"] = "retried"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(first) + "\n")
    records = open_run(run_dir).stored_records
    assert len(records) == 12  # one per (task, model, sample), not 13
    same = [r for r in records if (r.model, r.sample_id) == (first["model"], first["sample_id"])]
    assert [r.generation.text for r in same] == ["retried"]
    assert records[0] is same[0]  # at the place of the first record of that sample
