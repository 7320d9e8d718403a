"""The one significance policy of `evalkit compare`, `evalkit gate` and the report's Summary and
Compare tabs: which paired test a metric gets, how many resamples, the Holm family, the decision.

Which test (per metric kind, on the samples both systems scored):
- 0/1 metrics (exact match): McNemar's exact test (a binomial test on the discordant pairs).
- Mean metrics (per-sample scores averaged: ROUGE, F1, judges, embeddings): the paired t-test
  (scipy.stats.ttest_rel). The reported delta is a difference of means; the t-test tests exactly
  that mean, its p-value is analytic (no resampling floor, so any Holm family can be significant),
  and by the central limit theorem it is valid for bounded scores at the sample sizes evaluations
  use; the percentile bootstrap CI of the delta, which stays the interval, rests on the same
  approximation, so "CI excludes 0" and "p < 0.05" agree up to small-sample differences. The
  Wilcoxon signed-rank test was not chosen: it tests the pseudo-median of the differences, which
  can have the opposite sign to the mean delta shown.
- Corpus metrics (BLEU, chrF, TER from summed sufficient statistics; no per-sample mean to test):
  the paired bootstrap (or approximate randomization, `--test ar`), whose p-value is at least
  1/(B+1). B is scaled with the Holm family size m, B = max(min_resamples, ceil(k * m / alpha))
  with k = `resolution` (20), so the smallest attainable Holm-adjusted p, m / (B+1), is alpha / k;
  above `max_resamples` B is capped and a warning says the family cannot reach alpha.
  With n <= EXACT_MAX_N (12) samples resampling is degenerate (n = 2 has 3 distinct bootstrap
  deltas, yet a p near 1/(B+1)); such a comparison gets the exact randomization test over all
  2**n swaps instead (test `exact_ar`, p >= 2 / 2**n), or, against a non-zero null (the gate's
  allowed drop, which a swap test cannot move to), no test: test `none (n<=12)` with p = 1.

The Holm family (`HOLM_FAMILY`) is one task x metric: the models compared with one baseline (or,
in the Summary tab, with the column's best) on that metric. A comparison is significant when its
Holm-adjusted p is below alpha (0.05).
"""

from __future__ import annotations

import math
import sys
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from evalkit.stats.significance import (
    EXACT_MAX_N,
    Resampled,
    Rows,
    Statistic,
    approximate_randomization,
    exact_randomization,
    holm,
    mcnemar,
    paired_bootstrap,
    paired_t,
)

HOLM_FAMILY = "task x metric"
ResamplingTest = Literal["bootstrap", "ar"]
Kind = Literal["binary", "mean", "corpus"]


@dataclass(frozen=True)
class SignificancePolicy:
    """Thresholds and resample counts; the same defaults in compare, gate and the report."""

    alpha: float = 0.05
    resampling_test: ResamplingTest = "bootstrap"  # for corpus metrics
    min_resamples: int = 2000
    resolution: int = 20  # k: the smallest attainable Holm p is alpha / k
    max_resamples: int = 200_000
    family: str = HOLM_FAMILY

    def resamples(self, family_size: int) -> int:
        """B for a resampling test in a Holm family of `family_size` comparisons."""
        needed = math.ceil(self.resolution * max(1, family_size) / self.alpha)
        return min(max(self.min_resamples, needed), self.max_resamples)

    def reachable(self, family_size: int, resamples: int) -> bool:
        """Whether the smallest resampled p, 1/(B+1), survives Holm's factor m at alpha."""
        return max(1, family_size) / (resamples + 1) < self.alpha

    def significant(self, p_holm: float) -> bool:
        return p_holm < self.alpha


@dataclass(frozen=True)
class PairedOutcome:
    """One comparison: delta = value_b - value_a with its paired-bootstrap 95% CI, and the p-value
    of the policy's test (`test`: paired_t | mcnemar | bootstrap | ar)."""

    test: str
    value_a: float
    value_b: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    effect_size: float | None
    p_moses: float | None  # Moses' bootstrap p (vs 0), comparable with WMT papers; not for 0/1
    resamples: int | None  # B of the test; None for the analytic tests


def metric_kind(rows_a: Rows, rows_b: Rows, *, corpus: bool) -> Kind:
    """corpus when the metric is computed from summed statistics, binary when every value is 0
    or 1, else mean."""
    if corpus:
        return "corpus"
    values = np.unique(np.r_[rows_a[:, 0], rows_b[:, 0]])
    return "binary" if rows_a.shape[1] == 1 and set(values.tolist()) <= {0.0, 1.0} else "mean"


