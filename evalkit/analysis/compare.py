"""`evalkit compare`: every model against a baseline, on the samples both have, with paired tests.

For each task x metric x model: both values with bootstrap CIs on the shared samples, the delta with
its paired-bootstrap CI, and the p-value of `evalkit.stats.significance_policy`'s test (paired
t-test for
mean metrics, McNemar's exact test for 0/1 metrics, paired bootstrap or approximate randomization
for corpus metrics, resampled as sufficient statistics with B scaled to the Holm family), adjusted
by Holm within each task x metric; every row names its baseline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.analysis.bundle import LabelledRun, model_labels
from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError, did_you_mean
from evalkit.stages.metricspec import MetricTable
from evalkit.stats.bootstrap import corpus_ci
from evalkit.stats.significance import Resampled, Statistic, resample_values_many
from evalkit.stats.significance_policy import (
    ResamplingTest,
    SignificancePolicy,
    holm_by_family,
    paired_outcome,
)
from evalkit.store.columns import GroupColumns

Test = ResamplingTest

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    task: str
    metric: str
    baseline: str
    model: str
    n: int
    baseline_value: float
    baseline_ci: tuple[float, float]
    value: float
    ci: tuple[float, float]
    delta: float
    delta_ci: tuple[float, float]
    test: str
    p_value: float
    p_holm: float
    significant: bool
    effect_size: float | None
    p_moses: float | None  # the bootstrap p in Moses' convention, comparable with WMT papers
    resamples: int | None  # B of a resampling test; None for paired_t and mcnemar
    family_size: int  # comparisons in this row's Holm family (its task x metric)
    holm_family: str  # which comparisons Holm adjusts together

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LoadedRecords:
    """The latest sample records of one or more runs as columns (`RunDigest.groups`, labelled
    model names), with the metric specs to test them by."""

    groups: dict[tuple[str, str], GroupColumns]  # (task, model) -> its columns, ids kept
    metrics: MetricTable
    models: list[str]
    _columns: dict[tuple[str, str, str], tuple[dict[str, int], np.ndarray]] = field(
        default_factory=dict, repr=False
    )
    # (task, model, metric, shared ids, seed, B) -> that model's bootstrap statistics
    _resamples: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict, repr=False)

    def has(self, task: str, model: str) -> bool:
        """Whether `model` has records of `task`."""
        return (task, model) in self.groups

    def resampled(
        self, key: tuple[str, str, str], ids: tuple[str, ...], statistic: Statistic, seed: int
    ) -> Resampled:
        """`resample_values` of one model's rows on `ids` (key = task, model, metric), computed
        once per B and reused by every comparison of that model on the same samples. On the first
        request the vectors of every model of the task that scored all of `ids` are computed in
        one pass (the resample counts drawn once): comparing each of m models with each other
        costs one bootstrap pass per task x metric, not m * (m - 1)."""
        task, model, metric = key

        def values(rows: np.ndarray, n_resamples: int) -> np.ndarray:
            cache_key = (task, model, metric, ids, seed, n_resamples)
            if cache_key not in self._resamples:
                wanted = set(ids)
                peers = [model] + [
                    m
                    for m in self.models
                    if m != model
                    and self.has(task, m)
                    and (task, m, metric, ids, seed, n_resamples) not in self._resamples
                    and self.column(task, m, metric)[0].keys() >= wanted
                ]
                matrices = [rows]
                for m in peers[1:]:
                    positions, all_rows = self.column(task, m, metric)
                    matrices.append(all_rows[[positions[i] for i in ids]])
                computed = resample_values_many(
                    matrices, statistic, seed=seed, n_resamples=n_resamples
                )
                for m, vector in zip(peers, computed, strict=True):
                    self._resamples[(task, m, metric, ids, seed, n_resamples)] = vector
            return self._resamples[cache_key]

        return values

    def column(self, task: str, model: str, metric: str) -> tuple[dict[str, int], np.ndarray]:
        """The samples where `metric` scored ok in their latest record (id -> row) and their rows
        (the value, or the sufficient statistics of a corpus metric: `score_row`); built once,
        reused by every comparison."""
        key = (task, model, metric)
        if key not in self._columns:
            self._columns[key] = ok_rows(self.groups[(task, model)], metric)
        return self._columns[key]


def ok_rows(group: GroupColumns, metric: str) -> tuple[dict[str, int], np.ndarray]:
    """(sample id -> row, rows) of the latest records of `group` whose `metric` scored ok, in
    latest-record order; a row is the score's sufficient statistics when the metric keeps them,
    else its value alone (`evalkit.stages.metricspec.score_row`)."""
    assert group.ids is not None, "columns read without sample ids"
    column = group.metrics.get(metric)
    if column is None:
        return {}, np.empty((0, 1), dtype=np.float64)
    _, rank, _ = group.latest()
    rows = np.frombuffer(column.rows, dtype=np.int64)
    ok = np.frombuffer(column.ok, dtype=np.uint8).astype(bool) & (rank[rows] >= 0)
    entries = np.flatnonzero(ok)
    entries = entries[np.argsort(rank[rows[entries]], kind="stable")]
    stats = column.stats_matrix()
    if stats is None:
        matrix = np.frombuffer(column.values, dtype=np.float64)[entries].reshape(-1, 1)
    else:
        matrix = stats[entries]
    positions = {group.ids[int(r)]: k for k, r in enumerate(rows[entries])}
    return positions, np.ascontiguousarray(matrix, dtype=np.float64)


def _load(run_dirs: Sequence[Path]) -> LoadedRecords:
    """The runs' latest records by (task, model), as columns; a model name found in several
    runs is labelled per run as the report labels it (`sys [path=b.jsonl]`), so two runs of one
    model are compared with each other instead of the second being taken for more of the
    first."""
    groups: dict[tuple[str, str], GroupColumns] = {}
    metrics = MetricTable()
    models: list[str] = []
    stored_runs = [open_run(run_dir) for run_dir in run_dirs]
    runs = [LabelledRun(s.name, s.record, s.digest(max_samples=0)) for s in stored_runs]
    for stored, run, names in zip(stored_runs, runs, model_labels(runs), strict=True):
        stored.warn_if_incomplete()
        stored.check_samples_agree(run.digest)
        metrics.add(stored.record.metric_specs, dict(stored.record.task_scorers))
        for key, group in run.digest.renamed(names).groups.items():
            groups.setdefault(key, group)
            if key[1] not in models:
                models.append(key[1])
    return LoadedRecords(groups, metrics, models)


def compare_pair(
    where: tuple[str, str],
    base: str,
    model: str,
    data: LoadedRecords,
    policy: SignificancePolicy,
    family_size: int,
    seed: int,
    n_resamples: int,
    *,
    with_cis: bool = True,
) -> dict[str, Any] | None:
    """One paired comparison (`where` = task, metric) by the policy's test, in a Holm family of
    `family_size`; None when fewer than two samples are shared. `with_cis=False` skips the two
    per-model intervals (the report already has each model's CI from its aggregates). The
    metric's statistic (mean or corpus formula) comes from the stored metric specs."""
    task, metric = where
    pos_a, all_a = data.column(task, base, metric)
    pos_b, all_b = data.column(task, model, metric)
    ids = sorted(pos_a.keys() & pos_b.keys())
    if len(ids) < 2:
        return None
    rows_a, rows_b = all_a[[pos_a[i] for i in ids]], all_b[[pos_b[i] for i in ids]]
    statistic = data.metrics.statistic(task, metric, len(ids))
    shared = tuple(ids)
    resampled = (
        data.resampled((task, base, metric), shared, statistic, seed),
        data.resampled((task, model, metric), shared, statistic, seed),
    )
    out = paired_outcome(
        rows_a, rows_b, statistic, corpus=data.metrics.is_corpus(task, metric), policy=policy,
        family_size=family_size, seed=seed, ci_resamples=n_resamples, resampled=resampled,
    )  # fmt: skip
    own = data.metrics.scorer_outcome((task, metric, model), (rows_a, rows_b), out, seed=seed)
    ci_a: tuple[float, float] | None = None
    ci_b: tuple[float, float] | None = None
    if own is not out:  # by the plugin's own aggregate, with its own paired bootstrap
        out, with_cis = own, False
    if with_cis:
        ci_a = corpus_ci(rows_a, statistic, seed, n_resamples)[1:]
        ci_b = corpus_ci(rows_b, statistic, seed, n_resamples)[1:]
    return {
        "task": task,
        "metric": metric,
        "baseline": base,
        "model": model,
        "n": len(ids),
        "baseline_value": out.value_a,
        "baseline_ci": ci_a,
        "value": out.value_b,
        "ci": ci_b,
        "delta": out.delta,
        "delta_ci": (out.ci_low, out.ci_high),
        "test": out.test,
        "p_value": out.p_value,
        "p_moses": out.p_moses,
        "effect_size": out.effect_size,
        "resamples": out.resamples,
        "family_size": family_size,
        "holm_family": policy.family,
    }


def adjust(raw: list[dict[str, Any]], policy: SignificancePolicy) -> list[dict[str, Any]]:
    """Rows with `p_holm` (Holm within each task x metric) and `significant` added."""
    adjusted = holm_by_family([r["p_value"] for r in raw], [(r["task"], r["metric"]) for r in raw])
    return [
        {**r, "p_holm": p, "significant": policy.significant(p)}
        for r, p in zip(raw, adjusted, strict=True)
    ]


def compare_runs(
    run_dirs: Sequence[Path],
    *,
    baseline: str | None = None,
    test: Test = "bootstrap",
    seed: int = 1234,
    n_resamples: int = 2000,
    alpha: float = 0.05,
) -> list[Comparison]:
    """Every model against `baseline` (default: each task's first model) per task x metric; a
    task without the named baseline is skipped with a warning.

    `n_resamples`: bootstrap resamples of the CIs, and the least B of a resampling test (the
    policy raises it with the family size). Raises UserError for an unknown baseline.
    """
    data = _load(run_dirs)
    if not data.models:
        raise UserError("no sample records in the given run directories")
    if baseline is not None and baseline not in data.models:
        raise UserError(f"unknown baseline model '{baseline}'{did_you_mean(baseline, data.models)}")
    policy = SignificancePolicy(alpha=alpha, resampling_test=test, min_resamples=n_resamples)
    raw = []
    for task in data.metrics.specs:
        in_task = [m for m in data.models if data.has(task, m)]
        base = baseline or (in_task[0] if in_task else "")
        if not data.has(task, base):
            logger.warning("compare: task %s has no model '%s' (the baseline): skipped", task, base)
            continue
        others = [m for m in data.models if m != base and data.has(task, m)]
        for metric in data.metrics.metrics(task):
            for model in others:
                row = compare_pair(
                    (task, metric), base, model, data, policy, len(others), seed, n_resamples
                )
                if row is not None:
                    raw.append(row)
    return [Comparison(**r) for r in adjust(raw, policy)]
