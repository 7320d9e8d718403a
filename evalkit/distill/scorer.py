"""Scorer `distilled_judge`: a judge trained by `evalkit judge distill` scores every output.

Options: `judge` (a name in ./judges or evalkit's judges/, or a directory; default: the shipped
`summeval-minilm`), `dimensions` (default: all the judge's), `prefix` of the metric names
(default `dj_`: `dj_coherence`, ...), `batch_size`. The judge reads the sample's input as the
source and its references when there are any. Runs on CPU in the main process: torch already uses
every core. The judge's name, version, training-data hash, encoder and feature version are in the
signature, so a retrained judge never shares cached numbers with the old one.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.types import Score

if TYPE_CHECKING:
    from evalkit.scorers.embedding import EmbeddingSimilarity

DEFAULT_JUDGE = "summeval-minilm"


class DistilledJudgeScorer(ReferenceScorer):
    name = "distilled_judge"
    cpu_heavy = False

    def __init__(
        self,
        judge: str = DEFAULT_JUDGE,
        dimensions: Sequence[str] | None = None,
        prefix: str = "dj_",
        batch_size: int = 64,
    ) -> None:
        from evalkit.distill.artifact import DistilledJudge

        self.judge = DistilledJudge.load(judge, batch_size=batch_size)
        meta = self.judge.meta
        if meta.mode != "pointwise":
            raise UserError(f"distilled judge '{meta.name}' is pairwise; a scorer needs pointwise")
        unknown = [d for d in dimensions or [] if d not in meta.dimensions]
        if unknown:
            raise UserError(
                f"distilled judge '{meta.name}' has no dimension {', '.join(unknown)} "
                f"(it has {', '.join(meta.dimensions)})"
            )
        self.dimensions = list(dimensions or meta.dimensions)
        self.columns = [meta.dimensions.index(d) for d in self.dimensions]
        self.metrics = tuple(f"{prefix}{d}" for d in self.dimensions)

    def signature(self) -> str:
        return (
            f"{self.judge.meta.signature}|dims:{','.join(self.dimensions)}"
            f"|torch {version('torch')}|sentence-transformers {version('sentence-transformers')}"
        )

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        """The encoder of the judge's features, shared with an `embedding` scorer of the same
        model and dtype (see evalkit.stages.scoring.share_sentence_encoders)."""
        return self.judge.sentence_embedders()

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        return None if item.prediction.strip() else "empty output"

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        values = self.judge.score(
            [str(getattr(item, "source", "")) for item in items],
            [item.prediction for item in items],
            [list(item.references) for item in items],
        )
        meta = self.judge.meta
        details: dict[str, Any] = {"judge": meta.name, "version": meta.version}
        return [
            [
                Score(name=metric, value=float(row[column]), details=details)
                for metric, column in zip(self.metrics, self.columns, strict=True)
            ]
            for row in values
        ]
