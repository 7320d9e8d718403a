"""`evalkit leaderboard RUN_DIR... -o DIR`: one leaderboard from many runs, as HTML, CSV and JSON.

Rules, stated in every output:
- Each task is ranked by its headline metric (`primary_metric` in its task.yaml, as the terminal
  table and the report; the first metric when it declares none), direction respected.
- Rank = 1 + the number of models whose 95% CI lies entirely better than this model's CI, so models
  whose CIs overlap share a rank (ties), as LMSYS's arena leaderboard ranks.
- Overall = mean win rate (HELM): per task, the share of the other ranked models this model beats
  on the point estimate, averaged over the tasks the model has; the number of tasks is shown.
  Models that never met (runs of disjoint model sets on disjoint tasks) are not ranked together:
  each group of models linked by shared tasks gets its own Overall table.
- Bradley-Terry ratings from pairwise judging (`evalkit judge ... judge=pairwise_preference`) are
  listed per task when a run has them.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import jinja2

from evalkit.analysis.leaderboard import rank_metric_of
from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError
from evalkit.report.template_cache import TemplateCache
from evalkit.store.atomicio import atomic_write_text, ensure_dir
from evalkit.types import Aggregate

RULES = (
    "Each task is ranked by its headline metric (primary_metric, else its first). "
    "Rank = 1 + the number of models whose 95% CI lies "
    "entirely better; overlapping CIs share a rank. Overall = mean win rate over the tasks a model "
    "has (the share of other models it beats on the point estimate, per task); models that never "
    "shared a task are ranked in separate Overall tables."
)


@dataclass(frozen=True)
class Entry:
    task: str
    metric: str
    model: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int
    rank: int
    higher_is_better: bool


@dataclass(frozen=True)
class Overall:
    model: str
    mean_win_rate: float
    tasks: int
    group: int = 0  # models of one group met on at least one task (directly or through others)


def _groups(task_models: dict[str, list[str]]) -> dict[str, int]:
    """model -> group: the connected components of 'ranked on a shared task', in task order."""
    group: dict[str, int] = {}
    for models in task_models.values():
        known = sorted({group[m] for m in models if m in group})
        target = known[0] if known else len(set(group.values()))
        merged = set(known[1:])
        for model in group:
            if group[model] in merged:
                group[model] = target
        for model in models:
            group[model] = target
    order = {g: i for i, g in enumerate(dict.fromkeys(group.values()))}
    return {m: order[g] for m, g in group.items()}


def _collect(
    run_dirs: Sequence[Path],
) -> tuple[list[Aggregate], dict[str, Any], dict[str, str]]:
    out: list[Aggregate] = []
    pairwise: dict[str, Any] = {}
    primary: dict[str, str] = {}
    runs = []
    for run_dir in run_dirs:
        runs.append((run_dir, open_run(run_dir).record))
    in_runs: dict[tuple[str, str], set[Path]] = {}
    for run_dir, run in runs:
        for a in run.aggregates:
            in_runs.setdefault((a.task, a.model), set()).add(run_dir)
    for run_dir, run in runs:
        for task, metric in run.primary_metrics.items():
            primary.setdefault(task, metric)
        for a in run.aggregates:
            model = a.model
            if len(in_runs[(a.task, a.model)]) > 1:
                # the same model in several runs: each row names its run (a sweep job's
                # directory, `3_limit=20`, names its swept values: `M23@limit=20`)
                model = f"{a.model}@{re.sub(r'^[0-9]+_', '', run_dir.name) or run_dir.name}"
            out.append(a.model_copy(update={"model": model}))
        tasks = run.pairwise.get("tasks") if run.pairwise else None
        if isinstance(tasks, dict):
            for task, table in tasks.items():
                if isinstance(table, dict) and table.get("bradley_terry"):
                    pairwise[task] = table["bradley_terry"]
    if not out:
        raise UserError("no aggregates in the given run directories")
    return out, pairwise, primary


def _better(a: Aggregate, b: Aggregate) -> bool:
    """a is better than b beyond doubt: their 95% CIs do not overlap."""
    if a.ci_low is None or a.ci_high is None or b.ci_low is None or b.ci_high is None:
        return False
    if a.higher_is_better:
        return a.ci_low > b.ci_high
    return a.ci_high < b.ci_low


def build(run_dirs: Sequence[Path]) -> tuple[list[Entry], list[Overall], dict[str, Any]]:
    aggregates, pairwise, primary = _collect(run_dirs)
    entries: list[Entry] = []
    wins: dict[str, list[float]] = {}
    task_models: dict[str, list[str]] = {}
    for task in dict.fromkeys(a.task for a in aggregates):
        metrics = list(dict.fromkeys(a.metric for a in aggregates if a.task == task))
        first_metric = rank_metric_of(metrics, primary.get(task))
        ranked = [
            a
            for a in aggregates
            if a.task == task and a.metric == first_metric and a.value is not None
        ]
        sign = 1.0 if ranked and ranked[0].higher_is_better else -1.0
        ranked.sort(key=lambda a: -sign * (a.value or 0.0))
        task_models[task] = [a.model for a in ranked]
        for a in ranked:
            rank = 1 + sum(_better(other, a) for other in ranked if other is not a)
            entries.append(
                Entry(task, first_metric, a.model, float(a.value or 0.0), a.ci_low, a.ci_high,
                      a.n, rank, a.higher_is_better)
            )  # fmt: skip
            if len(ranked) > 1:
                beaten = sum(sign * ((a.value or 0.0) - (o.value or 0.0)) > 0 for o in ranked)
                wins.setdefault(a.model, []).append(beaten / (len(ranked) - 1))
    group = _groups(task_models)
    overall = sorted(
        (Overall(m, sum(w) / len(w), len(w), group.get(m, 0)) for m, w in wins.items()),
        key=lambda o: (o.group, -o.mean_win_rate),
    )
    return entries, overall, pairwise


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("evalkit.report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    bytecode_cache=TemplateCache(),
)


def write_leaderboard(run_dirs: Sequence[Path], output: Path) -> list[Path]:
    entries, overall, pairwise = build(run_dirs)
    ensure_dir(output)
    by_task: dict[str, list[Entry]] = {}
    for e in entries:
        by_task.setdefault(e.task, []).append(e)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(Entry.__dataclass_fields__))
    writer.writeheader()
    writer.writerows(asdict(e) for e in entries)
    payload = {
        "rules": RULES,
        "overall": [asdict(o) for o in overall],
        "tasks": {t: [asdict(e) for e in rows] for t, rows in by_task.items()},
        "bradley_terry": pairwise,
        "runs": [str(d) for d in run_dirs],
    }
    groups: dict[int, list[Overall]] = {}
    for o in overall:
        groups.setdefault(o.group, []).append(o)
    group_tasks = {
        g: list(dict.fromkeys(e.task for e in entries if e.model in {o.model for o in rows}))
        for g, rows in groups.items()
    }
    html = _ENV.get_template("leaderboard.html.j2").render(
        rules=RULES, groups=groups, group_tasks=group_tasks, by_task=by_task, pairwise=pairwise
    )
    paths = [output / "leaderboard.html", output / "leaderboard.csv", output / "leaderboard.json"]
    atomic_write_text(paths[0], html)
    atomic_write_text(paths[1], buffer.getvalue())
    atomic_write_text(paths[2], json.dumps(payload, indent=2))
    return paths
