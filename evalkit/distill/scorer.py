"""Scorer `distilled_judge`: a judge trained by `evalkit judge distill` scores every output.

Options: `judge` (a name in ./judges or evalkit's judges/, or a directory; default: the shipped
`summeval-minilm`), `dimensions` (default: all the judge's), `prefix` of the metric names
(default `dj_`: `dj_coherence`, ...), `batch_size`, `source`. The judge reads the sample's input
as the source and its references when there are any; `source: first_reference` reads the first
reference as the source and the others as the references instead (a task whose reference field
holds the text to be faithful to, such as `topical_chat`'s knowledge fact, where the judge was
trained with that text as the source). Runs on CPU in the main process: torch already uses
every core. The judge's name, version, training-data hash, encoder, feature version and the sha256
of its weights are in the signature, so a retrained judge (even under the same name and version)
never shares cached numbers with the old one.
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
SOURCES = ("input", "first_reference")


class DistilledJudgeScorer(ReferenceScorer):
    name = "distilled_judge"
    cpu_heavy = False

    def __init__(
        self,
        judge: str = DEFAULT_JUDGE,
        dimensions: Sequence[str] | None = None,
        prefix: str = "dj_",
        batch_size: int = 64,
        source: str = "input",
    ) -> None:
        from evalkit.distill.artifact import DistilledJudge

        if source not in SOURCES:
            raise UserError(f"distilled_judge: source must be one of {', '.join(SOURCES)}")
        self.source = source

        self.judge = DistilledJudge.load(judge, batch_size=batch_size)
        meta = self.judge.meta
        if meta.mode != "pointwise":
            raise UserError(f"distilled judge '{meta.name}' is pairwise; a scorer needs pointwise")
        if isinstance(dimensions, str):  # `dimensions: coherence` names one dimension
            dimensions = [dimensions]
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
            + ("" if self.source == "input" else f"|source:{self.source}")
            + f"|torch {version('torch')}|sentence-transformers {version('sentence-transformers')}"
        )

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        """The encoder of the judge's features, shared with an `embedding` scorer of the same
        model and dtype (see evalkit.stages.scoring.share_sentence_encoders)."""
        return self.judge.sentence_embedders()

    def _unscorable_reason(self, item: ScoredItem) -> str | None:
        if not item.prediction.strip():
            return "empty output"
        if self.source == "first_reference" and not item.references:
            return "no reference to read as the source (source: first_reference)"
        return None

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        if self.source == "first_reference":
            sources = [str(item.references[0]) for item in items]
            references = [list(item.references[1:]) for item in items]
        else:
            sources = [str(getattr(item, "source", "")) for item in items]
            references = [list(item.references) for item in items]
        values = self.judge.score(sources, [item.prediction for item in items], references)
        meta = self.judge.meta
        details: dict[str, Any] = {"judge": meta.name, "version": meta.version}
        return [
            [
                Score(name=metric, value=float(row[column]), details=details)
                for metric, column in zip(self.metrics, self.columns, strict=True)
            ]
            for row in values
        ]
