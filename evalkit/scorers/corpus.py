"""BLEU, chrF (and chrF++) and TER through sacrebleu, aggregated as corpus metrics.

Each sample keeps sacrebleu's sufficient statistics in `Score.details["stats"]`; the task-level
value is sacrebleu's corpus score of the summed statistics, so it equals `corpus_score` on the
same data to the last digit, and the bootstrap CI recomputes the corpus score per resample (as
sacrebleu's paired bootstrap does). The per-sample value is the sentence-level score (for BLEU
with effective order, as `sentence_bleu` computes it), shown in the sample browser only.

Several references per sample are supported; samples may have different numbers of references
(sacrebleu accepts None for a missing reference in a stream).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, cast

import numpy as np
from sacrebleu.metrics.base import Metric
from sacrebleu.metrics.bleu import BLEU as SacreBLEU
from sacrebleu.metrics.chrf import CHRF as SacreCHRF
from sacrebleu.utils import my_log

from evalkit.bootstrap import FloatArray, corpus_ci
from evalkit.errors import UserError
from evalkit.protocols import ScoredItem
from evalkit.scorers.base import ReferenceScorer
from evalkit.scorers.fast_ter import FastTER
from evalkit.types import Score


def reference_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Per-sample reference lists -> sacrebleu's reference streams, padded with None."""
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else None for refs in references] for i in range(width)]


class SacreBLEUScorer(ReferenceScorer):
    """Shared mechanics; subclasses say which sacrebleu metric and options."""

    metric_name: ClassVar[str]
    metric_class: ClassVar[type[Metric]]
    aggregation = "corpus"
    kernel: ClassVar[str] = "sacrebleu"

    def __init__(self, **options: Any) -> None:
        try:
            self._corpus_metric = self.metric_class(**options)
            self._sentence_metric = self.metric_class(**self._sentence_options(options))
        except TypeError as exc:
            raise UserError(f"scorer '{self.name}': {exc}") from exc
        self.metrics = (self.metric_name,)

    @staticmethod
    def _sentence_options(options: dict[str, Any]) -> dict[str, Any]:
        return options

    def signature(self) -> str:
        """sacrebleu's own signature string, less `nrefs` (that is a property of the data)."""
        metric = self._corpus_metric
        sig = metric._SIGNATURE_TYPE({**vars(metric), "num_refs": -1})
        sig.update("nrefs", None)
        return f"sacrebleu.{self.metric_name.upper()}|{sig.format()}|kernel:{self.kernel}"

    def corpus_stats(self, items: Sequence[ScoredItem]) -> list[list[float]]:
        hyps = [item.prediction for item in items]
        streams = reference_streams([item.references for item in items])
        stats = self._corpus_metric._extract_corpus_statistics(hyps, streams)  # type: ignore[arg-type]
        rows: list[list[float]] = np.asarray(stats, dtype=np.float64).tolist()
        return rows

    def sentence_value(self, stats: list[float]) -> float:
        return float(self._sentence_metric._compute_score_from_stats(stats).score)

    def _score_scorable(self, items: Sequence[ScoredItem]) -> list[list[Score]]:
        # model_construct: these values come straight from sacrebleu's statistics, and
        # validating tens of thousands of them again would be most of the scorer's overhead
        name = self.metrics[0]
        return [
            [
                Score.model_construct(
                    name=name, value=self.sentence_value(stats), details={"stats": stats}
                )
            ]
            for stats in self.corpus_stats(items)
        ]

    def corpus_value(self, summed: FloatArray) -> float:
        return float(self._corpus_metric._compute_score_from_stats(summed.tolist()).score)

    def _estimate(
        self, ok: Sequence[Score], seed: int, n_resamples: int
    ) -> tuple[float, float, float]:
        stats = np.array([s.details["stats"] for s in ok], dtype=np.float64)
        return corpus_ci(stats, self.corpus_value, seed, n_resamples)


class BLEU(SacreBLEUScorer):
    name = "bleu"
    metric_name = "bleu"
    metric_class = SacreBLEU

    @staticmethod
    def _sentence_options(options: dict[str, Any]) -> dict[str, Any]:
        return {**options, "effective_order": True}

    def sentence_value(self, stats: list[float]) -> float:
        """sacrebleu's `BLEU.compute_bleu` for one segment, step for step (so the value is the
        same to the last bit; a test checks every WMT17 segment), without building a BLEUScore
        with its formatted strings: that object was most of evalkit's BLEU overhead."""
        metric = cast(SacreBLEU, self._sentence_metric)
        order = metric.max_ngram_order
        correct, total = list(stats[2 : 2 + order]), list(stats[2 + order :])
        sys_len, ref_len = int(stats[0]), int(stats[1])
        method = metric.smooth_method
        smooth: float = (
            SacreBLEU.SMOOTH_DEFAULTS[method] or 0.0
            if metric.smooth_value is None
            else metric.smooth_value
        )
        bp = 1.0
        if sys_len < ref_len:
            bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
        if not any(correct):
            return 0.0
        precisions = [0.0] * order
        smooth_mteval = 1.0
        effective = order
        for n in range(1, order + 1):
            if method == "add-k" and n > 1:
                correct[n - 1] += smooth
                total[n - 1] += smooth
            if total[n - 1] == 0:
                break
            if metric.effective_order:
                effective = n
            if correct[n - 1] == 0:
                if method == "exp":
                    smooth_mteval *= 2
                    precisions[n - 1] = 100.0 / (smooth_mteval * total[n - 1])
                elif method == "floor":
                    precisions[n - 1] = 100.0 * smooth / total[n - 1]
            else:
                precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
        return float(bp * math.exp(sum([my_log(p) for p in precisions[:effective]]) / effective))


class ChrF(SacreBLEUScorer):
    """chrF by default; `word_order: 2` gives chrF++ (reported under the name 'chrf++')."""

    name = "chrf"
    metric_name = "chrf"
    metric_class = SacreCHRF

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        if options.get("word_order", 0) > 0:
            self.metrics = ("chrf++",)


class TER(SacreBLEUScorer):
    """sacrebleu's TER, computed with evalkit's exactly equal, faster edit-distance kernel."""

    name = "ter"
    metric_name = "ter"
    metric_class = FastTER
    higher_is_better = False  # an edit rate
    kernel = "evalkit.fast_ter"
