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


def judge_recorded(data: RunData, rubric: Rubric, cfg: JudgeConfig) -> RunRecord:
    from evalkit.judging.pairwise import finish_pairwise, pairwise_jobs

    if rubric.mode != "pairwise":
        raise UserError(
            "recorded= gives verdicts to a pairwise rubric (e.g. judge=pairwise_preference);"
            " for recorded pointwise scores use `evalkit judgments stats`"
        )
    files = [cfg.recorded] if isinstance(cfg.recorded, str) else list(cfg.recorded or [])
    paths = [Path(p) for p in files]
    recorded = read_recorded(paths, cfg.recorded_format, cfg.pairwise.baseline)
    index: dict[Key, list[RecordedPair]] = defaultdict(list)
    for pair in recorded.pairs:
        index[(pair.item, frozenset((pair.first, pair.second)))].append(pair)
    results: dict[str, list[PairJudgment]] = {}
    for task, per_sample, _, _, jobs in pairwise_jobs(data, cfg):
        results[task] = []
        shared = Counter(sample_source(sample) for sample in data.samples[task].values())
        for sample_id, first, second in jobs:
            models = frozenset((first, second))
            text = sample_source(data.samples[task][sample_id])
            found = index.get((sample_id, models))
            if not found and shared[text] == 1:  # an input two samples share names neither
                found = index.get((text, models))
            if found:
                outputs = per_sample[sample_id]
                results[task].append(_judgment(found, sample_id, first, second, outputs))
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
    flags = {p.consistent for p in found}
    lengths = (
        len(outputs[first].generation.text.split()),
        len(outputs[second].generation.text.split()),
    )
    return PairJudgment(
        sample_id, first, second, (None, None), (None, None),
        float(np.mean(battles)) if battles else None,
        flags.pop() if len(flags) == 1 else None, lengths, [],
        human_outcome(outputs[first], outputs[second]), battles,
    )  # fmt: skip
