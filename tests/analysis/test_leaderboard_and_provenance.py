"""Leaderboard ranking respects metric direction; provenance finds versions and git commits."""

from __future__ import annotations

import subprocess

from evalkit.analysis.leaderboard import build_leaderboards, format_cell
from evalkit.store.provenance import git_commit, host_info, library_versions
from evalkit.types import Aggregate


def agg(model: str, metric: str, value: float | None, higher: bool = True) -> Aggregate:
    return Aggregate(
        task="t",
        model=model,
        metric=metric,
        value=value,
        ci_low=None if value is None else value - 1,
        ci_high=None if value is None else value + 1,
        n=10,
        n_failed=0,
        method="corpus",
        higher_is_better=higher,
    )


def test_ranked_by_first_metric_in_its_direction():
    aggregates = [
        agg("a", "ter", 60, higher=False),
        agg("b", "ter", 40, higher=False),
        agg("c", "ter", None, higher=False),
        agg("a", "bleu", 30),
        agg("b", "bleu", 20),
    ]
    [board] = build_leaderboards(aggregates)
    assert board.rank_metric == "ter"
    assert [model for model, _ in board.rows] == ["b", "a", "c"]  # no value ranks last
    assert format_cell(board.rows[0][1]["ter"]) == "40 [39, 41]"
    assert format_cell(None) == "n/a"


def test_git_commit_and_dirty_flag(tmp_path):
    assert git_commit(tmp_path) is None
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "f").write_text("1")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(
        [
            "git",
            "-C",
            str(tmp_path),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "x",
        ],
        check=True,
    )
    head = git_commit(tmp_path)
    assert head is not None and len(head) == 40
    (tmp_path / "f").write_text("2")
    assert git_commit(tmp_path) == f"{head}-dirty"


def test_versions_and_host():
    versions = library_versions()
    assert versions["evalkit"] and versions["sacrebleu"] and versions["python"]
    host = host_info()
    assert host["cpu_count"] >= 1 and "platform" in host
