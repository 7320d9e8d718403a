"""A scorer wrapped so that its metrics carry other names (`<metric>_<pipeline>`,
`<metric>_turn<k>`): scores are renamed on the way out and back on the way into the wrapped
scorer's aggregate, so each renamed metric aggregates exactly as the original would (mean or
corpus formula, with its bootstrap CI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evalkit.protocols import Scorer, ScorerDefaults
from evalkit.types import Aggregate, Score

if TYPE_CHECKING:
    from evalkit.scorers.embedding import EmbeddingSimilarity


class RenamedMetricsScorer(ScorerDefaults):
    """Base of the wrappers: `inner` is the wrapped scorer, `inner_metric` maps each new metric
    name to the wrapped scorer's. Every optional capability of the Scorer protocol (prepare,
    close, cpu_heavy, higher_is_better, corpus_value, ...) is the wrapped scorer's; any other
    attribute (a judge's `rubric`) is looked up on it too."""

    def __init__(self, inner: Scorer, inner_metric: dict[str, str]) -> None:
        self.inner = inner
        self.metrics = tuple(inner_metric)
        self._inner_metric = inner_metric
        self.cpu_heavy = inner.cpu_heavy
        self.memoize = inner.memoize
        self.higher_is_better = inner.higher_is_better
        self.counts_truncated = inner.counts_truncated
        self.scale = inner.scale
        self.prepare = inner.prepare
        self.corpus_value = inner.corpus_value
        self.corpus_formula = inner.corpus_formula

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        return self.inner.sentence_embedders()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def aggregate(
        self,
        metric: str,
        scores: Sequence[Score],
        *,
        task: str,
        model: str,
        seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:
        """The wrapped scorer's aggregate of `scores` under the original metric name."""
        inner = self._inner_metric[metric]
        renamed = [s.model_copy(update={"name": inner}) for s in scores]
        result = self.inner.aggregate(
            inner, renamed, task=task, model=model, seed=seed, n_resamples=n_resamples
        )
        return result.model_copy(update={"metric": metric})
