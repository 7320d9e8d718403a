"""Scoring extracted answers: what scorers see, the "no answer" reason, named pipelines.

With a single unnamed pipeline a ScoringItem's prediction is the pipeline's answer; with named
pipelines each `PipelineScorer` (spec `<scorer>@<pipeline>`) gives its scorer that pipeline's
answer and suffixes its metrics. Either way an empty answer scores as the scorer scores "" and
each ok score's explanation says "no answer extracted".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from evalkit.protocols import ScoredItem, Scorer
from evalkit.scorers.renamed import RenamedMetricsScorer
from evalkit.tasks.extraction import NO_ANSWER, UNNAMED, Extraction
from evalkit.types import (
    ExtractedAnswer,
    ExtractionCount,
    Generation,
    SampleRecord,
    Score,
)

if TYPE_CHECKING:
    from evalkit.stages.scoring import ScoringItem


def view_for(item: ScoringItem, pipeline: str) -> ScoringItem:
    """The item as a scorer of `pipeline` sees it: the pipeline's answer as the prediction."""
    for name, answer in item.answers:
        if name == pipeline:
            return replace(item, prediction=answer, answers=((UNNAMED, answer),))
    return item


def mark_no_answer(items: Sequence[ScoringItem], scored: list[list[Score]]) -> list[list[Score]]:
    """Every ok score of an item whose (unnamed-pipeline) answer is empty says why."""
    out = []
    for item, scores in zip(items, scored, strict=True):
        if (UNNAMED, "") in item.answers:
            scores = [
                s.model_copy(update={"explanation": NO_ANSWER}) if s.status == "ok" else s
                for s in scores
            ]
        out.append(scores)
    return out


class PipelineScorer(RenamedMetricsScorer):
    """A scorer run on one named pipeline's answers; its metrics are suffixed `_<pipeline>`.

    Built from a scorer spec named `<scorer>@<pipeline>` (as run.json's task_scorers store it),
    so every reader that rebuilds scorers from a run gets the suffixed metrics. Anything else
    (corpus_value, prepare, close, cpu_heavy, higher_is_better) is the wrapped scorer's.
    """

    def __init__(self, inner: Scorer, pipeline: str) -> None:
        super().__init__(inner, {f"{m}_{pipeline}": m for m in inner.metrics})
        self.pipeline = pipeline
        self.name = f"{inner.name}@{pipeline}"

    def signature(self) -> str:
        return f"{self.inner.signature()}|extract:{self.pipeline}"

    def score(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        view = [view_for(cast("ScoringItem", item), self.pipeline) for item in items]
        scored = mark_no_answer(view, self.inner.score(view))
        return [
            [s.model_copy(update={"name": f"{s.name}_{self.pipeline}"}) for s in scores]
            for scores in scored
        ]


def extracted_answers(
    extraction: Extraction | None, generation: Generation
) -> list[ExtractedAnswer]:
    """What a sample record stores: every pipeline's answer (none for a failed generation)."""
    if extraction is None or generation.error is not None:
        return []
    return extraction.answers(generation.text)


def count_no_answers(records: Iterable[SampleRecord]) -> list[ExtractionCount]:
    """run.json's `extraction`: per task x model x pipeline, outputs and how many had no answer."""
    counts: dict[tuple[str, str, str], list[int]] = {}
    for record in records:
        for extracted in record.extracted:
            tally = counts.setdefault((record.task, record.model, extracted.pipeline), [0, 0])
            tally[0] += 1
            tally[1] += extracted.answer == ""
    return [
        ExtractionCount(task=t, model=m, pipeline=p, n=n, n_no_answer=missing)
        for (t, m, p), (n, missing) in counts.items()
    ]
