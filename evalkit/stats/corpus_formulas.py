"""sacrebleu's corpus scores from summed sufficient statistics, without sacrebleu's per-call cost.

A paired bootstrap recomputes a corpus metric once per resample and system: a report comparing 16
WMT systems with every baseline calls BLEU's formula about 100,000 times, and sacrebleu builds a
score object with its lists and formatting state each time (~70 us). `corpus_score_function`
returns a plain function doing the very arithmetic of sacrebleu 2.x's `_compute_score_from_stats`
(`BLEU.compute_bleu` with its smoothing methods and effective order, `CHRF._compute_f_score`,
`TER._compute_score_from_stats`): the same operations on the same Python floats in the same order,
with the same `math.log` / `math.exp`, so the value is identical to the last bit (tested against
sacrebleu on random and edge-case statistics). Each lean function is checked against sacrebleu's
method on a set of probe statistics when it is made; a metric configuration it does not model, or
a sacrebleu release whose formula changed, gets sacrebleu's own method.

`many(sums)` scores every row of an (m, k) array of summed statistics at once (the bootstrap's
resamples): numpy does the +, -, *, / in the scalar code's order (IEEE-754 rounds each the same
way), and logarithms and exponentials go through `math` element by element, so each value is the
one the scalar function gives, bit for bit (tested).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import numpy as np
from numpy.typing import NDArray
from sacrebleu.metrics.base import Metric
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF
from sacrebleu.metrics.ter import TER


class ScoreFromStats(Protocol):
    """Summed statistics (sacrebleu's layout for the metric) -> the corpus score; `many` for the
    rows of an (m, k) array at once."""

    def __call__(self, stats: list[float]) -> float: ...

    def many(self, sums: NDArray[np.float64]) -> NDArray[np.float64]: ...


_LOG_OF_ZERO = -9999999999  # sacrebleu's `my_log(0.0)`


def _floored_log(value: float) -> float:
    return _LOG_OF_ZERO if value == 0.0 else math.log(value)


def _elementwise(
    function: Callable[[float], float], values: NDArray[np.float64]
) -> NDArray[np.float64]:
    """`function` (a `math` one, for its exact bits) on every element. `map` over a list calls
    a C function without a Python frame per element (3-4x a comprehension)."""
    flat = np.fromiter(map(function, values.ravel().tolist()), np.float64, count=values.size)
    return flat.reshape(values.shape)


def _floored_logs(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """`_floored_log` of every element: `math.log` where non-zero, sacrebleu's floor at 0."""
    out = np.full(values.shape, float(_LOG_OF_ZERO))
    nonzero = values != 0.0
    out[nonzero] = _elementwise(math.log, values[nonzero])
    return out


class BleuFromStats:
    """BLEU from [sys_len, ref_len, correct_1..N, total_1..N], as `BLEU.compute_bleu`."""

    def __init__(
        self, max_order: int, smooth_method: str, smooth_value: float | None, effective_order: bool
    ) -> None:
        self.max_order = max_order
        self.smooth_method = smooth_method
        value = BLEU.SMOOTH_DEFAULTS[smooth_method] if smooth_value is None else smooth_value
        self.smooth_value = 0.0 if value is None else float(value)  # none/exp never read it
        self.effective_order = effective_order

    def __call__(self, stats: list[float]) -> float:
        max_order, smooth_method, smooth_value = (
            self.max_order,
            self.smooth_method,
            self.smooth_value,
        )
        correct = stats[2 : 2 + max_order]
        total = stats[2 + max_order :]
        sys_len, ref_len = int(stats[0]), int(stats[1])
        bp = 1.0
        if sys_len < ref_len:
            bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
        if not any(correct):
            return 0.0
        precisions = [0.0] * max_order
        smooth_mteval = 1.0
        eff_order = max_order
        for n in range(1, max_order + 1):
            if smooth_method == "add-k" and n > 1:
                correct[n - 1] += smooth_value
                total[n - 1] += smooth_value
            if total[n - 1] == 0:
                break
            if self.effective_order:
                eff_order = n
            if correct[n - 1] == 0:
                if smooth_method == "exp":
                    smooth_mteval *= 2
                    precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
                elif smooth_method == "floor":
                    precisions[n - 1] = 100.0 * smooth_value / total[n - 1]
            else:
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
        return bp * math.exp(sum([_floored_log(p) for p in precisions[:eff_order]]) / eff_order)

    def many(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        """`self(row)` for every row of `sums` (m, 2 + 2N), shape (m,)."""
        max_order, method, smooth = self.max_order, self.smooth_method, self.smooth_value
        sys_len, ref_len = np.trunc(sums[:, 0]), np.trunc(sums[:, 1])
        correct = sums[:, 2 : 2 + max_order].copy()
        total = sums[:, 2 + max_order : 2 + 2 * max_order].copy()
        short = sys_len < ref_len
        bp = np.ones(len(sums))
        with np.errstate(divide="ignore", invalid="ignore"):
            exponent = 1 - ref_len / sys_len
        grow = short & (sys_len > 0)
        bp[grow] = _elementwise(math.exp, exponent[grow])
        bp[short & (sys_len <= 0)] = 0.0
        matched = (correct != 0).any(axis=1)
        precisions = np.zeros_like(correct)
        smooth_mteval = np.ones(len(sums))
        eff_order = np.full(len(sums), max_order)
        going = np.ones(len(sums), dtype=bool)  # not yet at the first order without n-grams
        with np.errstate(divide="ignore", invalid="ignore"):
            for n in range(1, max_order + 1):
                c, t = correct[:, n - 1], total[:, n - 1]
                if method == "add-k" and n > 1:
                    c += smooth
                    t += smooth
                going &= t != 0
                if self.effective_order:
                    eff_order[going] = n
                zero = going & (c == 0)
                if method == "exp":
                    smooth_mteval[zero] *= 2
                    precisions[zero, n - 1] = 100.0 / (smooth_mteval[zero] * t[zero])
                elif method == "floor":
                    precisions[zero, n - 1] = 100.0 * smooth / t[zero]
                some = going & (c != 0)
                precisions[some, n - 1] = 100.0 * c[some] / t[some]
        logs = _floored_logs(precisions)
        summed = np.zeros(len(sums))
        for n in range(max_order):  # left to right, as Python's sum over the list
            summed = np.where(n < eff_order, summed + logs[:, n], summed)
        scores = bp * _elementwise(math.exp, summed / eff_order)
        return np.where(matched, scores, 0.0)


class ChrfFromStats:
    """chrF from [n_hyp, n_ref, n_match] per character then word order, as
    `CHRF._compute_f_score`."""

    def __init__(self, order: int, beta: float, eps_smoothing: bool) -> None:
        self.order = order
        self.factor = beta**2
        self.eps_smoothing = eps_smoothing

    def __call__(self, stats: list[float]) -> float:
        factor = self.factor
        eps = 1e-16
        total = 0.0
        effective_order = 0
        avg_prec, avg_rec = 0.0, 0.0
        for i in range(self.order):
            n_hyp, n_ref, n_match = stats[3 * i : 3 * i + 3]
            prec = n_match / n_hyp if n_hyp > 0 else eps
            rec = n_match / n_ref if n_ref > 0 else eps
            denom = factor * prec + rec
            total += ((1 + factor) * prec * rec / denom) if denom > 0 else eps
            if n_hyp > 0 and n_ref > 0:
                avg_prec += prec
                avg_rec += rec
                effective_order += 1
        if self.eps_smoothing:
            return 100 * total / self.order
        if effective_order == 0:
            avg_prec = avg_rec = 0.0
        else:
            avg_prec /= effective_order
            avg_rec /= effective_order
        if avg_prec + avg_rec:
            f = (1 + factor) * avg_prec * avg_rec
            f /= (factor * avg_prec) + avg_rec
            return 100 * f
        return 0.0

    def many(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        """`self(row)` for every row of `sums` (m, 3 * order), shape (m,)."""
        factor, eps = self.factor, 1e-16
        m = len(sums)
        total = np.zeros(m)
        effective_order = np.zeros(m, dtype=np.int64)
        avg_prec, avg_rec = np.zeros(m), np.zeros(m)
        with np.errstate(divide="ignore", invalid="ignore"):
            for i in range(self.order):
                n_hyp, n_ref, n_match = sums[:, 3 * i], sums[:, 3 * i + 1], sums[:, 3 * i + 2]
                prec = np.where(n_hyp > 0, n_match / n_hyp, eps)
                rec = np.where(n_ref > 0, n_match / n_ref, eps)
                denom = factor * prec + rec
                total = total + np.where(denom > 0, (1 + factor) * prec * rec / denom, eps)
                both = (n_hyp > 0) & (n_ref > 0)
                avg_prec = np.where(both, avg_prec + prec, avg_prec)
                avg_rec = np.where(both, avg_rec + rec, avg_rec)
                effective_order += both
            if self.eps_smoothing:
                return np.asarray(100 * total / self.order, dtype=np.float64)
            some = effective_order > 0
            avg_prec = np.where(some, avg_prec / effective_order, 0.0)
            avg_rec = np.where(some, avg_rec / effective_order, 0.0)
            f = (1 + factor) * avg_prec * avg_rec
            f = f / ((factor * avg_prec) + avg_rec)
            return np.where(avg_prec + avg_rec != 0, 100 * f, 0.0)


class TerFromStats:
    """TER from [total_edits, summed reference lengths], as `TER._compute_score_from_stats`."""

    def __call__(self, stats: list[float]) -> float:
        edits, ref_length = stats[0], stats[1]
        if ref_length > 0:
            rate = edits / ref_length
        elif edits > 0:
            rate = 1.0
        else:
            rate = 0.0
        return 100 * rate

    def many(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        """`self(row)` for every row of `sums` (m, 2), shape (m,)."""
        edits, ref_length = sums[:, 0], sums[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(ref_length > 0, edits / ref_length, np.where(edits > 0, 1.0, 0.0))
        return np.asarray(100 * rate, dtype=np.float64)


ter_from_stats = TerFromStats()


class SacrebleuScore:
    """`metric._compute_score_from_stats(stats).score` itself (the fallback)."""

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def __call__(self, stats: list[float]) -> float:
        return float(self.metric._compute_score_from_stats(list(stats)).score)

    def many(self, sums: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array([self(row) for row in sums.tolist()], dtype=np.float64)


def corpus_score_function(metric: Metric) -> ScoreFromStats:
    """The lean equivalent of `metric._compute_score_from_stats(stats).score` for sacrebleu's
    BLEU, CHRF and TER (subclasses included when they keep those formulas), else that method.
    The result is a picklable callable taking a list of floats."""
    reference = SacrebleuScore(metric)
    lean = _lean_function(metric)
    if lean is None or not all(lean(list(p)) == reference(p) for p in _probes(metric)):
        return reference
    return lean


def _lean_function(metric: Metric) -> ScoreFromStats | None:
    kind = type(metric)
    if isinstance(metric, BLEU):
        if (kind._compute_score_from_stats, getattr(kind, "compute_bleu", None)) == (
            BLEU._compute_score_from_stats,
            BLEU.compute_bleu,
        ):
            return BleuFromStats(
                metric.max_ngram_order,
                metric.smooth_method,
                metric.smooth_value,
                metric.effective_order,
            )
    elif isinstance(metric, CHRF):
        if (kind._compute_score_from_stats, getattr(kind, "_compute_f_score", None)) == (
            CHRF._compute_score_from_stats,
            CHRF._compute_f_score,
        ):
            return ChrfFromStats(metric.order, float(metric.beta), bool(metric.eps_smoothing))
    elif (
        isinstance(metric, TER) and kind._compute_score_from_stats is TER._compute_score_from_stats
    ):
        return ter_from_stats
    return None


def _probes(metric: Metric) -> list[list[float]]:
    """Statistics that take every branch of the formula: zeros, partial matches, short and long
    systems (floats, as summed per-sample statistics are)."""
    if isinstance(metric, BLEU):
        n = metric.max_ngram_order

        def row(sys_len: int, ref_len: int, first_correct: int, step: int) -> list[int]:
            correct = [max(0, first_correct - step * k) for k in range(n)]
            return [sys_len, ref_len, *correct, *(max(0, sys_len - k) for k in range(n))]

        rows = [row(20, 25, 15, 6), row(30, 25, 30, 12), row(3, 9, 1, 1), row(0, 4, 0, 0)]
        rows.append(row(7, 7, 7, 1))
    elif isinstance(metric, CHRF):
        cells = [[40, 50, 30], [0, 10, 0], [12, 0, 0], [9, 9, 9], [0, 0, 0], [33, 31, 17]]
        rows = [
            [v for k in range(metric.order) for v in cells[(k + shift) % len(cells)]]
            for shift in range(len(cells))
        ]
    else:
        rows = [[3, 10], [0, 0], [5, 0], [17, 13]]
    return [[float(v) for v in row] for row in rows]
