"""Too few samples for resampling: corpus metrics get the exact randomization test (all 2**n
swaps), golden p from scipy.stats.permutation_test, which enumerates them too."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from evalkit.stats.significance_policy import SignificancePolicy, paired_outcome


def ratio(summed: np.ndarray) -> float:  # a corpus metric from summed statistics (like chrF)
    return float(summed[0] / summed[1])


def _corpus(a: np.ndarray, b: np.ndarray, statistic=ratio, **kwargs):
    return paired_outcome(
        a, b, statistic, corpus=True, policy=SignificancePolicy(), family_size=1, seed=0,
        ci_resamples=200, **kwargs,
    )  # fmt: skip


def test_two_samples_are_never_significant():
    # the tester's case: chrF on n=2, a large delta; the bootstrap said p ~ 0.0008
    a = np.array([[10.0, 40.0], [12.0, 40.0]])
    b = np.array([[35.0, 40.0], [38.0, 40.0]])
    out = _corpus(a, b)
    assert out.test == "exact_ar" and out.resamples == 4
    assert out.p_value == pytest.approx(0.5)  # 2 of the 4 swap patterns reach the delta
    assert not SignificancePolicy().significant(out.p_value)


def test_exact_randomization_matches_scipys_exact_permutation_test():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 1, 9), rng.uniform(0.2, 1.2, 9)
    n = len(a)
    out = _corpus(a[:, None], b[:, None], lambda s: float(s[0] / n))
    golden = stats.permutation_test(
        (b, a), lambda x, y: np.mean(x) - np.mean(y), permutation_type="samples",
        n_resamples=np.inf, alternative="two-sided",
    ).pvalue  # fmt: skip
    assert out.test == "exact_ar"
    assert out.p_value == pytest.approx(golden)


def test_normal_n_keeps_the_bootstrap_and_a_moved_null_is_refused_at_small_n():
    rng = np.random.default_rng(2)
    big = rng.uniform(1, 2, (13, 2)), rng.uniform(1, 2, (13, 2))
    assert _corpus(*big).test == "bootstrap"
    small = _corpus(big[0][:5], big[1][:5], null_delta=-0.1)
    assert small.test.startswith("none") and small.p_value == 1.0 and small.resamples is None
    from evalkit.stats.significance import exact_randomization

    with pytest.raises(ValueError):
        exact_randomization(*big, ratio)
