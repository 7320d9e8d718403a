"""Runs that are not what run.json says, read by compare, report and results (found by a fresh
tester): two runs of one model compared with each other, bytes that are not UTF-8, samples.jsonl
missing or short of what run.json counted, and a run that stopped before its end. Each is either
read correctly or refused with one line and exit 2; none gives a table that looks fine."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
from sacrebleu.metrics import CHRF

from tests.conftest import cli_in_process, write_jsonl

REFS = [f"the answer is {i} apples" for i in range(8)]
GOOD = [f"the answer is {i} apples" if i % 4 else f"answer {i} pears" for i in range(8)]
WORSE = [f"answer {i}" for i in range(8)]


def _run(root: Path, name: str, outputs: list[str]) -> Path:
    task = root / "task"
    if not task.is_dir():
        rows = [{"id": f"s{i}", "input": f"q{i}", "ref": r} for i, r in enumerate(REFS)]
        write_jsonl(task / "data.jsonl", rows)
        (task / "task.yaml").write_text(
            "name: t\nversion: 1\ndata: data.jsonl\n"
            "fields: {id: id, input: input, references: ref}\n"
            "scorers: {exact_match: {}, chrf: {}}\n",
            encoding="utf-8",
        )
    replay = write_jsonl(
        root / f"{name}.jsonl",
        [{"id": f"s{i}", "system": "sys", "output": o} for i, o in enumerate(outputs)],
    )
    run = root / name
    out = cli_in_process(
        "run", f"tasks=[{task}]", "model=replay", f"model.path={replay}", f"run_dir={run}",
        "progress=false", "report.enabled=false", f"cache.path={root / 'cache.sqlite'}",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("damaged")
    return _run(root, "base", GOOD), _run(root, "worse", WORSE)


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def _one_line_error(out, *needles: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("evalkit: error: ") and out.stderr.count("\n") == 1, out.stderr
    for needle in needles:
        assert needle in out.stderr


def test_two_runs_of_one_model_are_compared_with_each_other(runs):
    base, worse = runs
    out = cli_in_process("compare", str(base), str(worse), "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["metric"]: r for r in json.loads(out.stdout)}
    assert set(rows) == {"exact_match", "chrf"}
    chrf = rows["chrf"]
    assert chrf["baseline"].startswith("sys [") and chrf["model"].startswith("sys [")
    assert chrf["baseline"] != chrf["model"] and chrf["n"] == 8
    # the values are each run's own corpus chrF, as sacrebleu gives it
    assert chrf["baseline_value"] == pytest.approx(CHRF().corpus_score(GOOD, [REFS]).score)
    assert chrf["value"] == pytest.approx(CHRF().corpus_score(WORSE, [REFS]).score)


def test_bytes_that_are_not_utf8_are_one_line_naming_the_line(runs, tmp_path):
    run = _copy(runs[0], tmp_path)
    with (run / "samples.jsonl").open("ab") as handle:
        handle.write(b'{"task": "t", "model": "sys", "sample_id": "\xdb\xff"}\n')
    for command in ("compare", "report"):
        out = cli_in_process(command, str(run))
        _one_line_error(out, f"{run / 'samples.jsonl'}:9:", "not UTF-8")
    bad_json = _copy(runs[1], tmp_path)
    (bad_json / "run.json").write_bytes(b'{"status": "\xdb\xff"}')
    _one_line_error(cli_in_process("results", str(bad_json)), "run.json", "not UTF-8")


@pytest.mark.parametrize("damage", ["line deleted", "file removed", "a directory"])
def test_samples_short_of_what_run_json_counted_are_refused(runs, tmp_path, damage):
    run = _copy(runs[0], tmp_path)
    samples = run / "samples.jsonl"
    if damage == "line deleted":
        lines = samples.read_text(encoding="utf-8").splitlines(keepends=True)
        samples.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    else:
        samples.unlink()
        if damage == "a directory":
            samples.mkdir()
    held = "7" if damage == "line deleted" else "0"
    for command in ("compare", "report", "gate"):
        args = ["--baseline", str(runs[0])] if command == "gate" else []
        out = cli_in_process(command, str(run), *args)
        _one_line_error(out, f"holds {held} scored samples of t/sys/", "where run.json counted 8")


def test_compare_refuses_zero_resamples(runs):
    out = cli_in_process("compare", str(runs[0]), "--resamples", "0")
    assert out.returncode == 2 and "--resamples" in out.stderr


def test_an_interrupted_run_has_no_results_and_compare_warns(runs, tmp_path, caplog):
    run = _copy(runs[0], tmp_path)
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    record.update(
        status="interrupted", aggregates=[], stop_reason="terminated (SIGTERM); 4 of 8 done"
    )
    (run / "run.json").write_text(json.dumps(record), encoding="utf-8")
    _one_line_error(
        cli_in_process("results", str(run)), "the run is interrupted (terminated (SIGTERM)"
    )
    other = _copy(runs[1], tmp_path)
    with caplog.at_level(logging.WARNING):
        out = cli_in_process("compare", str(run), str(other))
    assert out.returncode == 0, out.stderr
    assert any(
        "the run is interrupted" in r.getMessage() and str(run) in r.getMessage()
        for r in caplog.records
    )
