"""Metric specifications: how each stored metric aggregates, without constructing its scorer.

run.json keeps, per task, one `MetricSpec` per metric (evalkit.types): the mean of the ok values,
or a named corpus formula over the summed per-sample sufficient statistics (`sacrebleu.bleu`,
`sacrebleu.chrf`, `sacrebleu.ter`, with the options that change the value), its direction, its
scale when known, and the scorer it came from. `evalkit compare`, `gate` and `report` re-aggregate
stored scores through this module alone: numpy and sacrebleu's score-from-statistics formulas
(sacrebleu is a core dependency), never torch or a model's weights.

The one place a reader still constructs scorers: a run written before specs were stored (its
`task_scorers` are rebuilt, as every reader did before), and a corpus metric whose spec names no
formula (a plugin's `corpus_value`) or a metric aggregated by its scorer's own `aggregate` (a
plugin's, aggregation "scorer"), whose scorer is built alone when first needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from evalkit.errors import UserError, did_you_mean
from evalkit.plugins import AdaptedScorer
from evalkit.protocols import Scorer
from evalkit.scorers.renamed import RenamedMetricsScorer
from evalkit.stats.bootstrap import FloatArray, VectorStatistic, corpus_ci, mean_ci
from evalkit.stats.significance import Statistic, mean_statistic
from evalkit.types import Aggregate, CorpusFormula, MetricSpec, RunRecord, Score

if TYPE_CHECKING:  # sacrebleu is imported when a corpus formula is first evaluated
    from sacrebleu.metrics.base import Metric

ScorerSpec = tuple[str, dict[str, Any]]

FORMULAS: dict[str, tuple[str, tuple[float | None, float | None]]] = {
    "sacrebleu.bleu": ("sacrebleu.metrics.bleu:BLEU", (0.0, 100.0)),
    "sacrebleu.chrf": ("sacrebleu.metrics.chrf:CHRF", (0.0, 100.0)),
    "sacrebleu.ter": ("sacrebleu.metrics.ter:TER", (0.0, None)),
}
"""Formula name -> ("module:class" of the sacrebleu metric whose `_compute_score_from_stats` it
is, its scale). By name, so that runs without corpus metrics never import sacrebleu."""


@lru_cache(maxsize=64)
def _formula_metric(name: str, options: str) -> Metric:
    known = FORMULAS.get(name)
    if known is None:
        raise UserError(f"unknown corpus formula '{name}'{did_you_mean(name, FORMULAS)}")
    module, _, cls = known[0].partition(":")
    metric: Metric = getattr(import_module(module), cls)(**json.loads(options))
    return metric


def formula_statistic(formula: CorpusFormula) -> Statistic:
    """The corpus value of summed statistics (a k-vector) -> float, as sacrebleu's
    `corpus_score` computes it from the same statistics (the scorer's `corpus_value`, same
    bits). Raises UserError for a formula name this evalkit does not know."""
    from evalkit.stats.corpus_formulas import (
        corpus_score_function,  # sacrebleu: corpus metrics only
    )

    metric = _formula_metric(formula.name, json.dumps(formula.options, sort_keys=True))
    score = corpus_score_function(metric)  # sacrebleu's arithmetic, without its per-call cost
    return VectorStatistic(lambda summed: float(score(summed.tolist())), score.many)


def score_row(score: Score) -> list[float]:
    """A score's row for re-aggregation: its sufficient statistics (`Score.statistics`, kept by
    corpus metrics) or else its value alone."""
    stats = score.statistics
    return [float(v) for v in stats] if stats is not None else [score.value]


def own_aggregate(scorer: Scorer) -> bool:
    """Whether `scorer.aggregate` is its own rather than evalkit's mean / corpus default: a
    plain-class plugin (adapted), or a class whose `aggregate` or `_estimate` is defined outside
    the evalkit package (a wrapper with renamed metrics: that of the scorer it wraps)."""
    if isinstance(scorer, RenamedMetricsScorer):
        return own_aggregate(scorer.inner)
    if isinstance(scorer, AdaptedScorer):
        return True
    cls = type(scorer)
    defined = [getattr(cls, m, None) for m in ("aggregate", "_estimate")]
    return any(
        f is not None and not str(getattr(f, "__module__", "")).startswith("evalkit.")
        for f in defined
    )


def specs_of_scorers(specs: Sequence[ScorerSpec], scorers: Sequence[Scorer]) -> list[MetricSpec]:
    """One MetricSpec per metric of `scorers` (built from `specs`, in that order): a scorer with
    `corpus_value` aggregates as a corpus metric (named by its `corpus_formula()` when it has
    one), a plugin whose `aggregate` is its own (`own_aggregate`) by calling it ("scorer"), any
    other by the mean, as `evalkit compare` has always treated them."""
    out = []
    for (name, _), scorer in zip(specs, scorers, strict=True):
        corpus = scorer.corpus_value is not None
        aggregation: Literal["mean", "corpus", "scorer"] = (
            "corpus" if corpus else "scorer" if own_aggregate(scorer) else "mean"
        )
        formula, scale = None, scorer.scale
        if corpus and scorer.corpus_formula is not None:
            formula_name, options = scorer.corpus_formula()
            formula = CorpusFormula(name=formula_name, options=options)
            scale = FORMULAS[formula_name][1] if formula_name in FORMULAS else scale
        signature = scorer.signature()
        for metric in scorer.metrics:
            out.append(
                MetricSpec(
                    metric=metric,
                    scorer=name,
                    signature=signature,
                    aggregation=aggregation,
                    formula=formula,
                    higher_is_better=bool(scorer.higher_is_better),
                    scale=scale,
                    counts_truncated=bool(scorer.counts_truncated),
                )
            )
    return out


def aggregate_scores(
    spec: MetricSpec,
    scores: Sequence[Score],
    *,
    task: str,
    model: str,
    seed: int,
    n_resamples: int = 1000,
    statistic: Statistic | None = None,
    scorer: Scorer | None = None,
) -> Aggregate:
    """The Aggregate a scorer's own `aggregate` gives for these scores (in data order):
    `aggregate_values` of their values, statuses, truncation flags and statistics (for
    aggregation "scorer": `scorer.aggregate` of the scores themselves)."""
    if spec.aggregation == "scorer":
        return scorer_aggregate(spec, scores, scorer, task=task, model=model, seed=seed,
                                n_resamples=n_resamples)  # fmt: skip
    ok = np.array([s.status == "ok" for s in scores], dtype=bool)
    rows = [score_row(s) for s in scores if s.status == "ok"]
    stats = np.array(rows, dtype=np.float64) if spec.aggregation == "corpus" and rows else None
    return aggregate_values(
        spec,
        np.array([s.value for s in scores], dtype=np.float64),
        ok,
        np.array([bool(s.details.get("truncated")) for s in scores], dtype=bool),
        stats,
        task=task, model=model, seed=seed, n_resamples=n_resamples, statistic=statistic,
    )  # fmt: skip


def scorer_aggregate(
    spec: MetricSpec,
    scores: Sequence[Score],
    scorer: Scorer | None,
    *,
    task: str,
    model: str,
    seed: int,
    n_resamples: int = 1000,
) -> Aggregate:
    """A metric of aggregation "scorer": the scorer's own `aggregate` of `scores` (data order),
    recorded as method "scorer". Raises UserError when no scorer is given."""
    if scorer is None:
        raise UserError(f"metric '{spec.metric}': aggregated by scorer '{spec.scorer}', not built")
    result = scorer.aggregate(
        spec.metric, scores, task=task, model=model, seed=seed, n_resamples=n_resamples
    )
    return result.model_copy(
        update={"task": task, "model": model, "metric": spec.metric, "method": "scorer"}
    )


def _scores_of_columns(
    spec: MetricSpec,
    values: FloatArray,
    ok: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    ok_stats: FloatArray | None,
) -> list[Score]:
    """The Scores a scorer's `aggregate` takes, back from columns: a non-ok one as "error"."""
    rows = iter(ok_stats.tolist()) if ok_stats is not None else None
    out = []
    for value, good, cut in zip(values.tolist(), ok.tolist(), truncated.tolist(), strict=True):
        stats = next(rows) if good and rows is not None else None
        out.append(
            Score(
                name=spec.metric,
                value=value,
                status="ok" if good else "error",
                details={"truncated": True} if cut else {},
                statistics=stats,
            )
        )
    return out


