"""Seeded percentile-bootstrap confidence intervals, for means and for corpus statistics.

Resampling always draws whole samples (rows). For a corpus metric the row is the sample's vector
of sufficient statistics, so each replicate is the corpus metric recomputed from resampled sums
(as sacrebleu's own significance code does), never a mean of sentence scores. The generator is
seeded from the run seed alone, so every model of a task sees the same resampled index sets: the
intervals of two systems are paired, and reruns are bit-identical.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
DEFAULT_RESAMPLES = 1000
_CHUNK_CELLS = 2_000_000  # bound the (chunk x n) count matrix to ~16 MB at a time


def resampled_sums(
    rows: FloatArray, seed: int, n_resamples: int = DEFAULT_RESAMPLES, *, gather: bool = True
) -> FloatArray:
    """Column sums of `n_resamples` bootstrap resamples of `rows` (shape n x k) -> (B x k).

    Each resample is turned into per-row counts and multiplied with `rows`: one BLAS product
    instead of gathering B x n x k values. A single column of whole numbers (a 0/1 metric such as
    exact match) is summed by gathering its values as integers instead (`gather`, default on):
    the same resample indices, and every partial sum is a whole number below 2**53, so the sums
    are exact either way and bit-identical to the product's: 0.30 s instead of 0.62 s at
    n = 100,000 (values that fit int8 are gathered as int8: 0.05 s less than as int64).
    """
    n, k = rows.shape
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(1, n))
    out = np.empty((n_resamples, k), dtype=np.float64)
    whole = _as_small_integers(rows[:, 0]) if gather and _whole_number_column(rows) else None
    for start in range(0, n_resamples, chunk):
        stop = min(n_resamples, start + chunk)
        idx = rng.integers(0, n, size=(stop - start, n))
        if whole is not None:
            out[start:stop, 0] = whole[idx].sum(axis=1, dtype=np.int64)
            continue
        flat = (idx + n * np.arange(stop - start)[:, None]).ravel()
        counts = np.bincount(flat, minlength=(stop - start) * n).reshape(stop - start, n)
        out[start:stop] = counts.astype(np.float64) @ rows
    return out


def _as_small_integers(column: FloatArray) -> NDArray[np.int8] | NDArray[np.int64]:
    """Whole numbers as int8 when they fit (a 0/1 metric), else int64."""
    if len(column) and float(column.min()) >= -128.0 and float(column.max()) <= 127.0:
        return column.astype(np.int8)
    return column.astype(np.int64)


def _whole_number_column(rows: FloatArray) -> bool:
    """One column of whole numbers whose resampled sums (n draws) stay below 2**53."""
    if rows.shape[1] != 1 or rows.shape[0] == 0:
        return False
    column = rows[:, 0]
    if not np.isfinite(column).all() or not np.array_equal(column, np.rint(column)):
        return False
    return bool(float(np.abs(column).max()) * len(column) < 2.0**53)


class VectorStatistic:
    """A corpus statistic (summed rows, a k-vector -> float) that also scores the rows of an
    (m, k) array of summed resamples at once with `many`, giving each row's scalar value."""

    def __init__(
        self, one: Callable[[FloatArray], float], many: Callable[[FloatArray], FloatArray]
    ) -> None:
        self._one = one
        self._many = many

    def __call__(self, summed: FloatArray) -> float:
        return self._one(summed)

    def many(self, sums: FloatArray) -> FloatArray:
        return np.asarray(self._many(sums), dtype=np.float64)


def statistic_of_rows(statistic: Callable[[FloatArray], float], sums: FloatArray) -> FloatArray:
    """`statistic` of every row of `sums` (m x k) -> (m,): at once for a `VectorStatistic`."""
    if isinstance(statistic, VectorStatistic):
        return statistic.many(sums)
    return np.array([statistic(row) for row in sums], dtype=np.float64)


def percentile_interval(replicates: FloatArray, confidence: float = 0.95) -> tuple[float, float]:
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return float(low), float(high)


def mean_ci(
    values: FloatArray, seed: int, n_resamples: int = DEFAULT_RESAMPLES, confidence: float = 0.95
) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of `values` by the percentile bootstrap."""
    n = len(values)
    sums = resampled_sums(values.reshape(n, 1), seed, n_resamples)[:, 0]
    low, high = percentile_interval(sums / n, confidence)
    return float(values.mean()), low, high


def corpus_ci(
    stats: FloatArray,
    statistic: Callable[[FloatArray], float],
    seed: int,
    n_resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """(statistic of summed stats, ci_low, ci_high): each replicate recomputes the corpus metric."""
    replicates = statistic_of_rows(statistic, resampled_sums(stats, seed, n_resamples))
    low, high = percentile_interval(replicates, confidence)
    return statistic(stats.sum(axis=0)), low, high
