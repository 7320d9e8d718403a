"""`evalkit gate` / `evalkit baseline save` on real runs of a replayed task: exit codes, the paired
decision rule, floors, the minimum detectable effect, Markdown and JUnit outputs.

The runs are made once for the module and the commands go through `evalkit.app.cli.main` in this
process; tests/analysis/test_gate_exit_codes.py runs the installed command in subprocesses."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from evalkit.app.api import evaluate
from tests.conftest import TEST_DATA, write_jsonl, write_qa_task
from tests.conftest import cli_in_process as gate_cli

ODD = set(range(1, 40, 2))


def candidate_task(qa_task: Path, root: Path, wrong: set[int]) -> Path:
    """The same task with 'good' answering wrong on the given questions."""
    task = root / "toy_qa"
    shutil.copytree(qa_task, task)
    rows = [json.loads(line) for line in (task / "outputs.jsonl").read_text().splitlines()]
    for row in rows:
        i = int(row["id"][1:])
        if row["system"] == "good" and i in wrong:
            row["output"] = "no idea"
    write_jsonl(task / "outputs.jsonl", rows)
    return task


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """base and again: the task as it is, twice; worse: 'good' wrong on the odd questions (0.25
    instead of 0.75); one: wrong on q1 only."""
    root = tmp_path_factory.mktemp("gate")
    task = write_qa_task(root / "tasks" / "toy_qa")
    tasks = {
        "base": task,
        "again": task,
        "worse": candidate_task(task, root / "worse", ODD),
        "one": candidate_task(task, root / "one", {1}),
    }
    for name, path in tasks.items():
        evaluate([str(path / "task.yaml")], run_dir=root / name, progress=False,
                 report={"enabled": False})  # fmt: skip
    return {name: root / name for name in tasks}


def test_an_unchanged_run_passes_and_writes_summaries(runs, tmp_path, monkeypatch):
    base, again = runs["base"], runs["again"]
    step_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    out = gate_cli(
        "gate", str(again), "--baseline", str(base), "--junit", str(tmp_path / "gate.xml"),
        "--markdown", str(tmp_path / "gate.md"),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "## evalkit gate: passed" in out.stdout
    assert step_summary.read_text() == (tmp_path / "gate.md").read_text() == out.stdout
    suite = ET.parse(tmp_path / "gate.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 4
    assert_valid_junit(tmp_path / "gate.xml")


def test_a_real_drop_fails_with_exit_1(runs, tmp_path):
    base, worse = runs["base"], runs["worse"]
    out = gate_cli("gate", str(worse), "--baseline", str(base), "--junit", str(tmp_path / "g.xml"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "## evalkit gate: FAILED" in out.stdout
    assert "| REGRESSION | toy_qa | good | exact_match |" in out.stdout
    assert "| ok | toy_qa | bad | exact_match |" in out.stdout  # 'bad' did not change
    failures = ET.parse(tmp_path / "g.xml").getroot().findall(".//failure")
    assert failures and "regression: exact_match 0.75 -> 0.25" in failures[0].get("message")
    assert_valid_junit(tmp_path / "g.xml")


def assert_valid_junit(path):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(TEST_DATA / "junit.xsd")))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log


def test_a_clear_improvement_passes(runs, tmp_path):
    worse, better = runs["worse"], runs["base"]
    out = gate_cli(
        "gate", str(better), "--baseline", str(worse), "--junit", str(tmp_path / "g.xml")
    )
    assert out.returncode == 0, out.stdout
    assert "| ok | toy_qa | good | exact_match | 0.25 | 0.75 | +0.5 [" in out.stdout
    assert_valid_junit(tmp_path / "g.xml")


def test_a_drop_within_the_noise_or_the_allowance_passes(runs):
    base, one_worse, worse = runs["base"], runs["one"], runs["worse"]
    out = gate_cli("gate", str(one_worse), "--baseline", str(base))
    assert out.returncode == 0, out.stdout  # 1 of 40 samples: the CI of the change includes 0
    assert "too small a suite" in out.stdout  # but a drop of 0 cannot be detected: it says so
    allowed = gate_cli("gate", str(worse), "--baseline", str(base), "--max-drop", "0.9")
    assert allowed.returncode == 0, allowed.stdout


def test_floors_and_rules_from_config(runs, tmp_path):
    base = runs["base"]
    config = tmp_path / "gate.yaml"
    config.write_text(
        "max_drop: 0.05\nrules:\n"
        "  - {task: toy_qa, model: good, metric: exact_match, floor: 0.95}\n"
    )
    out = gate_cli("gate", str(base), "--baseline", str(base), "--config", str(config))
    assert out.returncode == 1 and "| BELOW FLOOR | toy_qa | good | exact_match |" in out.stdout
    config.write_text(
        "max_drop: 0.05\nrules:\n  - {task: toy_qa, model: good, floor: 0.5, metric: f1}\n"
    )
    assert (
        gate_cli("gate", str(base), "--baseline", str(base), "--config", str(config)).returncode
        == 0
    )


def test_saved_baseline_file_gives_the_same_verdict(runs, tmp_path):
    base, worse = runs["base"], runs["worse"]
    for name in ("baseline.json", "baseline.json.gz"):
        saved = gate_cli("baseline", "save", str(base), "-o", str(tmp_path / name))
        assert saved.returncode == 0, saved.stderr
        from_file = gate_cli("gate", str(worse), "--baseline", str(tmp_path / name))
        from_dir = gate_cli("gate", str(worse), "--baseline", str(base))
        assert from_file.returncode == from_dir.returncode == 1
        strip = lambda text: text.split("\n", 3)[3]  # noqa: E731 - drop the header naming the baseline
        assert strip(from_file.stdout) == strip(from_dir.stdout)


def test_usage_errors_exit_2(runs, tmp_path):
    base = runs["base"]
    missing = gate_cli("gate", str(base), "--baseline", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "baseline not found" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_drop: -1\n")
    out = gate_cli("gate", str(base), "--baseline", str(base), "--config", str(bad))
    assert out.returncode == 2 and "max_drop" in out.stderr


def test_the_installed_command_end_to_end(run_cli, runs):
    """The path CI takes: `evalkit gate` in its own process, a regression is exit status 1."""
    out = run_cli("gate", str(runs["worse"]), "--baseline", str(runs["base"]), subprocess=True)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "| REGRESSION | toy_qa | good | exact_match |" in out.stdout
    again = run_cli("gate", str(runs["again"]), "--baseline", str(runs["base"]), subprocess=True)
    assert again.returncode == 0


def test_a_model_missing_from_the_run_fails_the_gate(runs, tmp_path):
    """A run that stopped producing a model (or crashed on it) must not pass."""
    import gzip

    saved = tmp_path / "base.json.gz"
    assert gate_cli("baseline", "save", str(runs["base"]), "-o", str(saved)).returncode == 0
    data = json.loads(gzip.decompress(saved.read_bytes()))
    text = json.dumps(data)
    assert '"bad"' in text
    # the same run, with 'bad' renamed in the baseline: the run has no such model
    renamed = tmp_path / "renamed.json.gz"
    renamed.write_bytes(gzip.compress(text.replace('"bad"', '"gone"').encode()))
    out = gate_cli("gate", str(runs["base"]), "--baseline", str(renamed),
                   "--junit", str(tmp_path / "g.xml"))  # fmt: skip
    assert out.returncode == 1, out.stdout + out.stderr
    assert "| MISSING | toy_qa | gone | exact_match |" in out.stdout
    assert "| ok | toy_qa | good | exact_match |" in out.stdout
    failures = ET.parse(tmp_path / "g.xml").getroot().findall(".//failure")
    assert any("missing: toy_qa / gone / exact_match" in f.get("message") for f in failures)
    assert_valid_junit(tmp_path / "g.xml")


def test_a_rule_that_matches_nothing_is_an_error(runs, tmp_path):
    config = tmp_path / "gate.yaml"
    config.write_text("rules:\n  - {task: toy_qa, metric: exact_mach, max_drop: 0.1}\n")
    out = gate_cli("gate", str(runs["base"]), "--baseline", str(runs["base"]), "--config",
                   str(config))  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "evalkit: error: gate config: rule 1 (task=toy_qa, model=*, metric=exact_mach) matches "
        "no task x model x metric of the baseline"
    ]


def _copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to, ignore=shutil.ignore_patterns(".lock"))
    return to


def test_a_baseline_run_that_is_not_complete_is_refused(runs, tmp_path):
    """A killed run holds only the models it reached: as a baseline it would gate the rest of
    the run against nothing, silently."""
    killed = _copy_run(runs["base"], tmp_path / "killed")
    record = json.loads((killed / "run.json").read_text())
    (killed / "run.json").write_text(json.dumps({**record, "status": "running"}))
    for args in (
        ("baseline", "save", str(killed), "-o", str(tmp_path / "b.json.gz")),
        ("gate", str(runs["again"]), "--baseline", str(killed)),
    ):
        out = gate_cli(*args)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "the run is running, not complete" in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "b.json.gz").exists()


def test_samples_missing_from_a_run_directory_are_an_error(runs, tmp_path):
    """samples.jsonl cut after the run: run.json counted more samples than it holds, so the gate
    (run or baseline) refuses it instead of gating a fraction of the suite."""
    cut = _copy_run(runs["again"], tmp_path / "cut")
    lines = (cut / "samples.jsonl").read_text().splitlines(keepends=True)
    (cut / "samples.jsonl").write_text("".join(lines[: len(lines) // 3]))
    for args in (
        ("gate", str(cut), "--baseline", str(runs["base"])),
        ("gate", str(runs["again"]), "--baseline", str(cut)),
    ):
        out = gate_cli(*args)
        assert out.returncode == 2, out.stdout + out.stderr
        assert "where run.json counted" in out.stderr and "samples.jsonl holds" in out.stderr
