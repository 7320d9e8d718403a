"""Honest validation: grouped k-fold cross-validation and agreement tables with bootstrap CIs.

Folds are drawn by group (source document, prompt), so no document is seen in training and then
scored in validation; every example gets one out-of-fold prediction. The same table is computed
for the baselines a user would otherwise reach for (ROUGE-L, embedding similarity, and a length-
only regression fitted in the same folds), so the student's figures have something to beat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evalkit.console.progress import ProgressReporter
from evalkit.distill.examples import Example
from evalkit.distill.students import Student
from evalkit.errors import UserError
from evalkit.stats.agreement import cohen_kappa
from evalkit.stats.metaeval import Judged, correlate

Table = dict[str, Any]


def grouped_folds(groups: Sequence[str], k: int, seed: int) -> np.ndarray:
    """The fold of each example: groups are shuffled by a seeded hash and dealt round-robin."""
    distinct = sorted(
        set(groups), key=lambda g: hashlib.blake2b(f"{seed}:{g}".encode()).hexdigest()
    )
    if len(distinct) < k:
        raise UserError(f"{k}-fold cross-validation needs at least {k} groups, got {len(distinct)}")
    fold_of = {g: i % k for i, g in enumerate(distinct)}
    return np.array([fold_of[g] for g in groups])


def out_of_fold(
    make_student: Callable[[], Student],
    examples: Sequence[Example],
    y: np.ndarray,
    m: np.ndarray,
    folds: np.ndarray,
    progress: bool,
) -> np.ndarray:
    """Each example's prediction by a student that never saw its group."""
    predictions = np.full(y.shape, np.nan, dtype=np.float64)
    k = int(folds.max()) + 1
    with ProgressReporter(k, enabled=progress, label="cross-validation", unit="folds") as bar:
        for fold in range(k):
            test, train = np.flatnonzero(folds == fold), np.flatnonzero(folds != fold)
            student = make_student()
            student.fit([examples[int(i)] for i in train], y[train], m[train])
            predictions[test] = student.predict([examples[int(i)] for i in test])
            bar.advance(1)
    return predictions


def length_baseline(
    examples: Sequence[Example], y: np.ndarray, m: np.ndarray, folds: np.ndarray
) -> np.ndarray:
    """Out-of-fold predictions of a quadratic regression on log word count, per dimension."""
    x = np.log1p([len(e.response.split()) for e in examples])
    design = np.column_stack([np.ones_like(x), x, x**2])
    out = np.full(y.shape, np.nan)
    for fold in range(int(folds.max()) + 1):
        test = folds == fold
        for j in range(y.shape[1]):
            train = (~test) & (m[:, j] > 0)
            if train.sum() >= 3:
                coef = np.linalg.lstsq(design[train], y[train, j], rcond=None)[0]
                out[test, j] = design[test] @ coef
    return out


def rouge_l(examples: Sequence[Example]) -> np.ndarray:
    """ROUGE-L F1 against the best reference (NaN without one): evalkit's `rouge` scorer, i.e.
    rouge-score with stemming and its tokens memoised (references are shared by many systems)."""
    from evalkit.scorers.rouge import Rouge
    from evalkit.stages.scoring import ScoringItem

    scorer = Rouge(types=("rougeL",))
    items = [ScoringItem(e.response, tuple(e.references)) for e in examples]
    return np.array(
        [row[0].value if row and row[0].status == "ok" else np.nan for row in scorer.score(items)]
    )


def correlations(
    predicted: np.ndarray, truth: np.ndarray, examples: Sequence[Example], seed: int, n: int
) -> Table:
    """Sample-level Pearson/Spearman/Kendall and, when groups hold several systems, the
    summary-level Spearman/Kendall (per group, then averaged: G-Eval's SummEval figure)."""
    keep = ~(np.isnan(predicted) | np.isnan(truth))
    items = [
        Judged(float(p), float(t), e.group, e.system or e.id)
        for p, t, e, k in zip(predicted, truth, examples, keep, strict=True)
        if k
    ]
    table: Table = {"n": len(items)}
    if len(items) < 3:
        return table
    for method in ("pearson", "spearman", "kendall"):
        table[f"sample_{method}"] = _figure(
            correlate(items, "sample", method, seed=seed, n_resamples=n)
        )
    sizes = np.unique([i.group for i in items], return_counts=True)[1]
    if sizes.max() > 2:
        for method in ("spearman", "kendall"):
            table[f"summary_{method}"] = _figure(
                correlate(items, "summary", method, seed=seed, n_resamples=n)
            )
    return table


def _figure(c: Any) -> list[float | None]:
    return [_round(c.value), _round(c.ci_low), _round(c.ci_high)]


def _round(value: float | None) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 4)


def preference_agreement(predicted: np.ndarray, truth: np.ndarray, seed: int, n: int) -> Table:
    """Pairwise: accuracy and Cohen's kappa of the predicted winner on pairs with a winner."""
    decided = (~np.isnan(truth)) & (truth != 0.5)
    guess, label = predicted[decided] > 0.5, truth[decided] > 0.5
    if not len(label):
        return {"n": 0}
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(label), size=(n, len(label)))
    accuracy = (guess == label).astype(float)
    kappas = [cohen_kappa(list(guess[p]), list(label[p])) for p in picks]
    acc_ci = np.quantile(accuracy[picks].mean(axis=1), [0.025, 0.975])
    kappa_ci = np.nanquantile(kappas, [0.025, 0.975])
    return {
        "n": len(label),
        "accuracy": [_round(accuracy.mean()), _round(acc_ci[0]), _round(acc_ci[1])],
        "kappa": [
            _round(cohen_kappa(list(guess), list(label))),
            _round(kappa_ci[0]),
            _round(kappa_ci[1]),
        ],
    }


def calibration(predicted: np.ndarray, truth: np.ndarray, bins: int = 10) -> list[list[float]]:
    """[mean prediction, mean label, count] per quantile bin of the prediction."""
    keep = ~(np.isnan(predicted) | np.isnan(truth))
    p, t = predicted[keep], truth[keep]
    if len(p) < bins:
        return []
    order = np.argsort(p, kind="stable")
    return [
        [round(float(p[chunk].mean()), 4), round(float(t[chunk].mean()), 4), len(chunk)]
        for chunk in np.array_split(order, bins)
        if len(chunk)
    ]
