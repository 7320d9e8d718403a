"""`evalkit judge RUN recorded=PATH recorded_format=...`: a pairwise judging of a run whose
verdicts come from a file (`evalkit.judges.recorded_judgments`) instead of a judge model, so
published or
past judgments give the run's win rates, Bradley-Terry ratings, `pairwise.jsonl` and reliability
panel (swap consistency where the file holds both orders, length bias, agreement with the human
ratings the outputs carry) without calling any model.

A recorded judgment joins a pair of the run when its item is the sample's id (or the sample's input
text, e.g. AlpacaEval's instruction, when no other sample of the task has that input) and its two
models are the pair's models. Arena-Hard's strong
verdicts count 3 times, as in `evalkit judgments stats`. Errors: `UserError` when nothing in the
file matches the run, or when the rubric is pointwise (recorded scores: `evalkit judgments stats`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from evalkit.errors import UserError
from evalkit.judges.pairs import PairJudgment, human_outcome
from evalkit.judges.recorded_judgments import RecordedPair, read_recorded
from evalkit.judges.rubric import Rubric
from evalkit.stages.scoring import sample_source
from evalkit.types import RunRecord, SampleRecord

if TYPE_CHECKING:
    from evalkit.judging.command import JudgeConfig, RunData

Key = tuple[str, frozenset[str]]
logger = logging.getLogger(__name__)


def judge_recorded(data: RunData, rubric: Rubric, cfg: JudgeConfig) -> RunRecord:
    from evalkit.judging.pairwise import finish_pairwise, pairwise_jobs

    if rubric.mode != "pairwise":
        raise UserError(
            "recorded= gives verdicts to a pairwise rubric (e.g. judge=pairwise_preference);"
            " for recorded pointwise scores use `evalkit judgments stats`"
        )
    files = [cfg.recorded] if isinstance(cfg.recorded, str) else list(cfg.recorded or [])
    paths = [Path(p) for p in files]
    recorded = read_recorded(
        paths, cfg.recorded_format, cfg.pairwise.baseline,
        baseline_option="pairwise.baseline=MODEL",
    )  # fmt: skip
    index: dict[Key, list[RecordedPair]] = defaultdict(list)
    for pair in recorded.pairs:
        index[(pair.item, frozenset((pair.first, pair.second)))].append(pair)
    results: dict[str, list[PairJudgment]] = {}
    ambiguous = 0
    for task, per_sample, _, _, jobs in pairwise_jobs(data, cfg):
        results[task] = []
        shared = Counter(sample_source(sample) for sample in data.samples[task].values())
        for sample_id, first, second in jobs:
            models = frozenset((first, second))
            text = sample_source(data.samples[task][sample_id])
            found = index.get((sample_id, models))
            if not found and shared[text] > 1:  # an input two samples share names neither
                ambiguous += (text, models) in index
            elif not found:
                found = index.get((text, models))
            if found:
                outputs = per_sample[sample_id]
                results[task].append(_judgment(found, sample_id, first, second, outputs))
    if ambiguous:
        logger.warning(
            "%d pairs of the run were not joined to recorded judgments: their input is shared by "
            "other samples of the task, and the file names no sample id (give items as ids)",
            ambiguous,
        )
    if not any(results.values()):
        raise UserError(
            f"{recorded.source}: no recorded judgment matches this run (items are matched to sample"
            " ids or input texts, and models by name)"
        )
    judge = "recorded:" + ("+".join(recorded.judges) or recorded.format)
    return finish_pairwise(data, rubric, cfg, judge, results)


def _judgment(
    found: Sequence[RecordedPair],
    sample_id: str,
    first: str,
    second: str,
    outputs: dict[str, SampleRecord],
) -> PairJudgment:
    battles = [
        p.outcome if p.first == first else 1.0 - p.outcome
        for p in found
        if p.outcome is not None
        for _ in range(p.weight)
    ]
    verdicts, reasons = _orders(found, first)
    if any(r is not None for r in reasons):  # an order's verdict unread: no outcome, as when a
        battles = []  # judge model's reply in one order cannot be parsed
    flags = {p.consistent for p in found}
    lengths = (
        len(outputs[first].generation.text.split()),
        len(outputs[second].generation.text.split()),
    )
    return PairJudgment(
        sample_id, first, second, verdicts, reasons,
        float(np.mean(battles)) if battles else None,
        flags.pop() if len(flags) == 1 else None, lengths, [],
        human_outcome(outputs[first], outputs[second]), battles,
    )  # fmt: skip


NO_VERDICT = "no verdict recorded"


def _orders(
    found: Sequence[RecordedPair], first: str
) -> tuple[tuple[str | None, str | None], tuple[str | None, str | None]]:
    """The verdict labels per order (`first` shown as A, then as B) when the file says which
    order each judgment was shown in (LLMBar's), one judgment per order and each a win, a tie
    or a loss: so the panel reads position bias, parse failures and the accuracy per order from
    them. An unparsed recorded winner is a parse failure. Otherwise no per-order verdicts."""
    shown = [p.swapped for p in found]
    if None in shown or len(set(shown)) != len(found):
        return (None, None), (None, None)
    if any(p.outcome not in (None, 0.0, 0.5, 1.0) for p in found):
        return (None, None), (None, None)
    verdicts: list[str | None] = [None, None]
    reasons: list[str | None] = [None, None]
    for p in found:
        shown_a = p.second if p.swapped else p.first
        slot = 0 if shown_a == first else 1
        if p.outcome is None:
            reasons[slot] = NO_VERDICT
        elif p.outcome == 0.5:
            verdicts[slot] = "tie"
        else:
            winner = p.first if p.outcome == 1.0 else p.second
            verdicts[slot] = "A" if winner == shown_a else "B"
    return (verdicts[0], verdicts[1]), (reasons[0], reasons[1])
