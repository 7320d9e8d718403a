"""Paired tests against published reference-tool p-values, exact cases, and their level under H0."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sacrebleu.metrics.bleu import BLEU

from evalkit.stats.significance import (
    approximate_randomization,
    holm,
    mcnemar,
    mean_statistic,
    paired_bootstrap,
)
from tests.conftest import SHARED_DATA

# p-values published in sacrebleu's test suite for WMT17 en-de, baseline LIUM-NMT.4900, BLEU with
# tokenize=none: Moses' bootstrap script (2,000 samples) and multeval's AR (10,000 trials).
MOSES = {
    "FBK.4870": 0.01267,
    "KIT.4950": 0.02233,
    "LMU-nmt-single.4893": 0.20783,
    "online-B.0": 0.38100,
    "SYSTRAN.4847": 0.20983,
    "C-3MA.4959": 0.0,
}
MULTEVAL = {
    "FBK.4870": 0.0218,
    "KIT.4950": 0.0410,
    "online-B.0": 0.94111,
    "xmu.4910": 0.71073,
    "RWTH-nmt-ensemble.4921": 0.0207,
}


@pytest.fixture(scope="module")
def wmt17():
    path = SHARED_DATA / "wmt17_en_de" / "newstest2017_16systems.jsonl"
    if not path.is_file():
        pytest.skip("shared WMT17 data not present")
    rows = [json.loads(line) for line in path.open(encoding="utf-8")]
    refs = [[r["reference"] for r in rows]]
    metric = BLEU(tokenize="none")

    def stats(system: str) -> np.ndarray:
        hyps = [r["outputs"][system] for r in rows]
        return np.array(metric._extract_corpus_statistics(hyps, refs), dtype=np.float64)

    def bleu(summed: np.ndarray) -> float:
        return float(metric._compute_score_from_stats(summed.tolist()).score)

    return stats, bleu


@pytest.mark.parametrize(("system", "expected"), MOSES.items())
def test_paired_bootstrap_agrees_with_moses(wmt17, system, expected):
    stats, bleu = wmt17
    result = paired_bootstrap(
        stats("LIUM-NMT.4900"), stats(system), bleu, seed=12345, n_resamples=2000
    )
    assert abs(result.p_moses - expected) < 0.01
    assert result.ci_low <= result.delta <= result.ci_high
    assert result.p_value >= result.p_moses  # the two-sided p is the stricter one


@pytest.mark.parametrize(("system", "expected"), MULTEVAL.items())
def test_approximate_randomization_agrees_with_multeval(wmt17, system, expected):
    stats, bleu = wmt17
    result = approximate_randomization(
        stats("LIUM-NMT.4900"), stats(system), bleu, seed=12345, n_trials=10000
    )
    # 10,000 random shuffles: the Monte Carlo standard error of p is up to 0.005
    assert abs(result.p_value - expected) < 0.02


def test_holm_adjustment():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_mcnemar_exact():
    # 10 samples only B gets right, 2 only A: two-sided exact p = 2 * P(X <= 2 | n=12, 1/2)
    a = [True] * 2 + [False] * 10 + [True] * 30 + [False] * 8
    b = [False] * 2 + [True] * 10 + [True] * 30 + [False] * 8
    result = mcnemar(a, b)
    assert result.p_value == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert result.delta == pytest.approx(8 / 50)
    assert mcnemar([True, False], [True, False]).p_value == 1.0


def null_rejection_rate(test: str, trials: int = 300, n: int = 60) -> float:
    """Exchangeable systems (no real difference): the share of p-values below 0.05."""
    rng = np.random.default_rng(7)
    rejections = 0
    for trial in range(trials):
        difficulty = rng.normal(size=n)
        a = (difficulty + rng.normal(scale=0.5, size=n))[:, None]
        b = (difficulty + rng.normal(scale=0.5, size=n))[:, None]
        if test == "ar":
            p = approximate_randomization(a, b, mean_statistic(n), seed=trial, n_trials=200).p_value
        else:
            result = paired_bootstrap(a, b, mean_statistic(n), seed=trial, n_resamples=200)
            p = result.p_value if test == "bootstrap" else result.p_moses
        rejections += p < 0.05
    return rejections / trials


@pytest.mark.parametrize("test", ["bootstrap", "ar"])
def test_paired_tests_hold_their_level_under_the_null(test):
    assert null_rejection_rate(test) <= 0.075  # nominal 0.05, plus Monte Carlo slack


def test_moses_convention_is_about_one_sided():
    """Why decisions use the two-sided p: Moses' p rejects about twice as often under H0."""
    assert 0.07 <= null_rejection_rate("moses") <= 0.16


def test_paired_tests_detect_a_real_difference():
    rng = np.random.default_rng(3)
    difficulty = rng.normal(size=200)
    a = (difficulty + rng.normal(scale=0.3, size=200))[:, None]
    b = a + 0.2
    result = paired_bootstrap(a, b, mean_statistic(200), seed=0, n_resamples=500)
    assert result.p_value < 0.01 and result.ci_low > 0 and result.effect_size > 1


def test_kept_resample_counts_give_the_same_result_as_streamed_ones(monkeypatch):
    """Comparisons with the same n and seed reuse one set of count matrices; the result must be
    exactly what drawing them afresh gives."""
    from evalkit.stats import significance

    rng = np.random.default_rng(5)
    a, b = rng.random((500, 2)), rng.random((500, 2))

    def ratio(summed):
        return float(summed[0] / summed[1])

    kept = [significance.paired_bootstrap(a, b, ratio, seed=9) for _ in range(2)]
    monkeypatch.setattr(significance, "_CACHED_CELLS", 0)
    streamed = significance.paired_bootstrap(a, b, ratio, seed=9)
    assert kept[0] == kept[1] == streamed
    blocks = significance._cached_blocks(500, 9, 1000)
    assert all(not block.flags.writeable for block in blocks)
