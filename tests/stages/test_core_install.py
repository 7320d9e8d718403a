"""The default `evalkit run` on a core install (no torch, transformers or sentence-transformers):
a task's own scorers that need an extra are left out, each with one line naming the
`pip install` that brings it; a scorer the user named is still an error (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.errors import MissingExtra
from evalkit.extras import require
from tests.stages.test_metric_specs import no_torch_env


def _core_install(tmp_path: Path):
    env = no_torch_env(tmp_path)

    def evalkit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True,
                              text=True, timeout=600, env=env, cwd=tmp_path)  # fmt: skip

    return evalkit


def test_the_default_run_leaves_out_scorers_whose_extra_is_missing(tmp_path):
    evalkit = _core_install(tmp_path)
    run_dir = tmp_path / "run"
    out = evalkit("run", "tasks=[summeval]", "limit=2", f"run_dir={run_dir}", "progress=false")
    assert out.returncode == 0, out.stderr
    left_out = [line for line in out.stderr.splitlines() if "left out of this run" in line]
    assert len(left_out) == 2, out.stderr  # summeval declares embedding and distilled_judge
    assert any(
        "scorer 'embedding' needs sentence_transformers" in line
        and 'pip install "evalkit[embeddings]"' in line
        for line in left_out
    )
    assert any("scorer 'distilled_judge' needs" in line for line in left_out)
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "complete"
    assert [name for name, _ in record["task_scorers"]["summeval"]] == ["rouge", "chrf"]
    assert {a["metric"] for a in record["aggregates"]} == {
        "rouge1", "rouge2", "rougeL", "rougeLsum", "chrf",
    }  # fmt: skip
    assert (run_dir / "report.html").is_file()
    # the extras installed since: resuming into that run_dir would score half its samples
    rerun = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", "tasks=[summeval]", "limit=2",
         f"run_dir={run_dir}", "progress=false"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    assert rerun.returncode == 2
    assert "scored with rouge, chrf, and this run would score it with rouge, chrf, embedding" in (
        rerun.stderr
    )


def test_a_scorer_the_user_named_is_still_an_error(tmp_path):
    evalkit = _core_install(tmp_path)
    out = evalkit(
        "run", "tasks=[summeval]", "limit=2", "+scorers.embedding={}",
        f"run_dir={tmp_path / 'run'}", "progress=false",
    )  # fmt: skip
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "evalkit: error: scorer 'embedding' needs sentence_transformers, which is not "
        'installed: pip install "evalkit[embeddings]"'
    ]


def test_require_names_the_missing_package_without_importing():
    require("scorer 'x'", "json")  # installed: nothing happens
    with pytest.raises(MissingExtra, match="scorer 'x' needs the Python package 'no_such_mod_"):
        require("scorer 'x'", "json", "no_such_mod_evalkit")


def test_commands_that_need_torch_say_which_extra_in_one_line(tmp_path):
    """`evalkit judge distill` and `evalkit serve model=hf` on a core install: the one line
    `evalkit run` gives (was a ModuleNotFoundError traceback); `evalkit list judges` lists the
    rubrics and says why the distilled judges are not listed."""
    evalkit = _core_install(tmp_path)
    torch_line = 'needs torch, which is not installed: pip install "evalkit[local]"'
    distill = evalkit("judge", "distill")
    assert distill.returncode == 2
    assert distill.stderr.strip().splitlines() == [
        f"evalkit: error: evalkit judge distill {torch_line}"
    ]
    served = evalkit("serve", "model=hf", f"model.path={tmp_path}", "port=1")
    assert served.returncode == 2
    assert served.stderr.strip().splitlines() == [f"evalkit: error: backend 'hf' {torch_line}"]
    listed = evalkit("list", "judges")
    assert listed.returncode == 0 and "overall_quality\tpointwise" in listed.stdout
    assert listed.stderr.strip().splitlines() == [
        f"evalkit: distilled judges not listed: reading them {torch_line}"
    ]
