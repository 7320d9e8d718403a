"""The `evalkit` command end to end, in subprocesses, as a user runs it."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import evalkit
from evalkit.config import RunConfig
from tests.conftest import REPO


def test_help_and_list(run_cli):
    out = run_cli("--help")
    assert out.returncode == 0 and "run" in out.stdout and "results" in out.stdout
    scorers = run_cli("list", "scorers").stdout
    for name in ("bleu", "chrf", "ter", "rouge", "exact_match", "f1"):
        assert f"{name}\t" in scorers
    assert "summeval" in run_cli("list", "tasks").stdout
    assert "replay\tbackend=replay" in run_cli("list", "models").stdout
    assert "demo\t" in run_cli("list", "suites").stdout


def test_run_task_by_path_then_results_in_every_format(run_cli, qa_task, tmp_path):
    run_dir = tmp_path / "runs" / "one"
    out = run_cli("run", f"tasks=[{qa_task}]", f"run_dir={run_dir}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(run_dir)
    assert "toy_qa" in out.stdout and "exact_match" in out.stdout
    for name in ("run.json", "samples.jsonl", "report.html"):
        assert (run_dir / name).is_file()

    rows = json.loads(run_cli("results", str(run_dir), "--format", "json").stdout)
    frame = evalkit.load_run(run_dir).results()
    assert rows == json.loads(frame.to_json(orient="records"))
    assert {r["model"] for r in rows} == {"good", "bad"}
    good_em = next(r for r in rows if r["model"] == "good" and r["metric"] == "exact_match")
    assert good_em["value"] == pytest.approx(0.75) and good_em["n"] == 40

    table = list(
        csv.DictReader(io.StringIO(run_cli("results", str(run_dir), "--format", "csv").stdout))
    )
    assert list(table[0]) == [
        "run",
        "task",
        "model",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "n_failed",
    ]
    assert "exact_match" in run_cli("results", str(run_dir)).stdout


def test_plus_scorer_adds_to_the_task_scorers_and_a_group_replaces_them(run_cli, qa_task, tmp_path):
    added = tmp_path / "added"
    out = run_cli("run", f"tasks=[{qa_task}]", "+scorers.chrf={}", f"run_dir={added}")
    assert out.returncode == 0, out.stderr
    scorers = json.loads((added / "run.json").read_text())["task_scorers"]["toy_qa"]
    assert [name for name, _ in scorers] == ["exact_match", "f1", "chrf"]
    config = RunConfig.from_dict(
        {"suite": {"name": "s", "tasks": ["t"]}, "model": {"name": "m", "backend": "replay"}}
    )
    task_own = {"exact_match": {}, "f1": {}}
    assert config.scorer_specs(task_own) == task_own
    replaced = config.model_copy(update={"scorers": {"chrf": {}}})
    assert replaced.scorer_specs(task_own) == {"chrf": {}}


def test_openai_base_url_comes_from_the_environment_as_the_openai_client_reads_it():
    env = {**os.environ, "OPENAI_BASE_URL": "http://127.0.0.1:8011/v1"}
    printed = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "model=openai", "--cfg", "job", "--resolve"],
        text=True, capture_output=True, env=env, timeout=120,
    )  # fmt: skip
    assert "base_url: http://127.0.0.1:8011/v1" in printed.stdout, printed.stderr
    judge_conf = (REPO / "conf" / "judge_model" / "openai.yaml").read_text()
    assert "base_url: ${oc.env:OPENAI_BASE_URL," in judge_conf


def test_report_escapes_model_text(run_cli, qa_task, tmp_path):
    outputs = qa_task / "outputs.jsonl"
    outputs.write_text(outputs.read_text().replace("I do not know", "<script>alert(1)</script>"))
    run_dir = tmp_path / "r"
    assert run_cli("run", f"tasks=[{qa_task}]", f"run_dir={run_dir}").returncode == 0
    html = (run_dir / "report.html").read_text()
    # model text lives in the page's JSON data block with every '<' escaped (tests/report has the
    # browser checks)
    assert "<script>alert(1)</script>" not in html and "\\u003cscript\\u003ealert(1)" in html
    assert "Content-Security-Policy" in html and "http" not in html.split("<body>")[0].replace(
        "http-equiv", ""
    )


def test_demo_suite_on_a_subset(run_cli, tmp_path):
    run_dir = tmp_path / "demo"
    out = run_cli("run", "limit=15", f"run_dir={run_dir}")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(run_dir)
    record = evalkit.load_run(run_dir).record
    metrics = {(a.task, a.metric) for a in record.aggregates}
    assert {("summeval", m) for m in ("rouge1", "rouge2", "rougeL", "rougeLsum", "chrf")} <= metrics
    assert {("wmt17_en_de", m) for m in ("bleu", "chrf", "ter")} <= metrics
    assert len({a.model for a in record.aggregates if a.task == "wmt17_en_de"}) == 16
    assert len({a.model for a in record.aggregates if a.task == "summeval"}) == 16
    assert "uedin-nmt.4722" in out.stdout and "M23" in out.stdout


def test_default_run_dir_layout(run_cli, qa_task, tmp_path):
    out = run_cli("run", f"tasks=[{qa_task}]", "progress=false")
    assert out.returncode == 0, out.stderr
    run_dir = Path(out.stdout.strip().splitlines()[-1])
    relative = run_dir.relative_to(tmp_path)  # reports/<date>/<time>_<suite>_<model>
    assert relative.parts[0] == "reports" and len(relative.parts) == 3
    assert relative.name.endswith("_demo_replay")
    assert (run_dir / "run.json").is_file()


def test_multirun_sweep(run_cli, qa_task, tmp_path):
    out = run_cli("run", "-m", f"tasks=[{qa_task}]", "limit=5,10", f"sweep_dir={tmp_path / 'sw'}")
    assert out.returncode == 0, out.stderr
    runs = sorted((tmp_path / "sw").glob("*/run.json"))
    assert len(runs) == 2
    ns = sorted(json.loads(p.read_text())["aggregates"][0]["n"] for p in runs)
    assert ns == [5, 10]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "model=replai"],
            "no option 'replai' in config group 'model' (did you mean 'replay'?)",
        ),
        (["run", "tasks=[summevl]"], "unknown task 'summevl' (did you mean 'summeval'?)"),
        (["run", "+scorers.bleuu={}"], "unknown scorer 'bleuu' (did you mean 'bleu'?)"),
        (["run", "limit=many"], "config: limit: Input should be a valid integer"),
        (["run", "seed=-1"], "config: seed: Input should be greater than or equal to 0"),
        (["run", "nonsense_key=1"], "Could not override 'nonsense_key'"),
        (["run", "tasks=[/no/such/task.yaml]"], "/no/such/task.yaml: task file not found"),
        (["results", "/no/such/run"], "/no/such/run: not a run directory (no run.json)"),
        (["validate", "/no/such/dir"], "task file not found"),
        (["compare", "/no/such/run", "--seed", "-1"], "'--seed': -1 is not in the range x>=0"),
        (["ratings", "leaderboard", "/no/such", "--seed", "-1"], "'--seed': -1 is not in the"),
        (["judgments", "stats", "j.jsonl", "--format", "evalkit", "--seed", "-1"], "'--seed': -1"),
    ],
)
def test_user_errors_exit_2_with_one_line(run_cli, args, message):
    out = run_cli(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], out.stderr
    assert "Traceback" not in out.stderr


def test_malformed_data_line_mid_file(run_cli, qa_task, tmp_path):
    data = qa_task / "data.jsonl"
    lines = data.read_text().splitlines()
    lines[16] = lines[16][:-5]
    data.write_text("\n".join(lines) + "\n")
    out = run_cli("validate", str(qa_task))
    assert out.returncode == 2 and "data.jsonl:17: invalid JSON" in out.stderr
    out = run_cli("run", f"tasks=[{qa_task}]", f"run_dir={tmp_path / 'x'}")
    assert out.returncode == 2 and "data.jsonl:17: invalid JSON" in out.stderr


def test_validate_ok(run_cli, qa_task):
    out = run_cli("validate", str(qa_task / "task.yaml"))
    assert out.returncode == 0 and "task 'toy_qa', 40 samples" in out.stdout


def test_report_command_rerenders(run_cli, qa_task, tmp_path):
    run_dir = tmp_path / "r"
    run_cli("run", f"tasks=[{qa_task}]", f"run_dir={run_dir}")
    target = tmp_path / "again.html"
    out = run_cli("report", str(run_dir), "-o", str(target))
    assert out.returncode == 0 and target.read_text().startswith("<!doctype html>")


def test_compare_models_of_a_run(run_cli, qa_task, tmp_path):
    run_dir = tmp_path / "r"
    assert run_cli("run", f"tasks=[{qa_task}]", f"run_dir={run_dir}").returncode == 0
    out = run_cli("compare", str(run_dir), "--baseline", "bad", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    by_metric = {r["metric"]: r for r in rows}
    em = by_metric["exact_match"]
    assert em["model"] == "good" and em["test"] == "mcnemar" and em["n"] == 40
    assert em["delta"] == pytest.approx(0.75) and em["p_value"] < 1e-6 and em["significant"]
    f1 = by_metric["f1"]  # f1 is 0/1 on these one-token answers, so McNemar applies too
    assert f1["delta_ci"][0] > 0 and f1["p_holm"] >= f1["p_value"]
    assert "paired comparison" in run_cli("compare", str(run_dir), "--baseline", "bad").stdout
    bad = run_cli("compare", str(run_dir), "--baseline", "godd")
    assert bad.returncode == 2 and "did you mean 'good'" in bad.stderr


def test_results_json_writes_a_nan_value_as_null(run_cli, qa_task, tmp_path):
    """A metric with no value (NaN: stored as null in run.json) was printed as bare NaN."""
    run_dir = tmp_path / "run"
    assert run_cli("run", f"tasks=[{qa_task}]", f"run_dir={run_dir}").returncode == 0
    stored = json.loads((run_dir / "run.json").read_text())
    stored["aggregates"][0].update(value=None, ci_low=None, ci_high=None)
    (run_dir / "run.json").write_text(json.dumps(stored))

    def strict(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    out = run_cli("results", str(run_dir), "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout, parse_constant=strict)
    assert (rows[0]["value"], rows[0]["ci_low"], rows[0]["ci_high"]) == (None, None, None)
    assert rows[1]["value"] is not None
