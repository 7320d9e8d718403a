"""Meta-evaluation: how well does a metric agree with human judgments?

Pearson, Spearman and Kendall (tau-b, as scipy computes it) at three levels:
- sample: over all (output, human score) pairs;
- system: over per-system means (one point per system);
- summary: per source document, across the systems' outputs, then averaged; groups where either
  side is constant are skipped (their correlation is undefined), as in SummEval and G-Eval.
Each value has a seeded percentile-bootstrap 95% CI that resamples source documents when they are
known (each with all its systems' outputs), else single samples.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as scipy_stats

Level = Literal["sample", "system", "summary"]
METHODS = ("pearson", "spearman", "kendall")


@dataclass(frozen=True)
class Judged:
    """One output: the metric's value, the human score, its source document and system."""

    prediction: float
    human: float
    group: str | None = None
    system: str | None = None


@dataclass(frozen=True)
class Correlation:
    level: str
    method: str
    value: float
    ci_low: float | None
    ci_high: float | None
    n: int  # pairs, systems, or documents used


def _corr(method: str, x: Sequence[float], y: Sequence[float]) -> float:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    if method == "pearson":
        return float(scipy_stats.pearsonr(x, y)[0])
    if method == "spearman":
        return float(scipy_stats.spearmanr(x, y)[0])
    return float(scipy_stats.kendalltau(x, y)[0])


def _value(items: Sequence[Judged], level: Level, method: str) -> tuple[float, int]:
    if level == "sample":
        return _corr(method, [i.prediction for i in items], [i.human for i in items]), len(items)
    key = "system" if level == "system" else "group"
    groups: dict[str | None, list[Judged]] = defaultdict(list)
    for item in items:
        groups[getattr(item, key)].append(item)
    if level == "system":
        means = [
            (float(np.mean([i.prediction for i in g])), float(np.mean([i.human for i in g])))
            for g in groups.values()
        ]
        return _corr(method, [m[0] for m in means], [m[1] for m in means]), len(means)
    per_group = [
        _corr(method, [i.prediction for i in g], [i.human for i in g]) for g in groups.values()
    ]
    defined = [c for c in per_group if not math.isnan(c)]
    return (float(np.mean(defined)) if defined else math.nan), len(defined)


def _units(items: Sequence[Judged]) -> list[list[Judged]]:
    """What the bootstrap resamples: whole source documents (every system's output for it) when
    documents are known, since they are the independent units; else single samples."""
    if all(item.group is not None for item in items):
        groups: dict[str | None, list[Judged]] = defaultdict(list)
        for item in items:
            groups[item.group].append(item)
        return list(groups.values())
    return [[item] for item in items]


def correlate(
    items: Sequence[Judged], level: Level, method: str, *, seed: int = 1234, n_resamples: int = 1000
) -> Correlation:
    needed = {"system": "system", "summary": "group"}.get(level)
    if needed and any(getattr(i, needed) is None for i in items):
        raise ValueError(f"{level}-level correlation needs a {needed} for every item")
    value, n = _value(items, level, method)
    units = _units(items)
    rng = np.random.default_rng(seed)
    replicates = []
    for _ in range(n_resamples if n_resamples else 0):
        picked = rng.integers(0, len(units), size=len(units))
        sample = [item for k in picked for item in units[k]]
        replicate, _ = _value(sample, level, method)
        if not math.isnan(replicate):
            replicates.append(replicate)
    low = high = None
    if replicates:
        low, high = (float(v) for v in np.quantile(replicates, [0.025, 0.975]))
    return Correlation(level, method, value, low, high, n)


def correlation_table(
    items: Sequence[Judged], levels: Sequence[Level], *, seed: int = 1234, n_resamples: int = 1000
) -> list[Correlation]:
    return [
        correlate(items, level, method, seed=seed, n_resamples=n_resamples)
        for level in levels
        for method in METHODS
    ]
