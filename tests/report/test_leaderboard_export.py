"""`evalkit leaderboard`: runs merged into HTML/CSV/JSON, ranks tied where CIs overlap, mean win
rate overall, and model-name collisions between runs kept apart."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

from evalkit.report.leaderboard_export import _better
from evalkit.types import Aggregate


def agg(model: str, value: float, low: float, high: float, higher: bool = True) -> Aggregate:
    return Aggregate(
        task="t", model=model, metric="m", value=value, ci_low=low, ci_high=high, n=10,
        n_failed=0, method="mean", higher_is_better=higher,
    )  # fmt: skip


def test_better_needs_separated_intervals_in_the_metric_direction():
    assert _better(agg("a", 0.8, 0.7, 0.9), agg("b", 0.5, 0.4, 0.6))
    assert not _better(agg("a", 0.8, 0.55, 0.9), agg("b", 0.5, 0.4, 0.6))  # overlap: a tie
    assert _better(agg("a", 0.2, 0.1, 0.3, False), agg("b", 0.5, 0.4, 0.6, False))  # e.g. TER


def test_leaderboard_from_two_runs(run_cli, qa_task, tmp_path):
    for name in ("one", "two"):
        out = run_cli("run", f"tasks=[{qa_task}]", f"run_dir={tmp_path / name}", "progress=false")
        assert out.returncode == 0, out.stderr
    out = run_cli("leaderboard", str(tmp_path / "one"), str(tmp_path / "two"), "-o", "board")
    assert out.returncode == 0, out.stderr
    board = tmp_path / "board"
    data = json.loads((board / "leaderboard.json").read_text())
    rows = {r["model"]: r for r in data["tasks"]["toy_qa"]}
    # same names in two runs: every row names its run, the first one's too
    assert set(rows) == {"good@one", "bad@one", "good@two", "bad@two"}
    assert rows["good@one"]["rank"] == rows["good@two"]["rank"] == 1  # identical: overlapping CIs
    assert rows["bad@one"]["rank"] == 3  # both 'good' entries are better beyond doubt
    overall = {o["model"]: o["mean_win_rate"] for o in data["overall"]}
    assert overall["good@one"] == overall["good@two"] == 2 / 3 and overall["bad@one"] == 0
    assert "overlapping CIs share a rank" in data["rules"]
    with (board / "leaderboard.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == 4
    html = (board / "leaderboard.html").read_text()
    assert "Content-Security-Policy" in html and "good@two" in html
    # Bradley-Terry ratings a pairwise judging stored in a run are listed with its task
    run_json = tmp_path / "one" / "run.json"
    run = json.loads(run_json.read_text())
    ratings = [{"model": "good", "rating": 1100.0, "ci_low": 1050.0, "ci_high": 1150.0}]
    run["pairwise"] = {"tasks": {"toy_qa": {"bradley_terry": ratings}}}
    run_json.write_text(json.dumps(run))
    out = run_cli("leaderboard", str(tmp_path / "one"), "-o", "board2")
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "board2" / "leaderboard.json").read_text())["bradley_terry"] == {
        "toy_qa": ratings
    }
    assert "Bradley-Terry ratings" in (tmp_path / "board2" / "leaderboard.html").read_text()
    missing = run_cli("leaderboard", str(tmp_path / "nope"), "-o", "x")
    assert missing.returncode == 2 and "not a run directory" in missing.stderr


def test_models_that_never_shared_a_task_are_not_ranked_together():
    from evalkit.report.leaderboard_export import _groups

    apart = _groups({"t1": ["a", "b"], "t2": ["c", "d"], "t3": ["b", "e"]})
    assert apart == {"a": 0, "b": 0, "e": 0, "c": 1, "d": 1}
    # a later task that links two groups merges them
    linked = _groups({"t1": ["a", "b"], "t2": ["c", "d"], "t3": ["b", "c"]})
    assert set(linked.values()) == {0}


def _renamed_task(qa_task: Path, root: Path, name: str, systems: dict[str, str]) -> Path:
    """qa_task copied as task `name`, its recorded systems renamed, its headline metric f1."""
    task = root / name
    shutil.copytree(qa_task, task)
    spec = (task / "task.yaml").read_text().replace("name: toy_qa", f"name: {name}")
    (task / "task.yaml").write_text(spec + "primary_metric: f1\n")
    outputs = (task / "outputs.jsonl").read_text()
    for old, new in systems.items():
        outputs = outputs.replace(f'"system": "{old}"', f'"system": "{new}"')
    (task / "outputs.jsonl").write_text(outputs)
    return task


def test_runs_of_disjoint_models_get_separate_overall_tables(run_cli, qa_task, tmp_path):
    """Two runs, each of its own two models on its own task: each pair is ranked in its own
    Overall table (both winners would otherwise tie at a win rate of 1), in JSON and HTML; each
    task is ranked by its declared primary_metric."""
    one = _renamed_task(qa_task, tmp_path / "tasks", "qa_one", {"good": "g1", "bad": "b1"})
    two = _renamed_task(qa_task, tmp_path / "tasks", "qa_two", {"good": "g2", "bad": "b2"})
    for name, task in (("r1", one), ("r2", two)):
        out = run_cli("run", f"tasks=[{task}]", f"run_dir={tmp_path / name}", "progress=false")
        assert out.returncode == 0, out.stderr
    out = run_cli("leaderboard", str(tmp_path / "r1"), str(tmp_path / "r2"), "-o", "board")
    assert out.returncode == 0, out.stderr
    data = json.loads((tmp_path / "board" / "leaderboard.json").read_text())
    groups = {o["model"]: o["group"] for o in data["overall"]}
    assert groups["g1"] == groups["b1"] != groups["g2"] == groups["b2"]
    assert {r["metric"] for rows in data["tasks"].values() for r in rows} == {"f1"}
    html = (tmp_path / "board" / "leaderboard.html").read_text()
    assert html.count("<h2>Overall") == 2 and "group 2 of 2" in html
