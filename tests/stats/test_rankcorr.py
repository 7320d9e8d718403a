"""The report heatmap's numpy Spearman matrix against its reference implementations: pandas'
`DataFrame.corr(method="spearman", min_periods=...)` and scipy's `rankdata`."""

from __future__ import annotations

import math
import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.stats.rankcorr import average_ranks, spearman_matrix


def _rows(seed: int, n: int) -> list[dict[str, float | None]]:
    rng = random.Random(seed)
    rows: list[dict[str, float | None]] = []
    for i in range(n):
        row: dict[str, float | None] = {
            "bleu": rng.random(),
            "exact_match": float(rng.random() < 0.4),  # many ties
            "rouge": round(rng.random(), 1),  # some ties
            "const": 1.0,  # no spread: NaN everywhere it takes part
        }
        if rng.random() < 0.3:
            del row["bleu"]  # a missing key: pandas makes it NaN
        if rng.random() < 0.2:
            row["rouge"] = math.nan
        if i % 7 == 0:
            row["human: coherence"] = float(rng.randint(1, 5))  # only on some rows
        rows.append(row)
    return rows


@pytest.mark.parametrize(("seed", "n", "min_periods"), [(0, 60, 10), (1, 25, 10), (2, 12, 1)])
def test_spearman_matrix_equals_pandas(seed: int, n: int, min_periods: int) -> None:
    rows = _rows(seed, n)
    columns = ["bleu", "const", "exact_match", "rouge", "human: coherence"]
    expected = (
        pd.DataFrame(rows)[columns].corr(method="spearman", min_periods=min_periods).to_numpy()
    )
    got = np.array(spearman_matrix(rows, columns, min_periods=min_periods))
    assert got.shape == (5, 5)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12, equal_nan=True)
    assert not np.isnan(got[0, 2])  # the comparison is not vacuous: real values are compared


def test_too_few_complete_pairs_is_nan() -> None:
    rows: list[dict[str, float | None]] = [{"a": float(i), "b": float(-i)} for i in range(9)]
    assert all(math.isnan(v) for line in spearman_matrix(rows, ["a", "b"], min_periods=10)
               for v in line)  # fmt: skip
    rows.append({"a": 9.0, "b": None})  # None is a missing value, not a number
    assert math.isnan(spearman_matrix(rows, ["a", "b"], min_periods=10)[0][1])
    rows.append({"a": 10.0, "b": -10.0})
    assert spearman_matrix(rows, ["a", "b"], min_periods=10)[0][1] == pytest.approx(-1.0)


def test_average_ranks_equals_scipy() -> None:
    rng = np.random.default_rng(0)
    for values in (rng.integers(0, 5, 40).astype(float), rng.random(17), np.array([3.0])):
        np.testing.assert_array_equal(average_ranks(values), stats.rankdata(values))
