"""Ranked per-task tables of aggregates, for the terminal and the HTML report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from evalkit.types import Aggregate


@dataclass(frozen=True)
class Leaderboard:
    task: str
    metrics: list[str]
    rank_metric: str
    higher_is_better: dict[str, bool]
    rows: list[tuple[str, dict[str, Aggregate]]]  # (model, metric -> aggregate), best first


def _sort_key(cell: Aggregate | None, higher: bool) -> float:
    if cell is None or cell.value is None:
        return float("inf")
    return -cell.value if higher else cell.value


def build_leaderboards(aggregates: Sequence[Aggregate]) -> list[Leaderboard]:
    """One table per task, ranked by the task's first metric (its direction respected)."""
    boards = []
    for task in dict.fromkeys(a.task for a in aggregates):
        mine = [a for a in aggregates if a.task == task]
        metrics = list(dict.fromkeys(a.metric for a in mine))
        direction = {a.metric: a.higher_is_better for a in mine}
        cells: dict[str, dict[str, Aggregate]] = {}
        for a in mine:
            cells.setdefault(a.model, {})[a.metric] = a
        rank_metric = metrics[0]
        rows = sorted(
            cells.items(), key=lambda kv: _sort_key(kv[1].get(rank_metric), direction[rank_metric])
        )
        boards.append(Leaderboard(task, metrics, rank_metric, direction, rows))
    return boards


def format_cell(cell: Aggregate | None) -> str:
    if cell is None or cell.value is None:
        return "n/a"
    failed = f" ({cell.n_failed} failed)" if cell.n_failed else ""
    return f"{cell.value:.4g} [{cell.ci_low:.4g}, {cell.ci_high:.4g}]{failed}"


def print_leaderboards(aggregates: Sequence[Aggregate], console: Console) -> None:
    for board in build_leaderboards(aggregates):
        arrow = {True: "↑", False: "↓"}
        table = Table(title=f"{board.task} (ranked by {board.rank_metric}; 95% bootstrap CI)")
        table.add_column("#", justify="right")
        table.add_column("model")
        for metric in board.metrics:
            table.add_column(f"{metric} {arrow[board.higher_is_better[metric]]}", justify="right")
        for rank, (model, cells) in enumerate(board.rows, start=1):
            table.add_row(str(rank), model, *(format_cell(cells.get(m)) for m in board.metrics))
        console.print(table)
