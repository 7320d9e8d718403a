"""A scorer wrapped so that its metrics carry other names (`<metric>_<pipeline>`,
`<metric>_turn<k>`): scores are renamed on the way out and back on the way into the wrapped
scorer's aggregate, so each renamed metric aggregates exactly as the original would (mean or
corpus formula, with its bootstrap CI)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evalkit.protocols import Scorer
from evalkit.types import Aggregate, Score


class RenamedMetricsScorer:
    """Base of the wrappers: `inner` is the wrapped scorer, `inner_metric` maps each new metric
    name to the wrapped scorer's. Anything not defined here (prepare, close, cpu_heavy,
    higher_is_better, corpus_value) is the wrapped scorer's."""

    def __init__(self, inner: Scorer, inner_metric: dict[str, str]) -> None:
        self.inner = inner
        self.metrics = tuple(inner_metric)
        self._inner_metric = inner_metric

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
