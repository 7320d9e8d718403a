"""Spearman correlation between every pair of columns, pairwise complete, in numpy alone.

The report's metric heatmap needs nothing more, and importing pandas for it cost a quarter of a
second on every `evalkit run`. The statistic is the one `pandas.DataFrame.corr(method="spearman",
min_periods=k)` computes (tests/stats/test_rankcorr.py checks it against pandas): for each pair, the
rows where both values are present (not NaN), each ranked with ties at their average rank, and
Pearson's r of the two rank vectors; NaN where fewer than `min_periods` rows remain or a rank
vector has no spread.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray


def average_ranks(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """1-based ranks of a 1-d array, ties sharing their average rank (scipy's rankdata
    method="average"); shape (n,) -> (n,)."""
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_group = np.empty(len(values), dtype=bool)
    starts_group[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts_group[1:])
    starts = np.flatnonzero(starts_group)
    sizes = np.diff(np.append(starts, len(values)))
    mean_rank = starts + (sizes + 1) / 2.0
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, sizes)
    return ranks


def _pearson(x: NDArray[np.float64], y: NDArray[np.float64]) -> float:
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denominator == 0.0:
        return math.nan
    return max(-1.0, min(1.0, float((dx * dy).sum()) / denominator))


def spearman_matrix(
    rows: Sequence[Mapping[str, float | None]], columns: Sequence[str], *, min_periods: int = 1
) -> list[list[float]]:
    """The k x k Spearman matrix of `columns` over `rows` (a row may lack a column, or hold
    None or NaN: that row is left out of the pairs with that column). Symmetric; NaN where a pair
    has fewer than `min_periods` complete rows or no spread in either rank vector."""
    table = np.array(
        [[_float(row.get(c)) for c in columns] for row in rows], dtype=np.float64
    ).reshape(len(rows), len(columns))
    return spearman_table(table, min_periods=min_periods)


def spearman_table(table: NDArray[np.float64], *, min_periods: int = 1) -> list[list[float]]:
    """`spearman_matrix` of an (n rows x k columns) array, NaN where a row lacks a value."""
    present = ~np.isnan(table)
    k = table.shape[1]
    out = [[math.nan] * k for _ in range(k)]
    for i in range(k):
        for j in range(i + 1):
            both = present[:, i] & present[:, j]
            if int(both.sum()) < max(min_periods, 1):
                continue
            value = _pearson(average_ranks(table[both, i]), average_ranks(table[both, j]))
            out[i][j] = out[j][i] = value
    return out


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)