def aggregate_values(
    spec: MetricSpec,
    values: FloatArray,
    ok: NDArray[np.bool_],
    truncated: NDArray[np.bool_],
    ok_stats: FloatArray | None,
    *,
    task: str,
    model: str,
    seed: int,
    n_resamples: int = 1000,
    statistic: Statistic | None = None,
    scorer: Scorer | None = None,
) -> Aggregate:
    """One metric of a task x model from its per-sample columns, in data order: `values`,
    `ok` (status ok; every other status counts as failed) and `truncated` (n samples each);
    `ok_stats`: the ok samples' sufficient statistics (n_ok x k; None = their values).

    The mean of the ok values with its percentile-bootstrap CI (`bootstrap.mean_ci`), or the
    corpus formula of the summed statistics with the CI of the formula per resample
    (`bootstrap.corpus_ci`), as the scorer's `aggregate` computes it (sacrebleu's corpus score
    for BLEU/chrF/TER). `statistic` overrides the spec's formula (a plugin's corpus_value);
    aggregation "scorer" calls `scorer.aggregate` (`scorer_aggregate`). Raises UserError for a
    corpus metric with neither formula nor statistic, a "scorer" one without its scorer."""
    if spec.aggregation == "scorer":
        scores = _scores_of_columns(spec, values, ok, truncated, ok_stats)
        return scorer_aggregate(spec, scores, scorer, task=task, model=model, seed=seed,
                                n_resamples=n_resamples)  # fmt: skip
    n_ok = int(ok.sum())
    value = low = high = None
    if n_ok and spec.aggregation == "corpus":
        if statistic is None:
            if spec.formula is None:
                raise UserError(f"metric '{spec.metric}': no corpus formula stored")
            statistic = formula_statistic(spec.formula)
        rows = ok_stats if ok_stats is not None else values[ok].reshape(n_ok, 1)
        value, low, high = corpus_ci(rows, statistic, seed, n_resamples)
    elif n_ok:
        value, low, high = mean_ci(values[ok], seed, n_resamples)
    return Aggregate(
        task=task,
        model=model,
        metric=spec.metric,
        value=value,
        ci_low=low,
        ci_high=high,
        n=n_ok,
        n_failed=len(values) - n_ok,
        method=spec.aggregation,
        higher_is_better=spec.higher_is_better,
        n_truncated=int((truncated & ok).sum()) if spec.counts_truncated else 0,
    )


