"""The terminal table of `evalkit compare`."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from evalkit.analysis.compare import Comparison
from evalkit.console.terminal import results_console


def _ci(value: float, ci: tuple[float | None, float | None]) -> str:
    low, high = ci
    return f"{value:.4g}" if low is None or high is None else f"{value:.4g} [{low:.4g}, {high:.4g}]"


def title(rows: Sequence[Comparison]) -> str:
    """The table's title, naming the baseline(s) and the Holm family."""
    baselines = ", ".join(dict.fromkeys(r.baseline for r in rows)) or "none"
    family = rows[0].holm_family if rows else "task x metric"
    return f"paired comparison with baseline {baselines} (95% CIs; p adjusted by Holm per {family})"


def print_comparisons(rows: Sequence[Comparison]) -> None:
    table = Table(title=title(rows))
    baseline = rows[0].baseline if len({r.baseline for r in rows}) == 1 else "baseline"
    for column in (
        "task",
        "metric",
        "model",
        "n",
        baseline,
        "model value",
        "delta",
        "test",
        "p",
        "p (Holm)",
        "sig.",
    ):
        table.add_column(
            column, justify="left" if column in ("task", "metric", "model") else "right"
        )
    for r in rows:
        table.add_row(
            r.task,
            r.metric,
            r.model,
            str(r.n),
            _ci(r.baseline_value, r.baseline_ci),
            _ci(r.value, r.ci),
            _ci(r.delta, r.delta_ci),
            r.test,
            f"{r.p_value:.3g}",
            f"{r.p_holm:.3g}",
            "yes" if r.significant else "no",
        )
    results_console().print(table)
