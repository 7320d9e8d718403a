"""What `evalkit judge` prints after judging: the table of the rubric just judged."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from evalkit.app import judge_view
from evalkit.types import Aggregate, RunRecord


def _record() -> RunRecord:
    win_rate = {
        "model": "m", "n": 3, "win_rate": 0.5, "ci_low": 0.1, "ci_high": 0.9,
        "lc_win_rate": 0.5, "length_coefficient": 0.0, "wins": 1, "ties": 1, "losses": 1,
    }  # fmt: skip
    return RunRecord(
        evalkit_version="0", status="complete", created_at="", config={}, spec_hash="x",
        task_data_hashes={}, backends=[], scorers=[], seed=0, library_versions={}, host={},
        aggregates=[Aggregate(task="t", model="m", metric="overall_quality", value=7.0,
                              ci_low=6.0, ci_high=8.0, n=10, n_failed=0, method="mean")],
        pairwise={"rubric": "pairwise_preference@v1", "judge": "j", "tasks": {"t": {
            "baseline": "b", "pairs": "baseline", "inconsistent_as": "tie",
            "win_rates": [win_rate], "bradley_terry": []}}},
    )  # fmt: skip


def _printed(monkeypatch: pytest.MonkeyPatch, rubric: str) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)
    monkeypatch.setattr(judge_view, "results_console", lambda: console)
    judge_view.print_judging(_record(), rubric)
    return buffer.getvalue()


def test_pointwise_judging_prints_its_leaderboard_not_an_older_pairwise_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = _printed(monkeypatch, "overall_quality")
    assert "win rate" not in out
    assert "overall_quality" in out and "7" in out


def test_pairwise_judging_prints_win_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    out = _printed(monkeypatch, "pairwise_preference")
    assert "win rate vs b" in out
