"""Bradley-Terry bootstrap CIs (evalkit.stats.pairwise_stats, used by LLM-judge pairwise tables,
recorded
judgments and human votes): unavailable, never zero-width, when resampling samples cannot vary."""

from __future__ import annotations

import math

from evalkit.stats.pairwise_stats import Comparison, bradley_terry, ci_text


def _c(sample: str, outcome: float) -> Comparison:
    return Comparison(sample, "a", "b", outcome, 0.0)


def test_one_sample_gives_no_ci():
    ratings = bradley_terry([_c("s0", 1.0), _c("s0", 1.0), _c("s0", 0.0)], ["a", "b"], seed=0)
    for r in ratings:
        assert math.isnan(r.ci_low) and math.isnan(r.ci_high) and "1 distinct" in str(r.ci_note)
        assert r.as_json()["ci_low"] is None and ci_text(r.ci_low, r.ci_high) == "n/a"


def test_samples_that_resample_to_the_same_data_give_no_ci():
    ratings = bradley_terry([_c("s0", 1.0), _c("s1", 1.0)], ["a", "b"], seed=0, n_resamples=50)
    assert all(math.isnan(r.ci_low) and r.ci_note for r in ratings)


def test_varying_samples_keep_a_real_interval():
    comparisons = [_c(f"s{i}", o) for i, o in enumerate([1.0, 0.0, 1.0, 0.5, 1.0, 0.0, 1.0])]
    for r in bradley_terry(comparisons, ["a", "b"], seed=0, n_resamples=50):
        assert r.ci_low < r.rating < r.ci_high and r.ci_note is None
        assert ci_text(r.ci_low, r.ci_high).startswith("[")
