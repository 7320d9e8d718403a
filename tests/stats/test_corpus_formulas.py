"""The lean corpus formulas equal sacrebleu's `_compute_score_from_stats` to the last bit, on
random and edge-case statistics, for every smoothing method and option that changes the value."""

from __future__ import annotations

import pickle
import random
from typing import Any

import numpy as np
import pytest
from sacrebleu.metrics import BLEU, CHRF, TER
from sacrebleu.metrics.base import Metric

from evalkit.stats.corpus_formulas import (
    BleuFromStats,
    ChrfFromStats,
    SacrebleuScore,
    ScoreFromStats,
    corpus_score_function,
    ter_from_stats,
)


def bleu_stats(rng: random.Random, order: int) -> list[float]:
    sys_len, ref_len = rng.choice([0, 1, 3, 10, 250]), rng.choice([0, 1, 4, 12, 260])
    totals = [max(0, sys_len - k) if rng.random() < 0.9 else 0 for k in range(order)]
    correct = [rng.randint(0, t) if rng.random() < 0.8 else 0 for t in totals]
    return [float(v) for v in [sys_len, ref_len, *correct, *totals]]


BLEU_OPTIONS = [
    {"smooth_method": m, "effective_order": e, "max_ngram_order": n}
    for m in ("none", "floor", "add-k", "exp")
    for e in (False, True)
    for n in (1, 2, 4, 5)
] + [
    {"smooth_method": "floor", "smooth_value": 0.3},
    {"smooth_method": "add-k", "smooth_value": 2},
]


@pytest.mark.parametrize("options", BLEU_OPTIONS, ids=str)
def test_bleu_equals_sacrebleu_bit_for_bit(options: dict) -> None:
    metric = BLEU(**options)
    lean = corpus_score_function(metric)
    assert isinstance(lean, BleuFromStats)  # the probes agreed: the lean formula is used
    rng = random.Random(hash(str(options)) % 1000)
    rows = [bleu_stats(rng, metric.max_ngram_order) for _ in range(400)]
    for stats in rows:
        assert lean(list(stats)) == metric._compute_score_from_stats(list(stats)).score, stats
    assert_many_equals_each(lean, rows)


def assert_many_equals_each(function: ScoreFromStats, rows: list[list[float]]) -> None:
    """`many` on all rows at once gives each row's scalar value, bit for bit."""
    many = function.many(np.array(rows, dtype=np.float64))
    each = np.array([function(list(row)) for row in rows])
    assert many.shape == (len(rows),) and many.dtype == np.float64
    assert np.array_equal(many, each), [
        (r, a, b) for r, a, b in zip(rows, many, each, strict=True) if a != b
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"char_order": c, "word_order": w, "beta": b, "eps_smoothing": e}
        for c, w in ((6, 0), (6, 2), (1, 1), (0, 2))
        for b in (1, 2, 3)
        for e in (False, True)
    ],
    ids=str,
)
def test_chrf_equals_sacrebleu_bit_for_bit(options: dict) -> None:
    metric = CHRF(**options)
    lean = corpus_score_function(metric)
    assert isinstance(lean, ChrfFromStats)
    rng = random.Random(7)
    rows = []
    for _ in range(400):
        stats = []
        for _ in range(metric.order):
            n_hyp, n_ref = rng.choice([0, 1, 5, 300]), rng.choice([0, 2, 7, 280])
            stats += [n_hyp, n_ref, rng.randint(0, min(n_hyp, n_ref))]
        floats = [float(v) for v in stats]
        assert lean(floats) == metric._compute_score_from_stats(floats).score, stats
        rows.append(floats)
    assert_many_equals_each(lean, rows)


def test_ter_equals_sacrebleu_bit_for_bit() -> None:
    metric = TER()
    assert corpus_score_function(metric) is ter_from_stats
    rng = random.Random(3)
    cases = [[0.0, 0.0], [4.0, 0.0], [0.0, 9.0]]
    cases += [[float(rng.randint(0, 500)), float(rng.randint(0, 400))] for _ in range(500)]
    for stats in cases:
        assert ter_from_stats(stats) == metric._compute_score_from_stats(stats).score
    assert_many_equals_each(ter_from_stats, cases)


def test_a_metric_with_its_own_formula_keeps_it() -> None:
    class HalfBLEU(BLEU):
        def _compute_score_from_stats(self, stats: list[float]) -> Any:
            score = super()._compute_score_from_stats(stats)
            score.score /= 2
            return score

    function = corpus_score_function(HalfBLEU())
    assert isinstance(function, SacrebleuScore)
    stats = [20.0, 25.0, 15.0, 8.0, 3.0, 1.0, 20.0, 19.0, 18.0, 17.0]
    assert function(stats) == BLEU()._compute_score_from_stats(stats).score / 2


def test_a_formula_that_disagrees_on_the_probes_is_not_used(monkeypatch) -> None:
    from evalkit.stats import corpus_formulas

    monkeypatch.setattr(corpus_formulas, "_LOG_OF_ZERO", -1.0)  # as if sacrebleu had changed
    assert isinstance(corpus_score_function(BLEU(smooth_method="none")), SacrebleuScore)


def test_the_functions_pickle_for_worker_processes() -> None:
    for metric in (BLEU(), CHRF(), TER()):
        function = corpus_score_function(metric)
        stats = [20.0, 25.0, 15.0, 8.0, 3.0, 1.0, 20.0, 19.0, 18.0, 17.0] * 2
        stats = stats[: _width(metric)]
        assert pickle.loads(pickle.dumps(function))(list(stats)) == function(list(stats))


def _width(metric: Metric) -> int:
    return 10 if isinstance(metric, BLEU) else 18 if isinstance(metric, CHRF) else 2


def test_the_fallback_scores_many_rows_too() -> None:
    class HalfTER(TER):
        def _compute_score_from_stats(self, stats: list[float]) -> Any:
            score = super()._compute_score_from_stats(stats)
            score.score /= 2
            return score

    function = corpus_score_function(HalfTER())
    assert isinstance(function, SacrebleuScore)
    assert_many_equals_each(function, [[3.0, 10.0], [0.0, 0.0], [5.0, 0.0]])