@dataclass
class MetricTable:
    """Per task, each metric's spec (in the order the scorers list them), read from run.json;
    and how to compute each metric's statistic over rows of shared samples."""

    specs: dict[str, dict[str, MetricSpec]] = field(default_factory=dict)
    task_scorers: dict[str, list[ScorerSpec]] = field(default_factory=dict)
    # (task, scorer name) -> a scorer built only for a run without specs, or a formula-less
    # corpus metric; its corpus_value is then the statistic (exactly the old readers' path)
    live: dict[tuple[str, str], Scorer] = field(default_factory=dict)

    @classmethod
    def of_runs(cls, runs: Iterable[RunRecord]) -> MetricTable:
        """The specs of every task of `runs`; a task's first run that has it decides."""
        table = cls()
        for run in runs:
            table.add(run.metric_specs, run.task_scorers)
        return table

    def add(
        self,
        metric_specs: Mapping[str, Sequence[MetricSpec | dict[str, Any]]],
        task_scorers: Mapping[str, Sequence[tuple[str, dict[str, Any]] | list[Any]]],
    ) -> None:
        """Add one run's tasks not yet known: its stored specs, else (a run written before specs
        were stored) the specs of its scorers, rebuilt from `task_scorers`."""
        for task, scorer_specs in task_scorers.items():
            if task in self.specs:
                continue
            specs = [MetricSpec.model_validate(s) for s in metric_specs.get(task, [])]
            self.task_scorers[task] = [(name, dict(opts)) for name, opts in scorer_specs]
            if not specs:
                specs = self._rebuilt(task)
            self.specs[task] = {s.metric: s for s in specs}
        for task, stored in metric_specs.items():  # specs of a task with no task_scorers entry
            if task not in self.specs:
                parsed = [MetricSpec.model_validate(s) for s in stored]
                self.specs[task] = {s.metric: s for s in parsed}

    def _rebuilt(self, task: str) -> list[MetricSpec]:
        from evalkit.stages.scoring import build_scorers

        scorer_specs = self.task_scorers[task]
        scorers = build_scorers(scorer_specs)
        for (name, _), scorer in zip(scorer_specs, scorers, strict=True):
            self.live[(task, name)] = scorer
        return specs_of_scorers(scorer_specs, scorers)

    def metrics(self, task: str) -> list[str]:
        return list(self.specs.get(task, {}))

    def spec(self, task: str, metric: str) -> MetricSpec | None:
        return self.specs.get(task, {}).get(metric)

    def is_corpus(self, task: str, metric: str) -> bool:
        spec = self.spec(task, metric)
        return spec is not None and spec.aggregation == "corpus"

    def higher_is_better(self, task: str, metric: str, default: bool = True) -> bool:
        spec = self.spec(task, metric)
        return default if spec is None else spec.higher_is_better

    def statistic(self, task: str, metric: str, n: int) -> Statistic:
        """Summed rows of `n` samples -> the metric's value: the corpus formula of a corpus
        metric, else (a mean metric, or one with no spec) the sum's first entry over n."""
        spec = self.spec(task, metric)
        if spec is None or spec.aggregation != "corpus":
            return mean_statistic(n)
        scorer = self._live_scorer(task, spec)
        if scorer is not None and scorer.corpus_value is not None:
            return scorer.corpus_value
        assert spec.formula is not None
        return formula_statistic(spec.formula)

    def _live_scorer(self, task: str, spec: MetricSpec) -> Scorer | None:
        key = (task, spec.scorer)
        if key not in self.live and (spec.formula is None or spec.aggregation == "scorer"):
            from evalkit.stages.scoring import build_scorer

            options = dict(self.task_scorers.get(task, [])).get(spec.scorer, {})
            self.live[key] = build_scorer(spec.scorer, dict(options))
        return self.live.get(key)

    def scorer_outcome(
        self,
        where: tuple[str, str, str],
        rows: tuple[FloatArray, FloatArray],
        outcome: Any,
        *,
        null_delta: float = 0.0,
        n_resamples: int = 1000,
        seed: int = 1234,
    ) -> Any:
        """A paired outcome (`PairedOutcome`) of `where` = (task, metric, model) by the scorer's
        own aggregate when the metric's aggregation is "scorer"; else `outcome` unchanged.

        value_a, value_b and delta are the scorer's aggregates of each side's ok per-sample
        values (`rows`, n x 1, paired by sample); the delta's 95% CI (percentile) and the p-value
        come from a paired bootstrap of that same statistic: the samples resampled with
        replacement `n_resamples` times, both sides with the same indices (Koehn 2004), p the
        share of resampled deltas at least as far from the observed delta as `null_delta` is
        (the shifted-null form of evalkit's paired bootstrap)."""
        task, metric, model = where
        spec = self.spec(task, metric)
        if spec is None or spec.aggregation != "scorer":
            return outcome

        def value(values: FloatArray) -> float | None:
            scores = [Score(name=metric, value=float(v)) for v in values]
            return self.aggregate(task, model, metric, scores, seed=0, n_resamples=1).value

        a, b = value(rows[0][:, 0]), value(rows[1][:, 0])
        if a is None or b is None:
            return outcome
        n = rows[0].shape[0]
        picks = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
        deltas = []
        for pick in picks:
            ra, rb = value(rows[0][pick, 0]), value(rows[1][pick, 0])
            if ra is not None and rb is not None:
                deltas.append(rb - ra)
        spread = np.asarray(deltas, dtype=np.float64)
        delta = b - a
        if spread.size == 0:
            return replace(outcome, value_a=a, value_b=b, delta=delta)
        low, high = np.percentile(spread, [2.5, 97.5])
        p = float(np.mean(np.abs(spread - delta) >= abs(delta - null_delta)))
        return replace(
            outcome, test="bootstrap", value_a=a, value_b=b, delta=delta, ci_low=float(low),
            ci_high=float(high), p_value=max(p, 1.0 / (spread.size + 1)), effect_size=None,
            p_moses=None, resamples=int(spread.size),
        )  # fmt: skip

    def aggregate(
        self, task: str, model: str, metric: str, scores: Sequence[Score], *, seed: int,
        n_resamples: int = 1000,
    ) -> Aggregate:  # fmt: skip
        """`aggregate_scores` by this table's spec of (task, metric); KeyError when unknown."""
        spec = self.specs[task][metric]
        statistic = scorer = None
        if spec.aggregation == "scorer":
            scorer = self._live_scorer(task, spec)
        elif spec.aggregation == "corpus" and self._live_scorer(task, spec) is not None:
            statistic = self.statistic(task, metric, len(scores))
        return aggregate_scores(
            spec, scores, task=task, model=model, seed=seed, n_resamples=n_resamples,
            statistic=statistic, scorer=scorer,
        )  # fmt: skip
