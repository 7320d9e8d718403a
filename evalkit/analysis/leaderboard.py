"""Ranked per-task tables of aggregates, for the terminal and the HTML report.

Each task is ranked by its headline metric: the `primary_metric` its task.yaml declares (stored in
run.json as `primary_metrics`). When the task declares none, or the run did not compute it (e.g.
`scorers=qa` on a translation task), the first metric of the first scorer ranks, and the table's
title says why. The terminal shows only the headline metric with its CI; every metric is in
`evalkit results RUN_DIR` and in the report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evalkit.types import Aggregate

if TYPE_CHECKING:  # rich loads where a table is drawn: the report's page needs only format_cell
    from rich.console import Console
    from rich.table import Table


@dataclass(frozen=True)
class Leaderboard:
    task: str
    metrics: list[str]
    rank_metric: str
    higher_is_better: dict[str, bool]
    rows: list[tuple[str, dict[str, Aggregate]]]  # (model, metric -> aggregate), best first
    declared: str | None = None  # the task's primary_metric, when it declares one

    @property
    def rank_reason(self) -> str:
        """Why `rank_metric` ranks: the task's declaration, or the fallback and its cause."""
        if self.declared == self.rank_metric:
            return "the task's primary_metric"
        if self.declared is None:
            return "no primary_metric declared: first metric"
        return f"primary_metric {self.declared} not scored in this run: first metric"


def _sort_key(cell: Aggregate | None, higher: bool) -> float:
    if cell is None or cell.value is None:
        return float("inf")
    return -cell.value if higher else cell.value


def rank_metric_of(metrics: Sequence[str], declared: str | None) -> str:
    """The declared headline metric when the run has it, else the run's first metric."""
    return declared if declared is not None and declared in metrics else metrics[0]


def build_leaderboards(
    aggregates: Sequence[Aggregate], primary: Mapping[str, str] | None = None
) -> list[Leaderboard]:
    """One table per task, ranked by its headline metric (its direction respected).

    `primary`: task -> declared primary_metric (RunRecord.primary_metrics); see the module doc.
    """
    boards = []
    for task in dict.fromkeys(a.task for a in aggregates):
        mine = [a for a in aggregates if a.task == task]
        metrics = list(dict.fromkeys(a.metric for a in mine))
        direction = {a.metric: a.higher_is_better for a in mine}
        cells: dict[str, dict[str, Aggregate]] = {}
        for a in mine:
            cells.setdefault(a.model, {})[a.metric] = a
        declared = (primary or {}).get(task)
        rank_metric = rank_metric_of(metrics, declared)
        rows = sorted(
            cells.items(), key=lambda kv: _sort_key(kv[1].get(rank_metric), direction[rank_metric])
        )
        boards.append(Leaderboard(task, metrics, rank_metric, direction, rows, declared))
    return boards


def format_cell(cell: Aggregate | None) -> str:
    if cell is None or cell.value is None:
        return "n/a"
    failed = f" ({cell.n_failed} failed)" if cell.n_failed else ""
    if cell.ci_low is None or cell.ci_high is None:  # a plugin's aggregate may give no CI
        return f"{cell.value:.4g}{failed}"
    return f"{cell.value:.4g} [{cell.ci_low:.4g}, {cell.ci_high:.4g}]{failed}"


def headline_table(board: Leaderboard) -> Table:
    """#, model, the headline metric with its 95% CI, n and failures: fits 100 columns."""
    arrow = "↑" if board.higher_is_better[board.rank_metric] else "↓"
    from rich.table import Table

    table = Table()
    table.add_column("#", justify="right")
    table.add_column("model", overflow="fold", max_width=40)
    table.add_column(f"{board.rank_metric} {arrow}", justify="right", no_wrap=True)
    table.add_column("95% CI", justify="right", no_wrap=True)
    table.add_column("n", justify="right")
    table.add_column("failed", justify="right")
    for rank, (model, cells) in enumerate(board.rows, start=1):
        cell = cells.get(board.rank_metric)
        if cell is None or cell.value is None:
            value, ci = "n/a", ""
        else:
            value = f"{cell.value:.4g}"
            ci = f"[{cell.ci_low:.4g}, {cell.ci_high:.4g}]" if cell.ci_low is not None else ""
        n = str(cell.n) if cell is not None else "0"
        failed = str(cell.n_failed) if cell is not None else ""
        table.add_row(str(rank), model, value, ci, n, failed)
    return table


def print_leaderboards(
    aggregates: Sequence[Aggregate], console: Console, primary: Mapping[str, str] | None = None
) -> None:
    """Per task, the models ranked by the headline metric (see `build_leaderboards`)."""
    for board in build_leaderboards(aggregates, primary):
        # the title on its own line: a table's title wraps at the (narrow) table's width
        console.print(
            f"{board.task}: ranked by {board.rank_metric} ({board.rank_reason})",
            markup=False,
            style="bold",
        )
        console.print(headline_table(board))
        others = len(board.metrics) - 1
        if others:
            console.print(
                f"95% bootstrap CIs; {others} more metric{'s' if others != 1 else ''}: "
                "evalkit results RUN_DIR, or the report",
                markup=False,
            )
