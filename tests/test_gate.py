"""`evalkit gate` / `evalkit baseline save` on real runs of a replayed task: exit codes, the paired
decision rule, floors, the minimum detectable effect, Markdown and JUnit outputs."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import write_jsonl


def candidate_task(qa_task, tmp_path, wrong: set[int]):
    """The same task with 'good' answering wrong on the given questions."""
    root = tmp_path / "candidate" / "toy_qa"
    shutil.copytree(qa_task, root)
    rows = [json.loads(line) for line in (root / "outputs.jsonl").read_text().splitlines()]
    for row in rows:
        i = int(row["id"][1:])
        if row["system"] == "good" and i in wrong:
            row["output"] = "no idea"
    write_jsonl(root / "outputs.jsonl", rows)
    return root


@pytest.fixture
def runs(run_cli, qa_task, tmp_path):
    def run(task, name):
        out = run_cli("run", f"tasks=[{task}]", f"run_dir={tmp_path / name}", "progress=false")
        assert out.returncode == 0, out.stderr
        return tmp_path / name

    return run


def test_an_unchanged_run_passes_and_writes_summaries(
    run_cli, runs, qa_task, tmp_path, monkeypatch
):
    base, again = runs(qa_task, "base"), runs(qa_task, "again")
    step_summary = tmp_path / "step_summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    out = run_cli(
        "gate", str(again), "--baseline", str(base), "--junit", str(tmp_path / "gate.xml"),
        "--markdown", str(tmp_path / "gate.md"),
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "## evalkit gate: passed" in out.stdout
    assert step_summary.read_text() == (tmp_path / "gate.md").read_text() == out.stdout
    suite = ET.parse(tmp_path / "gate.xml").getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) >= 4
    assert_valid_junit(tmp_path / "gate.xml")


def test_a_real_drop_fails_with_exit_1(run_cli, runs, qa_task, tmp_path):
    base = runs(qa_task, "base")
    worse = runs(candidate_task(qa_task, tmp_path, wrong=set(range(1, 40, 2))), "worse")
    out = run_cli("gate", str(worse), "--baseline", str(base), "--junit", str(tmp_path / "g.xml"))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "## evalkit gate: FAILED" in out.stdout
    assert "| REGRESSION | toy_qa | good | exact_match |" in out.stdout
    assert "| ok | toy_qa | bad | exact_match |" in out.stdout  # 'bad' did not change
    failures = ET.parse(tmp_path / "g.xml").getroot().findall(".//failure")
    assert failures and "regression: exact_match 0.75 -> 0.25" in failures[0].get("message")
    assert_valid_junit(tmp_path / "g.xml")


def assert_valid_junit(path):
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parent / "data" / "junit.xsd")))
    document = etree.parse(str(path))
    assert schema.validate(document), schema.error_log


def test_a_clear_improvement_passes(run_cli, runs, qa_task, tmp_path):
    worse = runs(candidate_task(qa_task, tmp_path, wrong=set(range(1, 40, 2))), "worse")
    better = runs(qa_task, "better")
    out = run_cli("gate", str(better), "--baseline", str(worse), "--junit", str(tmp_path / "g.xml"))
    assert out.returncode == 0, out.stdout
    assert "| ok | toy_qa | good | exact_match | 0.25 | 0.75 | +0.5 [" in out.stdout
    assert_valid_junit(tmp_path / "g.xml")


def test_a_drop_within_the_noise_or_the_allowance_passes(run_cli, runs, qa_task, tmp_path):
    base = runs(qa_task, "base")
    one_worse = runs(candidate_task(qa_task, tmp_path, wrong={1}), "one")
    out = run_cli("gate", str(one_worse), "--baseline", str(base))
    assert out.returncode == 0, out.stdout  # 1 of 40 samples: the CI of the change includes 0
    assert "too small a suite" in out.stdout  # but a drop of 0 cannot be detected: it says so
    worse = runs(candidate_task(qa_task, tmp_path / "w", wrong=set(range(1, 40, 2))), "worse")
    allowed = run_cli("gate", str(worse), "--baseline", str(base), "--max-drop", "0.9")
    assert allowed.returncode == 0, allowed.stdout


def test_floors_and_rules_from_config(run_cli, runs, qa_task, tmp_path):
    base = runs(qa_task, "base")
    config = tmp_path / "gate.yaml"
    config.write_text(
        "max_drop: 0.05\nrules:\n"
        "  - {task: toy_qa, model: good, metric: exact_match, floor: 0.95}\n"
    )
    out = run_cli("gate", str(base), "--baseline", str(base), "--config", str(config))
    assert out.returncode == 1 and "| BELOW FLOOR | toy_qa | good | exact_match |" in out.stdout
    config.write_text(
        "max_drop: 0.05\nrules:\n  - {task: toy_qa, model: good, floor: 0.5, metric: f1}\n"
    )
    assert (
        run_cli("gate", str(base), "--baseline", str(base), "--config", str(config)).returncode == 0
    )


def test_saved_baseline_file_gives_the_same_verdict(run_cli, runs, qa_task, tmp_path):
    base = runs(qa_task, "base")
    worse = runs(candidate_task(qa_task, tmp_path, wrong=set(range(1, 40, 2))), "worse")
    for name in ("baseline.json", "baseline.json.gz"):
        saved = run_cli("baseline", "save", str(base), "-o", str(tmp_path / name))
        assert saved.returncode == 0, saved.stderr
        from_file = run_cli("gate", str(worse), "--baseline", str(tmp_path / name))
        from_dir = run_cli("gate", str(worse), "--baseline", str(base))
        assert from_file.returncode == from_dir.returncode == 1
        strip = lambda text: text.split("\n", 3)[3]  # noqa: E731 - drop the header naming the baseline
        assert strip(from_file.stdout) == strip(from_dir.stdout)


def test_usage_errors_exit_2(run_cli, runs, qa_task, tmp_path):
    base = runs(qa_task, "base")
    missing = run_cli("gate", str(base), "--baseline", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "baseline not found" in missing.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("max_drop: -1\n")
    out = run_cli("gate", str(base), "--baseline", str(base), "--config", str(bad))
    assert out.returncode == 2 and "max_drop" in out.stderr
