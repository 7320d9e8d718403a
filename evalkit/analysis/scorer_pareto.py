"""The trade-off the demo can measure: each scorer's agreement with human ratings against its cost.

Replayed outputs carry no model latency, but every run times its scorers (run.json
`scorer_timings`: wall seconds per 1,000 samples) and, where the data has expert ratings
(SummEval), the metric-agreement tables give each metric's Kendall tau with each rated dimension,
with 95% bootstrap CIs (evalkit.analysis.metric_agreement). This module turns those into chart
data: per
task, one point per metric (x: seconds per 1,000 samples, y: tau [CI]) and, per dimension and
level, the metrics on the Pareto frontier (no other metric both cheaper-or-equal and at least as
agreeing, one of them strictly), as evalkit.stats.pareto defines it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from evalkit.analysis.metric_agreement import LEVELS, AgreementTable
from evalkit.stats.pareto import pareto_front


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(f"{value:.4g}")


def scorer_pareto(tables: Sequence[AgreementTable]) -> dict[str, Any]:
    """task -> {"dimensions", "levels", "points": [{metric, scorer, s1k, agree}], "frontier"}.

    `agree[dimension][level]` is [tau, ci_low, ci_high] (None where not computed);
    `frontier[dimension][level]` lists the metrics on the frontier (points without a measured
    cost or tau are never on it).
    """
    out: dict[str, Any] = {}
    for table in tables:
        points: list[dict[str, Any]] = []
        for row in table.rows:
            agree: dict[str, dict[str, list[float | None]]] = {}
            for dimension, levels in row.by_dimension.items():
                agree[dimension] = {
                    level: [_finite(c.value), _finite(c.ci_low), _finite(c.ci_high)]
                    for level, c in levels.items()
                }
            points.append(
                {
                    "metric": row.metric,
                    "scorer": row.scorer,
                    "s1k": _finite(row.seconds_per_1000),
                    "agree": agree,
                }
            )
        frontier: dict[str, dict[str, list[str]]] = {}
        for dimension in table.dimensions:
            for level in LEVELS:
                taus = [p["agree"].get(dimension, {}).get(level, [None])[0] for p in points]
                flags = pareto_front([p["s1k"] for p in points], taus, higher_is_better=True)
                on = [p["metric"] for p, f in zip(points, flags, strict=True) if f]
                frontier.setdefault(dimension, {})[level] = on
        out[table.task] = {
            "dimensions": table.dimensions,
            "levels": list(LEVELS),
            "points": points,
            "frontier": frontier,
        }
    return out
