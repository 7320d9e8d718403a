"""Statistics of pairwise judgments: win rates, Bradley-Terry ratings, length-controlled win rate.

An outcome is the first model's result against the second on one sample: 1 win, 0.5 tie, 0 loss,
or any preference in between (a probability-weighted verdict, AlpacaEval's `preference - 1`).
- Win rate: the mean outcome, with a bootstrap CI over samples and the standard error of the mean
  (sample standard deviation / sqrt(n), AlpacaEval's `standard_error`).
- Bradley-Terry: maximum-likelihood strengths, ties counted as half a win each way (fitted by
  `choix`'s ILSR when every outcome is 0, 0.5 or 1; with fractional preferences, by minimising the
  cross-entropy of the outcome under P(i beats j) = sigmoid(s_i - s_j) with scipy); shown on the
  Elo scale (1000 + 400 log10(e) x strength, centred on the mean), with percentile CIs from refits
  on samples drawn with replacement. With fewer than two distinct samples, or when no refit moves
  a model's rating (every resample the same data), there is nothing to resample: the CI is
  unavailable (NaN, "n/a" in tables, null in JSON, with `ci_note` saying why), never zero-width.
- evalkit's simple length-controlled win rate (`lc_win_rate`): a logistic model of the outcome on
  an intercept and tanh(length difference / its standard deviation); the value is the predicted
  win rate at zero length difference. It is NOT AlpacaEval 2's LC win rate, which adds an
  instruction-difficulty term, a regularisation towards gamed baselines and a cross-validated L1
  fit: that one is `evalkit.stats.alpaca_eval_lc`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from evalkit.stats.bootstrap import mean_ci

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
    """A Bradley-Terry rating on the Elo scale; ci_low/ci_high NaN when unavailable (`ci_note`)."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    ci_note: str | None = None

    def as_json(self) -> dict[str, str | float | None]:
        """Rounded to 0.1; an unavailable CI bound is None (JSON null), not NaN."""

        def bound(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 1)

        out: dict[str, str | float | None] = {
            "model": self.model, "rating": round(self.rating, 1),
            "ci_low": bound(self.ci_low), "ci_high": bound(self.ci_high),
        }  # fmt: skip
        if self.ci_note:
            out["ci_note"] = self.ci_note
        return out


def ci_text(low: float | None, high: float | None) -> str:
    """The CI as `[low, high]` to 0.1, or `n/a` when it is unavailable (None or NaN)."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "n/a"
    return f"[{low:.1f}, {high:.1f}]"


def win_rate(outcomes: Sequence[float], seed: int) -> tuple[float, float, float]:
    """(mean outcome, 2.5% and 97.5% bootstrap percentiles), all in [0, 1]."""
    return mean_ci(np.asarray(outcomes, dtype=np.float64), seed)


def standard_error(outcomes: Sequence[float]) -> float:
    """Standard error of the mean outcome: sample standard deviation (ddof 1) / sqrt(n), in the
    outcome's units; NaN for fewer than two outcomes. AlpacaEval's `standard_error` is this x 100
    (pandas `Series.sem`)."""
    values = np.asarray(outcomes, dtype=np.float64)
    if values.size < 2:
        return math.nan
    return float(values.std(ddof=1) / math.sqrt(values.size))


def is_discrete(comparisons: Sequence[Comparison]) -> bool:
    return all(c.outcome in (0.0, 0.5, 1.0) for c in comparisons)


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
    """Log-strengths (mean zero). `alpha`: a small L2 term (choix's, or alpha/2 x |s|^2 in the
    continuous fit), so that a model that never lost still gets a finite strength."""
    index = {m: i for i, m in enumerate(models)}
    if not is_discrete(comparisons):
        return _continuous_strengths(comparisons, index, alpha)
    import choix

    strengths = choix.ilsr_pairwise(len(models), _bt_data(comparisons, index), alpha=alpha)
    return np.asarray(strengths - strengths.mean(), dtype=np.float64)


def _continuous_strengths(
    comparisons: Sequence[Comparison], index: dict[str, int], alpha: float
) -> np.ndarray:
    """Bradley-Terry with outcomes in [0, 1]: minimise sum(log(1 + e^d) - y d) + alpha/2 |s|^2,
    d = s_first - s_second (the cross-entropy of a fractional outcome), by Newton's method."""
    n = len(index)
    first = np.array([index[c.first] for c in comparisons])
    second = np.array([index[c.second] for c in comparisons])
    y = np.array([c.outcome for c in comparisons], dtype=np.float64)
    design = np.zeros((len(comparisons), n))
    design[np.arange(len(comparisons)), first] += 1.0
    design[np.arange(len(comparisons)), second] -= 1.0
    ridge = max(alpha, 1e-12) * np.eye(n)  # the strengths are defined up to a shift
    s = np.zeros(n)
    for _ in range(100):
        p = 1 / (1 + np.exp(-(design @ s)))
        grad = design.T @ (p - y) + alpha * s
        hessian = (design * (p * (1 - p))[:, None]).T @ design + ridge
        step = np.linalg.solve(hessian, grad)
        s -= step
        if float(np.max(np.abs(step))) < 1e-10:
            break
    return np.asarray(s - s.mean(), dtype=np.float64)


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
    elo = 1000 + ELO_SCALE * point
    if len(samples) < 2:
        note = f"no CI: {len(samples)} distinct sample(s), a bootstrap over samples needs 2+"
        return [Rating(m, elo[i], math.nan, math.nan, note) for i, m in enumerate(models)]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n_resamples):
        picked = rng.integers(0, len(samples), size=len(samples))
        resampled = [c for k in picked for c in by_sample[samples[k]]]
        draws.append(bradley_terry_strengths(resampled, models))
    low, high = 1000 + ELO_SCALE * np.quantile(np.array(draws), [0.025, 0.975], axis=0)
    ratings = []
    for i, m in enumerate(models):
        if high[i] - low[i] <= 1e-9 * max(1.0, abs(elo[i])):
            note = "no CI: the rating did not vary over the resamples (too few distinct samples)"
            ratings.append(Rating(m, elo[i], math.nan, math.nan, note))
        else:
            ratings.append(Rating(m, elo[i], float(low[i]), float(high[i])))
    return ratings


def length_controlled_win_rate(
    outcomes: Sequence[float], length_differences: Sequence[float], scale: float
) -> tuple[float, float]:
    """(evalkit's simple LC win rate, length coefficient): see the module docstring. `scale` is
    the standard deviation of length differences over the task."""
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
