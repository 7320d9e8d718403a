"""Statistics of pairwise judgments: win rates, Bradley-Terry ratings, length-controlled win rate.

An outcome is the first model's result against the second on one sample: 1 win, 0.5 tie, 0 loss.
- Win rate: the mean outcome, with a bootstrap CI over samples.
- Bradley-Terry: maximum-likelihood strengths fitted by `choix` (ILSR), ties counted as half a
  win each way; shown on the Elo scale (1000 + 400 log10(e) x strength, centred on the mean),
  with percentile CIs from refits on samples drawn with replacement.
- Length-controlled win rate (after AlpacaEval 2): a logistic model of the outcome on an intercept
  and tanh(length difference / its standard deviation); the LC win rate is the predicted win rate
  at zero length difference. AlpacaEval 2 adds an instruction-difficulty term estimated across
  many models; with the few models of one run, that term is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from evalkit.bootstrap import mean_ci

ELO_SCALE = 400 / math.log(10)


@dataclass(frozen=True)
class Comparison:
    sample: str
    first: str
    second: str
    outcome: float  # the first model's: 1 win, 0.5 tie, 0 loss
    length_difference: float  # first's output length minus second's (words)


@dataclass(frozen=True)
class Rating:
    model: str
    rating: float
    ci_low: float
    ci_high: float


def win_rate(outcomes: Sequence[float], seed: int) -> tuple[float, float, float]:
    return mean_ci(np.asarray(outcomes, dtype=np.float64), seed)


def _bt_data(comparisons: Sequence[Comparison], index: dict[str, int]) -> list[tuple[int, int]]:
    data = []
    for c in comparisons:
        a, b = index[c.first], index[c.second]
        if c.outcome == 1.0:
            data += [(a, b), (a, b)]
        elif c.outcome == 0.0:
            data += [(b, a), (b, a)]
        else:
            data += [(a, b), (b, a)]
    return data


def bradley_terry_strengths(
    comparisons: Sequence[Comparison], models: Sequence[str], alpha: float = 1e-4
) -> np.ndarray:
    """Log-strengths (mean zero). `alpha`: choix's small L2 term, so that a model that never
    lost still gets a finite strength."""
    import choix

    index = {m: i for i, m in enumerate(models)}
    strengths = choix.ilsr_pairwise(len(models), _bt_data(comparisons, index), alpha=alpha)
    return np.asarray(strengths - strengths.mean(), dtype=np.float64)


def bradley_terry(
    comparisons: Sequence[Comparison],
    models: Sequence[str],
    *,
    seed: int,
    n_resamples: int = 200,
) -> list[Rating]:
    point = bradley_terry_strengths(comparisons, models)
    by_sample: dict[str, list[Comparison]] = {}
    for c in comparisons:
        by_sample.setdefault(c.sample, []).append(c)
    samples = list(by_sample)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_resamples):
        picked = rng.integers(0, len(samples), size=len(samples))
        resampled = [c for k in picked for c in by_sample[samples[k]]]
        draws.append(bradley_terry_strengths(resampled, models))
    low, high = np.quantile(np.array(draws), [0.025, 0.975], axis=0)
    return [
        Rating(
            m, 1000 + ELO_SCALE * point[i], 1000 + ELO_SCALE * low[i], 1000 + ELO_SCALE * high[i]
        )
        for i, m in enumerate(models)
    ]


def length_controlled_win_rate(
    outcomes: Sequence[float], length_differences: Sequence[float], scale: float
) -> tuple[float, float]:
    """(LC win rate, length coefficient): see the module docstring. `scale` is the standard
    deviation of length differences over the task (AlpacaEval normalises by it)."""
    y = np.asarray(outcomes, dtype=np.float64)
    x = np.tanh(np.asarray(length_differences, dtype=np.float64) / (scale or 1.0))

    def loss(params: np.ndarray) -> float:
        logits = params[0] + params[1] * x
        # y may be 0.5 (a tie): the cross-entropy then splits the sample between both outcomes
        return float(np.sum(np.logaddexp(0, logits) - y * logits))

    def grad(params: np.ndarray) -> np.ndarray:
        p = 1 / (1 + np.exp(-(params[0] + params[1] * x)))
        return np.array([np.sum(p - y), np.sum((p - y) * x)])

    fit = optimize.minimize(loss, np.zeros(2), jac=grad, method="BFGS")
    intercept, slope = fit.x
    return float(1 / (1 + math.exp(-intercept))), float(slope)