@lru_cache(maxsize=64)
def _warn(message: str) -> None:
    print(f"evalkit: warning: {message}", file=sys.stderr)


def paired_outcome(
    rows_a: Rows,
    rows_b: Rows,
    statistic: Statistic,
    *,
    corpus: bool,
    policy: SignificancePolicy,
    family_size: int,
    seed: int,
    ci_resamples: int,
    null_delta: float = 0.0,
    resampled: tuple[Resampled, Resampled] | None = None,
) -> PairedOutcome:
    """The policy's paired test of `rows_b` against `rows_a` (n x k rows, same samples in order).

    `null_delta` (the gate's allowed drop, signed as b - a) moves the tested null away from 0;
    McNemar and approximate randomization only test 0, so a 0/1 metric tested against another
    value gets the paired t-test (a Wald test of the paired proportions) instead, and `ar` raises
    ValueError. `resampled`: each system's bootstrap statistics from a cache (see
    `evalkit.stats.significance.paired_bootstrap`); the outcome is the same without it.
    """
    kind = metric_kind(rows_a, rows_b, corpus=corpus)
    if kind == "corpus":
        return _resampled(
            rows_a, rows_b, statistic, policy, family_size, seed, null_delta, resampled
        )
    boot = paired_bootstrap(
        rows_a, rows_b, statistic, seed=seed, n_resamples=ci_resamples, resampled=resampled
    )
    if kind == "binary" and null_delta == 0.0:
        test, p = "mcnemar", mcnemar(rows_a[:, 0] == 1, rows_b[:, 0] == 1).p_value
    else:
        test, p = "paired_t", paired_t(rows_a[:, 0], rows_b[:, 0], null_delta=null_delta)
    return PairedOutcome(
        test, boot.value_a, boot.value_b, boot.delta, _num(boot.ci_low), _num(boot.ci_high), p,
        boot.n, boot.effect_size, None if kind == "binary" else boot.p_moses, None,
    )  # fmt: skip


def _resampled(
    rows_a: Rows,
    rows_b: Rows,
    statistic: Statistic,
    policy: SignificancePolicy,
    family_size: int,
    seed: int,
    null_delta: float,
    resampled: tuple[Resampled, Resampled] | None,
) -> PairedOutcome:
    b = policy.resamples(family_size)
    if not policy.reachable(family_size, b):
        _warn(
            f"{family_size} comparisons per {policy.family} need more than {policy.max_resamples} "
            f"resamples for a corpus metric's p-value to survive Holm at {policy.alpha}; "
            "compare fewer models at once"
        )
    boot = paired_bootstrap(
        rows_a, rows_b, statistic, seed=seed, n_resamples=b, null_delta=null_delta,
        resampled=resampled,
    )  # fmt: skip
    used: int | None = b
    test, p = "bootstrap", boot.p_value
    if len(rows_a) <= EXACT_MAX_N:
        if null_delta != 0.0:
            test, p, used = f"none (n<={EXACT_MAX_N})", 1.0, None
        else:
            test, p = "exact_ar", exact_randomization(rows_a, rows_b, statistic).p_value
            used = 2 ** len(rows_a)
    elif policy.resampling_test == "ar":
        if null_delta != 0.0:
            raise ValueError("approximate randomization only tests a zero difference")
        test, p = (
            "ar",
            approximate_randomization(rows_a, rows_b, statistic, seed=seed, n_trials=b).p_value,
        )
    return PairedOutcome(
        test, boot.value_a, boot.value_b, boot.delta, _num(boot.ci_low), _num(boot.ci_high), p,
        boot.n, boot.effect_size, boot.p_moses, used,
    )  # fmt: skip


def _num(value: float | None) -> float:
    return math.nan if value is None else value


def holm_by_family(p_values: Sequence[float], families: Sequence[Hashable]) -> list[float]:
    """Holm-adjusted p-values, each family (e.g. a task x metric) on its own; in input order."""
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, family in enumerate(families):
        members[family].append(i)
    adjusted = [math.nan] * len(p_values)
    for indices in members.values():
        for i, p in zip(indices, holm([p_values[i] for i in indices]), strict=True):
            adjusted[i] = p
    return adjusted
