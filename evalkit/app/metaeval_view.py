"""`evalkit meta-eval`: gather pairs, correlate at every level the data allows, print."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.table import Table

from evalkit.analysis.metaeval_sources import from_file, from_ratings, from_run
from evalkit.console.terminal import results_console
from evalkit.errors import UserError
from evalkit.stats.metaeval import Level, correlation_table


def meta_evaluate(
    source: Path,
    *,
    pred: str | None,
    human: str | None,
    group: str | None,
    system: str | None,
    n_resamples: int,
    as_json: bool,
    ratings: Path | None = None,
) -> None:
    if ratings is not None:
        if not source.is_dir():
            raise UserError(f"{source}: --ratings needs a run directory as SOURCE")
        series = from_ratings(source, ratings)
        levels: list[Level] = ["sample", "system", "summary"]
    elif source.is_dir():
        series = from_run(source)
        levels = ["sample", "system", "summary"]
    else:
        if not pred or not human:
            raise UserError(f"{source}: a file needs --pred FIELD and --human FIELD")
        series = from_file(source, pred, human, group, system)
        levels = ["sample"]
        levels += ["system"] if system else []
        levels += ["summary"] if group else []
    rows: list[dict[str, Any]] = []
    for (origin, metric, dimension), items in sorted(series.items()):
        for c in correlation_table(items, levels, n_resamples=n_resamples):
            rows.append({"source": origin, "metric": metric, "human": dimension, **asdict(c)})
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title="agreement with human judgments (95% bootstrap CIs)")
    for column in ("source", "metric", "human", "level", "pearson", "spearman", "kendall", "n"):
        table.add_column(column, justify="right" if column in ("n",) else "left")
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for r in rows:
        key = (r["source"], r["metric"], r["human"], r["level"])
        cell = "n/a" if r["value"] != r["value"] else f"{r['value']:.4f}"
        if r["ci_low"] is not None:
            cell += f" [{r['ci_low']:.3f}, {r['ci_high']:.3f}]"
        merged.setdefault(key, {"n": r["n"]})[r["method"]] = cell
    for (origin, metric, dimension, level), cells in merged.items():
        table.add_row(
            origin,
            metric,
            dimension,
            level,
            cells.get("pearson", ""),
            cells.get("spearman", ""),
            cells.get("kendall", ""),
            str(cells["n"]),
        )
    results_console().print(table)
