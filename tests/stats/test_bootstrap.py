"""Bootstrap CIs: seeded, paired across models, and with the nominal coverage on simulated data."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.stats.bootstrap import corpus_ci, mean_ci, resampled_sums


def test_resampled_sums_match_explicit_resampling():
    rows = np.arange(12, dtype=float).reshape(6, 2)
    sums = resampled_sums(rows, seed=3, n_resamples=50)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 6, size=(50, 6))
    assert np.allclose(sums, rows[idx].sum(axis=1))


def test_mean_ci_is_deterministic_and_contains_mean():
    values = np.random.default_rng(0).normal(size=200)
    a, b = mean_ci(values, seed=5), mean_ci(values, seed=5)
    assert a == b and a[1] < a[0] < a[2]


def test_mean_ci_coverage_is_near_nominal():
    rng = np.random.default_rng(42)
    covered = 0
    trials = 300
    for trial in range(trials):
        values = rng.exponential(scale=1.0, size=80)  # skewed; true mean 1.0
        _, low, high = mean_ci(values, seed=trial, n_resamples=400)
        covered += low <= 1.0 <= high
    assert 0.88 <= covered / trials <= 0.99


def test_corpus_ci_uses_summed_statistics():
    stats = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 4.0]])
    ratio = lambda s: float(s[0] / s[1])  # noqa: E731 - e.g. a corpus-level precision
    value, low, high = corpus_ci(stats, ratio, seed=0, n_resamples=200)
    assert value == 4.0 / 10.0
    assert low <= value <= high


@pytest.mark.parametrize(
    ("n", "low", "high"),
    [
        (1, 0, 1),
        (7, 0, 1),
        (1_000, 0, 1),
        (150_001, 0, 1),
        (3_000, -5, 5),
        (2_000, -(2**40), 2**40),
    ],
)
def test_whole_number_sums_by_gathering_are_bit_identical_to_the_product(n, low, high):
    """The gathering path for a column of whole numbers (0/1 metrics) gives the very sums of
    the counts-times-values product, across chunk boundaries (n = 150,001: 13 resamples a
    chunk) and for values whose sums need the full 53 bits."""
    rng = np.random.default_rng(n)
    rows = rng.integers(low, high + 1, size=(n, 1)).astype(np.float64)
    gathered = resampled_sums(rows, seed=11, n_resamples=40)
    product = resampled_sums(rows, seed=11, n_resamples=40, gather=False)
    assert np.array_equal(gathered, product)


def test_columns_that_are_not_whole_numbers_take_the_product():
    rows = np.array([[0.5], [1.0], [0.25], [1.0]])
    assert np.array_equal(
        resampled_sums(rows, seed=2, n_resamples=30),
        resampled_sums(rows, seed=2, n_resamples=30, gather=False),
    )
    too_large = np.full((4, 1), 2.0**52)  # 4 draws of 2**52 overflow 2**53: the product path
    assert np.array_equal(
        resampled_sums(too_large, seed=2, n_resamples=5),
        resampled_sums(too_large, seed=2, n_resamples=5, gather=False),
    )
