"""The numbers a judging leaves in run.json: judge-reliability panels (pointwise, panel agreement,
pairwise) and the pairwise win-rate tables.

Pointwise panels come from `evalkit.analysis.judge_reliability.pointwise_report` per task and
judge; a
panel of judges adds Krippendorff's alpha (interval) and Cohen's kappa per pair of judges. A
pairwise table has, per model against the baseline, the win rate with its standard error and
seeded bootstrap CI, evalkit's simple length-controlled win rate (`evalkit.stats.pairwise_stats`),
and
Bradley-Terry ratings over every model present; the pairwise panel has swap consistency, tie rate,
first-position preference, the longer answer's win rate, self-preference, usage, and agreement
with the human ratings the outputs carry.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalkit.analysis.judge_reliability import (
    _rounded,
    pointwise_report,
    self_preference,
    usage_figures,
)
from evalkit.judges.judge_protocols import winner_shown
from evalkit.judges.pairs import PairJudgment
from evalkit.judges.rubric import Rubric
from evalkit.stats.agreement import cohen_kappa
from evalkit.stats.pairwise_stats import (
    Comparison,
    bradley_terry,
    length_controlled_win_rate,
    standard_error,
    win_rate,
)
from evalkit.types import JSONValue, SampleRecord

if TYPE_CHECKING:
    from evalkit.scorers.judge import JudgeScorer


def pointwise_reports(
    rubric: Rubric,
    scorer: JudgeScorer,
    latest: Sequence[SampleRecord],
    tasks: Sequence[str],
    ratings: str | None = None,
) -> list[dict[str, JSONValue]]:
    human: dict[str, Any] = {}
    if ratings is not None:
        from evalkit.analysis.human_labels import studio_human

        human = studio_human(Path(ratings), rubric.name)
    reports = []
    judge_names = [str(s.get("name")) for s in scorer.specs]
    metrics = [scorer.metric] if len(judge_names) == 1 else list(scorer.metrics[1:])
    for task in tasks:
        for judge, metric in zip(judge_names, metrics, strict=True):
            pairs = [
                (r, s)
                for r in latest
                if r.task == task
                for s in r.scores
                if s.name == metric and s.status != "unscorable"
            ]
            if pairs:
                report = pointwise_report(
                    rubric.signature,
                    human.get("dimension", rubric.human),
                    judge,
                    metric,
                    pairs,
                    **{k: v for k, v in human.items() if k != "dimension"},
                )
                reports.append({"task": task, **report})
    if len(judge_names) > 1:
        reports += _panel_agreement(latest, tasks, metrics)
    return reports


def _panel_agreement(
    latest: Sequence[SampleRecord], tasks: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, JSONValue]]:
    from evalkit.stats.agreement import krippendorff_alpha

    out: list[dict[str, JSONValue]] = []
    for task in tasks:
        table: list[list[float | None]] = [[] for _ in metrics]
        for r in latest:
            if r.task != task:
                continue
            by_name = {s.name: s for s in r.scores}
            for row, metric in zip(table, metrics, strict=True):
                s = by_name.get(metric)
                row.append(s.value if s is not None and s.status == "ok" else None)
        kappas: dict[str, JSONValue] = {}
        for (i, a), (j, b) in itertools.combinations(enumerate(metrics), 2):
            both = [
                (x, y)
                for x, y in zip(table[i], table[j], strict=True)
                if x is not None and y is not None
            ]
            if both:
                kappas[f"{a} vs {b}"] = _rounded(
                    cohen_kappa([x for x, _ in both], [y for _, y in both])
                )
        out.append(
            {
                "task": task,
                "kind": "panel",
                "judges": list(metrics),
                "krippendorff_alpha_interval": _rounded(krippendorff_alpha(table)),
                "cohen_kappa": kappas,
            }
        )
    return out


def pairwise_summary(
    judged: Sequence[PairJudgment],
    models: Sequence[str],
    baseline: str,
    options: tuple[str, str, int],
) -> dict[str, JSONValue]:
    """The win-rate table of one task; `options`: (pairs, inconsistent, seed) as configured."""
    pairs, inconsistent, seed = options
    comparisons = [
        Comparison(j.sample, j.first, j.second, battle, j.lengths[0] - j.lengths[1])
        for j in judged
        if j.outcome is not None
        for battle in j.battles
    ]
    spread = float(np.std([c.length_difference for c in comparisons])) if comparisons else 1.0
    rows: list[JSONValue] = []
    for model in models:
        if model == baseline:
            continue
        mine = [c for c in comparisons if {c.first, c.second} == {model, baseline}]
        if not mine:
            continue
        outcomes = [c.outcome if c.first == model else 1 - c.outcome for c in mine]
        diffs = [c.length_difference if c.first == model else -c.length_difference for c in mine]
        value, low, high = win_rate(outcomes, seed)
        lc, slope = length_controlled_win_rate(outcomes, diffs, spread)
        rows.append(
            {
                "model": model,
                "n": len(mine),
                "win_rate": _rounded(value),
                "standard_error": _rounded(standard_error(outcomes)),
                "ci_low": _rounded(low),
                "ci_high": _rounded(high),
                "lc_win_rate": _rounded(lc),
                "length_coefficient": _rounded(slope),
                "wins": sum(o > 0.5 for o in outcomes),
                "ties": sum(o == 0.5 for o in outcomes),
                "losses": sum(o < 0.5 for o in outcomes),
            }
        )
    present = [m for m in models if any(m in (c.first, c.second) for c in comparisons)]
    ratings: list[JSONValue] = []
    if len(present) > 1:
        ratings = [
            r.as_json()
            for r in sorted(
                bradley_terry(comparisons, present, seed=seed), key=lambda r: -r.rating
            )
        ]  # fmt: skip
    table: dict[str, JSONValue] = {
        "baseline": baseline,
        "pairs": pairs,
        "inconsistent_as": inconsistent,
        "win_rates": rows,
        "bradley_terry": ratings,
    }
    return table


def pairwise_report(
    rubric: Rubric, judge: str, judged: Sequence[PairJudgment], models: Sequence[str]
) -> dict[str, JSONValue]:
    n = len(judged)
    both_read = [j for j in judged if j.consistent is not None]
    # the position each verdict favours (A / B / tie), five-point labels included
    verdicts = [winner_shown(v) for j in judged for v in j.verdicts if v is not None]
    decisive = [v for v in verdicts if v != "tie"]
    slots = [(v, r) for j in judged for v, r in zip(j.verdicts, j.reasons, strict=True)]
    asked = sum(v is not None or r is not None for v, r in slots)
    longer_won = [
        (j.label_outcome == 1.0) == (j.lengths[0] > j.lengths[1])
        for j in judged
        if j.consistent is not False
        and j.label_outcome in (0.0, 1.0)
        and j.lengths[0] != j.lengths[1]
    ]
    report: dict[str, JSONValue] = {
        "kind": "pairwise",
        "rubric": rubric.signature,
        "judge": judge,
        "pairs": n,
        "judgments": asked,
        "parse_failure_rate": _rounded(sum(r is not None for _, r in slots) / asked)
        if asked
        else None,
        "swap_consistency": _rounded(sum(bool(j.consistent) for j in both_read) / len(both_read))
        if both_read
        else None,
        "tie_rate": _rounded(sum(v == "tie" for v in verdicts) / len(verdicts))
        if verdicts
        else None,
        "first_position_preference": _rounded(sum(v == "A" for v in decisive) / len(decisive))
        if decisive
        else None,
        "longer_answer_win_rate": _rounded(sum(longer_won) / len(longer_won))
        if longer_won
        else None,
        "self_preference": self_preference(judge, models),
        **usage_figures([j.usage_details() for j in judged]),
    }

    def labels(outcome: float) -> str:
        return "first" if outcome > 0.5 else "second" if outcome < 0.5 else "tie"

    pairs = [
        (labels(j.outcome), labels(j.human))
        for j in judged
        if j.human is not None and j.outcome is not None
    ]
    if pairs:
        judge_labels = [judge for judge, _ in pairs]
        human_labels = [human for _, human in pairs]
        report["human_n"] = len(pairs)
        report["human_accuracy"] = _rounded(sum(a == b for a, b in pairs) / len(pairs))
        report["human_kappa"] = _rounded(cohen_kappa(judge_labels, human_labels))
    per_order = _human_accuracy_per_order(judged)
    if per_order is not None:
        report["human_accuracy_per_order"] = _rounded(per_order)
    return report


def _human_accuracy_per_order(judged: Sequence[PairJudgment]) -> float | None:
    """The share of single-order verdicts that pick the output people preferred, over every
    order the judge was asked for in pairs with a decisive human outcome; a verdict that could
    not be read counts as a miss. With both orders asked this is LLMBar's headline accuracy
    (Zeng et al. 2024: the mean of the two orders' accuracies); `human_accuracy` instead needs
    the pair's outcome, both orders together, to be right."""
    slots = [
        (v, wanted)
        for j in judged
        if j.human in (0.0, 1.0)
        # the first output shown as A, then as B: the position people's choice sits in
        for v, r, wanted in zip(
            j.verdicts, j.reasons, ("A", "B") if j.human == 1.0 else ("B", "A"), strict=True
        )
        if v is not None or r is not None
    ]
    if not slots:
        return None
    return sum(v is not None and winner_shown(v) == wanted for v, wanted in slots) / len(slots)
