"""What `evalkit judge` prints: the judge-reliability panel and, for pairwise rubrics, win rates
and Bradley-Terry ratings; for pointwise ones the leaderboards and the judged metric's."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from evalkit.analysis.leaderboard import build_leaderboards, headline_table, print_leaderboards
from evalkit.console.terminal import results_console
from evalkit.stats.pairwise_stats import ci_text
from evalkit.types import JSONValue, RunRecord

_SKIP = {"task", "kind", "rubric", "judge", "metric", "judges"}


def _cell(value: JSONValue) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    return str(value)


def _rubric_name(signature: JSONValue) -> str | None:
    """The rubric name of a stored signature such as `pairwise_preference@v1`."""
    return signature.split("@", 1)[0] if isinstance(signature, str) else None


def print_judging(record: RunRecord, rubric: str, metric: str | None = None) -> None:
    """The tables of the judging just done: with `rubric` (the name of the rubric judged) the
    run's pairwise rubric, its win rates and Bradley-Terry ratings; else the leaderboards, ranked
    by the judged `metric` (pointwise) where a task has it. Then the judge-reliability panels."""
    console = results_console()
    pairwise: Any = record.pairwise.get("tasks") if record.pairwise else None
    if isinstance(pairwise, dict) and _rubric_name(record.pairwise.get("rubric")) == rubric:
        for task, table in pairwise.items():
            rows = Table(title=f"{task}: win rate vs {table['baseline']} (95% CI) and LC win rate")
            for column in ("model", "n", "win rate", "SE", "CI", "LC win rate", "W/T/L"):
                rows.add_column(column)
            for row in table["win_rates"]:
                rows.add_row(
                    row["model"], str(row["n"]), _cell(row["win_rate"]),
                    _cell(row.get("standard_error")),
                    f"[{_cell(row['ci_low'])}, {_cell(row['ci_high'])}]", _cell(row["lc_win_rate"]),
                    f"{row['wins']}/{row['ties']}/{row['losses']}",
                )  # fmt: skip
            console.print(rows)
            if table["bradley_terry"]:
                bt = Table(title=f"{task}: Bradley-Terry ratings (Elo scale, 95% CI)")
                for column in ("model", "rating", "CI"):
                    bt.add_column(column)
                for r in table["bradley_terry"]:
                    bt.add_row(r["model"], f"{r['rating']:.1f}", ci_text(r["ci_low"], r["ci_high"]))
                console.print(bt)
    else:
        print_leaderboards(record.aggregates, console, record.primary_metrics)
        if metric is not None:
            _print_judged_metric(record, metric, console)
    for report in record.judge_reports:
        table = Table(
            title=f"judge reliability: {report.get('task')} / {report.get('kind')} / "
            f"{report.get('rubric', '')} / {report.get('judge', _cell(report.get('judges')))}"
        )
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in report.items():
            if key not in _SKIP:
                table.add_row(key, _cell(value))
        console.print(table)


def _print_judged_metric(record: RunRecord, metric: str, console: Console) -> None:
    """The models ranked by the judged metric, for each task whose leaderboard another ranks."""
    judged = {a.task for a in record.aggregates if a.metric == metric}
    for board in build_leaderboards(record.aggregates, record.primary_metrics):
        if board.task in judged and board.rank_metric != metric:
            ranked = build_leaderboards(
                [a for a in record.aggregates if a.task == board.task], {board.task: metric}
            )[0]
            console.print(f"{board.task}: ranked by {metric} (judged)", markup=False, style="bold")
            console.print(headline_table(ranked))


def _percent(value: JSONValue) -> str:
    return f"{100 * value:.2f}" if isinstance(value, int | float) else "n/a"


def print_recorded(summary: dict[str, Any]) -> None:
    """What `evalkit judgments stats` prints: win rates in percent (AlpacaEval's units), with
    standard error and bootstrap CI; Bradley-Terry ratings; pointwise means; judge figures."""
    console = results_console()
    if summary.get("win_rates") is not None:
        rows = Table(title=f"win rate vs {summary['baseline']} (%; SE; 95% bootstrap CI)")
        for column in ("model", "n", "win rate", "SE", "CI", "discrete", "LC", "W/T/L"):
            rows.add_column(column)
        for row in summary["win_rates"]:
            if row.get("win_rate") is None:
                rows.add_row(row["model"], "0", "n/a", "", "", "", "", "")
                continue
            lc = row.get("alpaca_eval_lc_win_rate", row.get("lc_win_rate"))
            rows.add_row(
                row["model"], str(row["n"]), _percent(row["win_rate"]),
                _percent(row["standard_error"]),
                f"[{_percent(row['ci_low'])}, {_percent(row['ci_high'])}]",
                _percent(row["discrete_win_rate"]), _percent(lc),
                f"{row['wins']}/{row['ties']}/{row['losses']}",
            )  # fmt: skip
        console.print(rows)
    if summary.get("bradley_terry"):
        bt = Table(title="Bradley-Terry ratings (Elo scale, 95% CI)")
        for column in ("model", "rating", "CI"):
            bt.add_column(column)
        for r in summary["bradley_terry"]:
            bt.add_row(r["model"], f"{r['rating']:.1f}", ci_text(r["ci_low"], r["ci_high"]))
        console.print(bt)
    if summary.get("scores"):
        points = Table(title="pointwise scores (mean, 95% CI)")
        for column in ("model", "n", "failed", "mean", "CI"):
            points.add_column(column)
        for r in summary["scores"]:
            points.add_row(
                r["model"], str(r["n"]), str(r["n_failed"]), _cell(r.get("mean")),
                f"[{_cell(r.get('ci_low'))}, {_cell(r.get('ci_high'))}]",
            )  # fmt: skip
        console.print(points)
    if summary.get("judge_report"):
        table = Table(title=f"judge reliability: {', '.join(summary['judges']) or 'recorded'}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        for key, value in summary["judge_report"].items():
            table.add_row(key, _cell(value))
        console.print(table)
