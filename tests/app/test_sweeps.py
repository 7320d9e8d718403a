"""Sweeps past the basic launcher: joblib's parallel local jobs and submitit's local executor (the
SLURM code path on one machine). Each job is an ordinary run; the sweep gets a leaderboard."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_parallel_sweep_runs_every_job_and_writes_a_leaderboard(
    run_cli, qa_task, tmp_path, launcher
):
    plugins = {
        "joblib": "hydra_plugins.hydra_joblib_launcher",
        "submitit_local": "hydra_plugins.hydra_submitit_launcher",
    }
    pytest.importorskip(plugins[launcher])
    sweep = tmp_path / "sweep"
    out = run_cli(
        "run", "-m", f"launcher={launcher}", f"tasks=[{qa_task}]", "limit=5,10,20",
        f"sweep_dir={sweep}", "progress=false", subprocess=True,  # launcher jobs: own processes
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    runs = sorted(sweep.glob("*/run.json"))
    assert len(runs) == 3
    sizes = sorted(json.loads(p.read_text())["aggregates"][0]["n"] for p in runs)
    assert sizes == [5, 10, 20]
    board = json.loads((sweep / "leaderboard" / "leaderboard.json").read_text())
    assert len(board["tasks"]["toy_qa"]) == 6  # 2 systems x 3 jobs, kept apart by run
    assert (sweep / "leaderboard" / "leaderboard.html").is_file()
    # replayed outputs are not written to the response cache (nothing to save; parallel writers
    # to one cache are tested in test_store_and_cache.py::test_parallel_writers_lose_nothing)
    import os

    assert not os.path.exists(os.path.join(os.environ["EVALKIT_CACHE_DIR"], "responses.sqlite"))
