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


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_exact_randomization_of_a_corpus_metric_matches_scipy_over_sacrebleu(metric):
    """The exact test scores all 4,096 swap patterns at once (corpus_formulas' `many`); the
    golden enumerates them through scipy, each pattern's corpus scores by sacrebleu itself."""
    import random

    from sacrebleu.metrics import BLEU, CHRF, TER

    from evalkit.stages.metricspec import formula_statistic
    from evalkit.types import CorpusFormula

    sacre = {"bleu": BLEU(effective_order=True), "chrf": CHRF(), "ter": TER()}[metric]
    rng = random.Random(3)
    words = ["the", "a", "cat", "dog", "sat", "on", "mat", "big", "small", "red"]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(3, 12)))

    refs = [[sentence()] for _ in range(12)]
    a = np.array([sacre._extract_corpus_statistics([sentence()], [r])[0] for r in refs], float)
    b = np.array([sacre._extract_corpus_statistics([sentence()], [r])[0] for r in refs], float)
    options = {"bleu": {"effective_order": True}, "chrf": {}, "ter": {}}[metric]
    statistic = formula_statistic(CorpusFormula(name=f"sacrebleu.{metric}", options=options))
    out = _corpus(a, b, statistic)

    def corpus(ids: np.ndarray) -> float:  # >= 0: a row of b; < 0: row -id-1 of a
        rows = [b[int(i)] if i >= 0 else a[int(-i - 1)] for i in ids]
        return float(sacre._compute_score_from_stats(list(np.sum(rows, axis=0))).score)

    golden = stats.permutation_test(
        (np.arange(12.0), -np.arange(1.0, 13.0)), lambda x, y: corpus(x) - corpus(y),
        permutation_type="samples", n_resamples=np.inf, alternative="two-sided",
        vectorized=False,
    ).pvalue  # fmt: skip
    assert out.test == "exact_ar" and out.resamples == 4096
    assert out.p_value == pytest.approx(golden)
