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
    from scipy import stats as scipy_stats  # imported on first use: scipy takes seconds to load

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
    units = _units(items)
    picks = np.random.default_rng(seed).integers(0, len(units), size=(n_resamples, len(units)))
    if level == "summary":  # the documents' correlations serve the value and every replicate
        per_document = _per_document(units, method)
        defined = per_document[~np.isnan(per_document)]
        value, n = (float(np.mean(defined)) if len(defined) else math.nan), len(defined)
        replicates = _summary_replicates(per_document, picks)
    elif level == "system":
        value, n = _value(items, level, method)
        replicates = _system_replicates(units, method, picks)
    else:
        value, n = _value(items, level, method)
        replicates = _sample_replicates(units, method, picks)
    replicates = replicates[~np.isnan(replicates)]
    low = high = None
    if len(replicates):
        low, high = (float(v) for v in np.quantile(replicates, [0.025, 0.975]))
    return Correlation(level, method, value, low, high, n)


_ROW_CHUNK_ELEMENTS = 2_000_000
"""Resampled rows are correlated in chunks of about this many values (memory stays ~100 MB)."""


def _sample_replicates(units: list[list[Judged]], method: str, picks: np.ndarray) -> np.ndarray:
    """Each replicate pools the drawn units' items. Units of one size (single samples, or
    documents with every system's output) become one index matrix, correlated row-wise in
    chunks; Kendall's tau-b and ragged units go through scipy one replicate at a time."""
    if not units:
        return np.full(len(picks), np.nan)
    x = np.array([i.prediction for u in units for i in u], dtype=float)
    y = np.array([i.human for u in units for i in u], dtype=float)
    sizes = np.array([len(u) for u in units])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    if np.all(sizes == sizes[0]):
        offsets = np.arange(sizes[0])
        chunk = max(1, _ROW_CHUNK_ELEMENTS // (picks.shape[1] * int(sizes[0])))
        out = []
        for begin in range(0, len(picks), chunk):
            index = (starts[picks[begin : begin + chunk]][:, :, None] + offsets).reshape(
                min(chunk, len(picks) - begin), -1
            )
            if method == "kendall":
                out.append(np.array([_corr(method, x[row], y[row]) for row in index]))
            else:
                out.append(corr_rows(method, x[index], y[index]))
        return np.concatenate(out) if out else np.zeros(0)
    ranges = [np.arange(start, start + size) for start, size in zip(starts, sizes, strict=True)]
    rows = (np.concatenate([ranges[k] for k in row]) for row in picks)
    return np.array([_corr(method, x[row], y[row]) for row in rows])


def _per_document(units: list[list[Judged]], method: str) -> np.ndarray:
    """Each document's correlation (NaN where undefined), in the order of `units`: the order in
    which `_value` groups them, so their mean is the summary-level value."""
    return np.array([_corr(method, [i.prediction for i in u], [i.human for i in u]) for u in units])


def _summary_replicates(per_document: np.ndarray, picks: np.ndarray) -> np.ndarray:
    """A summary-level value is a mean of per-document correlations, so a replicate is the mean
    of the picked documents' correlations, each counted as often as it was drawn."""
    drawn = per_document[picks]
    defined = ~np.isnan(drawn)
    counts = defined.sum(axis=1)
    sums = np.where(defined, drawn, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def _system_replicates(units: list[list[Judged]], method: str, picks: np.ndarray) -> np.ndarray:
    """Per-system means over the drawn units, from per-unit sums: one matrix product."""
    systems = sorted({str(i.system) for u in units for i in u})
    column = {s: k for k, s in enumerate(systems)}
    shape = (len(units), len(systems))
    metric, human, count = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for row, unit in enumerate(units):
        for item in unit:
            k = column[str(item.system)]
            metric[row, k] += item.prediction
            human[row, k] += item.human
            count[row, k] += 1
    draws = np.zeros((len(picks), len(units)))
    for r, row in enumerate(picks):
        draws[r] = np.bincount(row, minlength=len(units))
    n = draws @ count
    with np.errstate(invalid="ignore", divide="ignore"):
        metric_means, human_means = (draws @ metric) / n, (draws @ human) / n
    complete = np.all(n > 0, axis=1)
    out = np.full(len(picks), np.nan)
    out[complete] = corr_rows(method, metric_means[complete], human_means[complete])
    for partial in np.flatnonzero(~complete):  # a system with no drawn unit: correlate the rest
        present = n[partial] > 0
        out[partial] = _corr(
            method, list(metric_means[partial, present]), list(human_means[partial, present])
        )
    return out


def corr_rows(method: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The correlation of each row of x with the same row of y (NaN where a row is constant):
    Pearson; Spearman as Pearson of average ranks; Kendall tau-b from pairwise signs, which is
    the statistic scipy.stats.kendalltau computes."""
    if method == "spearman":
        from scipy import stats as scipy_stats

        x, y = scipy_stats.rankdata(x, axis=1), scipy_stats.rankdata(y, axis=1)
    if method in ("pearson", "spearman"):
        dx, dy = x - x.mean(axis=1, keepdims=True), y - y.mean(axis=1, keepdims=True)
        numerator = (dx * dy).sum(axis=1)
        denominator = np.sqrt((dx * dx).sum(axis=1) * (dy * dy).sum(axis=1))
    else:
        upper = np.triu_indices(x.shape[1], k=1)
        sx = np.sign(x[:, :, None] - x[:, None, :])[:, upper[0], upper[1]]
        sy = np.sign(y[:, :, None] - y[:, None, :])[:, upper[0], upper[1]]
        numerator = (sx * sy).sum(axis=1)
        denominator = np.sqrt(np.abs(sx).sum(axis=1) * np.abs(sy).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def correlation_table(
    items: Sequence[Judged], levels: Sequence[Level], *, seed: int = 1234, n_resamples: int = 1000
) -> list[Correlation]:
    return [
        correlate(items, level, method, seed=seed, n_resamples=n_resamples)
        for level in levels
        for method in METHODS
    ]
