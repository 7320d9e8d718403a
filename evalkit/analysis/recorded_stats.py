"""Win rates, Bradley-Terry ratings and judge figures from recorded judgments
(`evalkit judgments stats`), with no model called.

Per model against the baseline: the win rate (mean preference in [0, 1]; AlpacaEval's `win_rate`
/ 100), its standard error (sample SD / sqrt(n); AlpacaEval's `standard_error` / 100) and seeded
bootstrap CI, the discrete win rate ((wins + ties / 2) / n, a win being a preference above 0.5;
AlpacaEval's `discrete_win_rate` / 100), wins / ties / losses, and a length-controlled win rate:
`lc=evalkit` is evalkit's simple logistic fit (`evalkit.stats.pairwise_stats`), `lc=alpaca_eval` is
AlpacaEval 2.0's GLM (`evalkit.stats.alpaca_eval_lc`, needs `difficulty=`). Verdicts without a value
(parse failures, nulls) are left out and counted. Arena-Hard's strong verdicts count 3 times.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from evalkit.errors import UserError
from evalkit.judges.recorded_judgments import RecordedJudgments, RecordedPair, RecordedScore
from evalkit.stats.agreement import cohen_kappa
from evalkit.stats.bootstrap import mean_ci
from evalkit.stats.pairwise_stats import (
    Comparison,
    bradley_terry,
    length_controlled_win_rate,
    standard_error,
    win_rate,
)
from evalkit.types import JSONValue

LC = Literal["none", "evalkit", "alpaca_eval"]


def _num(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def default_baseline(pairs: Sequence[RecordedPair]) -> str:
    """The model in the most pairs (AlpacaEval's generator_1, a pairwise-baseline run's
    baseline); the first one seen on a tie."""
    counts = Counter(m for p in pairs for m in (p.second, p.first))
    return counts.most_common(1)[0][0]


def _oriented(pair: RecordedPair, model: str) -> tuple[float | None, tuple[int, int] | None]:
    """The pair's outcome and lengths from `model`'s side."""
    if pair.first == model:
        return pair.outcome, pair.lengths
    lengths = (pair.lengths[1], pair.lengths[0]) if pair.lengths else None
    return (None if pair.outcome is None else 1 - pair.outcome), lengths


def summarize_recorded(
    recorded: RecordedJudgments,
    *,
    baseline: str | None = None,
    lc: LC = "evalkit",
    difficulty: Path | None = None,
    gamed: Path | None = None,
    seed: int = 1234,
) -> dict[str, JSONValue]:
    out: dict[str, JSONValue] = {
        "source": recorded.source, "format": recorded.format, "judges": list(recorded.judges),
    }  # fmt: skip
    if recorded.pairs:
        base = baseline or default_baseline(recorded.pairs)
        models = list(dict.fromkeys(m for p in recorded.pairs for m in (p.first, p.second)))
        if base not in models:
            raise UserError(f"baseline '{base}' is in no recorded pair (models: {models})")
        out["baseline"] = base
        out["win_rates"] = [
            _model_row(recorded.pairs, model, base, lc, difficulty, gamed, seed)
            for model in models
            if model != base
        ]
        out["bradley_terry"] = _ratings(recorded.pairs, seed)
        out["judge_report"] = _pair_report(recorded.pairs)
    if recorded.scores:
        out["scores"] = _score_rows(recorded.scores, seed)
    return out


def _model_row(
    pairs: Sequence[RecordedPair],
    model: str,
    base: str,
    lc: LC,
    difficulty: Path | None,
    gamed: Path | None,
    seed: int,
) -> dict[str, JSONValue]:
    mine = [p for p in pairs if {p.first, p.second} == {model, base}]
    oriented = [_oriented(p, model) for p in mine]
    outcomes = [
        o
        for p, (o, _) in zip(mine, oriented, strict=True)
        if o is not None
        for _ in range(p.weight)
    ]
    if not outcomes:
        return {"model": model, "n": 0, "n_missing": len(mine), "win_rate": None}
    value, low, high = win_rate(outcomes, seed)
    wins = sum(o > 0.5 for o in outcomes)
    ties = sum(o == 0.5 for o in outcomes)
    row: dict[str, JSONValue] = {
        "model": model,
        "n": len(outcomes),
        "n_missing": sum(o is None for o, _ in oriented),
        "win_rate": value,
        "standard_error": _num(standard_error(outcomes)),
        "ci_low": low,
        "ci_high": high,
        "discrete_win_rate": (wins + ties / 2) / len(outcomes),
        "wins": wins,
        "ties": ties,
        "losses": len(outcomes) - wins - ties,
    }
    with_len = [(o, ln) for o, ln in oriented if o is not None and ln is not None]
    if lc == "evalkit" and len(with_len) > 2:
        diffs = [float(a - b) for _, (a, b) in with_len]
        lc_value, slope = length_controlled_win_rate(
            [o for o, _ in with_len], diffs, float(np.std(diffs))
        )
        row["lc_win_rate"], row["length_coefficient"] = lc_value, slope
    elif lc == "alpaca_eval":
        row.update(_alpaca_lc(mine, model, difficulty, gamed))
    return row


def _alpaca_lc(
    mine: Sequence[RecordedPair], model: str, difficulty: Path | None, gamed: Path | None
) -> dict[str, JSONValue]:
    from evalkit.stats.alpaca_eval_lc import alpaca_eval_lc, read_difficulty, read_gamed

    if difficulty is None:
        raise UserError("lc=alpaca_eval needs difficulty=FILE (instruction index, difficulty)")
    by_index = read_difficulty(difficulty)
    rows = [_oriented(p, model) for p in mine]
    if any(p.position is None for p in mine) or any(ln is None for _, ln in rows):
        raise UserError("lc=alpaca_eval needs AlpacaEval annotations (instruction index, lengths)")
    missing = sorted({p.position for p in mine} - by_index.keys(), key=lambda i: i or 0)
    if missing:
        raise UserError(f"{difficulty}: no difficulty for instruction index {missing[0]}")
    fit = alpaca_eval_lc(
        [o for o, _ in rows],
        [ln[0] for _, ln in rows if ln is not None],
        [ln[1] for _, ln in rows if ln is not None],
        [by_index[p.position] for p in mine if p.position is not None],
        read_gamed(gamed) if gamed is not None else None,
    )
    return {
        "alpaca_eval_lc_win_rate": fit.win_rate,
        "alpaca_eval_lc_standard_error": fit.standard_error,
        "alpaca_eval_lc_regularized": gamed is not None,
        "alpaca_eval_lc_coefficients": {
            "length": fit.length_coefficient, "difficulty": fit.difficulty_coefficient,
            "bias": fit.bias, "C": fit.c,
        },
    }  # fmt: skip


def _ratings(pairs: Sequence[RecordedPair], seed: int) -> list[JSONValue]:
    comparisons = [
        Comparison(p.item, p.first, p.second, p.outcome, 0.0)
        for p in pairs
        if p.outcome is not None
        for _ in range(p.weight)
    ]
    models = list(dict.fromkeys(m for c in comparisons for m in (c.first, c.second)))
    if len(models) < 2:
        return []
    ratings = bradley_terry(comparisons, models, seed=seed)
    return [
        r.as_json()
        for r in sorted(ratings, key=lambda r: -r.rating)
    ]  # fmt: skip


def _pair_report(pairs: Sequence[RecordedPair]) -> dict[str, JSONValue]:
    read = [p for p in pairs if p.outcome is not None]
    both = [p for p in pairs if p.consistent is not None]
    longer = [
        (p.outcome > 0.5) == (p.lengths[0] > p.lengths[1])
        for p in read
        if p.outcome is not None and p.outcome != 0.5 and p.lengths and p.lengths[0] != p.lengths[1]
    ]
    return {
        "judgments": len(pairs),
        "no_verdict_rate": (len(pairs) - len(read)) / len(pairs) if pairs else None,
        "tie_rate": sum(p.outcome == 0.5 for p in read) / len(read) if read else None,
        "swap_consistency": sum(bool(p.consistent) for p in both) / len(both) if both else None,
        "longer_answer_win_rate": sum(longer) / len(longer) if longer else None,
        **_human_agreement([p for p in pairs if p.human is not None]),
    }


def _verdict(outcome: float | None) -> str:
    if outcome is None:
        return "none"
    return "first" if outcome > 0.5 else "second" if outcome < 0.5 else "tie"


def _human_agreement(pairs: Sequence[RecordedPair]) -> dict[str, JSONValue]:
    """The judge against the people's (or gold) labels the judgments carry: the share of
    judgments whose verdict is the people's (no verdict counts as a miss), per order shown when
    the file says, both orders right (an as-listed verdict that is right and consistent), and
    Cohen's kappa (`human_kappa_per_order`: per order, then averaged; without orders
    `human_kappa` over the judgments). On an LLMBar result file these are its
    statistics.json `correct_average`, `correct_False`, `correct_True` and `correct_both`."""
    if not pairs:
        return {}

    def agreement(chosen: Sequence[RecordedPair]) -> float:
        return sum(_verdict(p.outcome) == _verdict(p.human) for p in chosen) / len(chosen)

    def kappa(chosen: Sequence[RecordedPair]) -> float | None:
        value = cohen_kappa(
            [_verdict(p.outcome) for p in chosen], [_verdict(p.human) for p in chosen]
        )
        return _num(value)

    out: dict[str, JSONValue] = {"human_n": len(pairs), "human_agreement": agreement(pairs)}
    orders = [[p for p in pairs if p.swapped is s] for s in (False, True)]
    if all(orders):
        listed, swapped = orders
        out["human_agreement_as_listed"] = agreement(listed)
        out["human_agreement_swapped"] = agreement(swapped)
        right_both = [
            _verdict(p.outcome) == _verdict(p.human) and p.consistent is True for p in listed
        ]
        out["human_agreement_both_orders"] = sum(right_both) / len(listed)
        kappas = [kappa(listed), kappa(swapped)]  # not `evalkit judge`'s human_kappa (pairs)
        out["human_kappa_per_order"] = None if None in kappas else sum(k or 0.0 for k in kappas) / 2
    else:
        out["human_kappa"] = kappa(pairs)
    return out


def _score_rows(scores: Sequence[RecordedScore], seed: int) -> list[JSONValue]:
    by_model: dict[str, list[float | None]] = defaultdict(list)
    for s in scores:
        by_model[s.model].append(s.score)
    rows: list[JSONValue] = []
    for model, values in by_model.items():
        ok = np.array([v for v in values if v is not None], np.float64)
        row: dict[str, JSONValue] = {
            "model": model, "n": int(ok.size), "n_failed": len(values) - int(ok.size),
        }  # fmt: skip
        if ok.size:
            mean, low, high = mean_ci(ok, seed)
            se = _num(standard_error(ok.tolist()))
            row.update(mean=mean, ci_low=low, ci_high=high, standard_error=se)
        rows.append(row)
    return rows
