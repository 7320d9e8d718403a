"""Runs gathered for one report: records, aggregates and usage of any number of runs, merged.

When the same model name appears in several runs (a sweep over `model.quantization=none,int8`,
say), each gets a label that names what differs between those runs' configurations
(`tiny [quantization=int8]`), so variants sit side by side instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evalkit.analysis.run_digest import RunDigest, digest_of
from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError, did_you_mean
from evalkit.stages.metricspec import MetricTable
from evalkit.store.columns import GroupColumns
from evalkit.types import Aggregate, RunRecord, SampleRecord, UsageSummary

# Keys that differ between any two runs without saying anything about the model variant.
_IGNORED_KEYS = ("run_dir", "sweep_dir", "progress", "cache", "report", "scoring", "retry_failed")


@dataclass(frozen=True)
class LabelledRun:
    """One run of a report: its label (the run directory's name), run.json and its latest
    sample records as a `RunDigest` (records in memory are digested when it is made)."""

    label: str
    run: RunRecord
    digest: RunDigest

    def __post_init__(self) -> None:
        if not isinstance(self.digest, RunDigest):  # a list of records
            object.__setattr__(self, "digest", digest_of(self.digest))

    @property
    def models(self) -> list[str]:
        return self.digest.models


@dataclass
class ReportBundle:
    """Everything a report shows, with model names made unique across runs: the runs' columns
    (`groups`, every number of every latest record) and the records kept whole (`shown` in the
    sample browser, `human_rated` for the heatmap's human columns)."""

    runs: list[LabelledRun]
    groups: dict[tuple[str, str], GroupColumns]
    shown: list[SampleRecord]
    human_rated: list[SampleRecord]
    aggregates: list[Aggregate]
    usage: list[UsageSummary]
    n_records: int = 0
    group_runs: dict[tuple[str, str], int] = field(default_factory=dict)  # group -> run's place
    metrics: MetricTable = field(default_factory=MetricTable)  # stored specs: no scorer is built
    run_models: list[list[str]] = field(default_factory=list)  # per run, its model labels

    # Computed once, when first asked (after `bundle_runs` has filled the lists): comparisons and
    # the payload ask for them inside loops.
    @cached_property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(a.task for a in self.aggregates))

    @cached_property
    def models(self) -> list[str]:
        return list(dict.fromkeys(model for _, model in self.groups))

    def task_models(self, task: str) -> list[str]:
        """The models with records of `task`, in the order their first record was written."""
        return [model for t, model in self.groups if t == task]

    @property
    def seed(self) -> int:
        return self.runs[0].run.seed


def load_runs(run_dirs: Sequence[Path], max_samples: int | None = None) -> list[LabelledRun]:
    """Each run directory read (`evalkit.analysis.rundir.open_run`), labelled by its name, with its
    latest records as a digest (`StoredRun.digest`: the sample browser's first `max_samples` per
    task x model kept whole, references restored from unchanged task data). A run that is not
    complete is named in a warning; one whose samples.jsonl lacks samples run.json counted is a
    UserError (`StoredRun.check_samples_agree`)."""
    runs = [open_run(path) for path in run_dirs]
    labelled = []
    for run in runs:
        run.warn_if_incomplete()
        digest = run.digest(max_samples)
        run.check_samples_agree(digest)
        labelled.append(LabelledRun(run.name, run.record, digest))
    return labelled


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in config.items():
        if not prefix and key in _IGNORED_KEYS:
            continue
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)
    return out


def _variant_names(runs: Sequence[LabelledRun]) -> list[str]:
    """Per run, the config settings that set it apart from the other runs (short keys)."""
    flat = [_flatten(r.run.config) for r in runs]
    keys = sorted({k for f in flat for k in f})
    differing = [k for k in keys if len({f.get(k) for f in flat}) > 1]
    names = []
    for run, f in zip(runs, flat, strict=True):
        parts = [f"{k.removeprefix('model.')}={f.get(k)}" for k in differing]
        names.append(", ".join(parts) if parts else run.label)
    return names


def model_labels(runs: Sequence[LabelledRun]) -> list[dict[str, str]]:
    """Per run: model name -> label, unique across runs (a name in one run only stays as it
    is; one in several becomes `name [what differs]`, or `name [run#i]` when nothing does)."""
    owners: dict[str, list[int]] = {}
    for i, run in enumerate(runs):
        for model in run.models:
            owners.setdefault(model, []).append(i)
    labels: list[dict[str, str]] = [{} for _ in runs]
    for model, indices in owners.items():
        if len(indices) == 1:
            labels[indices[0]][model] = model
            continue
        variants = _variant_names([runs[i] for i in indices])
        if len(set(variants)) < len(variants):
            variants = [f"{runs[i].label}#{n}" for n, i in enumerate(indices)]
        for i, variant in zip(indices, variants, strict=True):
            labels[i][model] = f"{model} [{variant}]"
    return labels


def _renamed(run: LabelledRun, names: dict[str, str]) -> tuple[RunDigest, list[Any], list[Any]]:
    def rename(items: Sequence[Any]) -> list[Any]:
        return [
            x
            if names.get(x.model, x.model) == x.model
            else x.model_copy(update={"model": names[x.model]})
            for x in items
        ]

    return run.digest.renamed(names), rename(run.run.aggregates), rename(run.run.usage)


def bundle_runs(runs: Sequence[LabelledRun]) -> ReportBundle:
    if not runs:
        raise UserError("no runs to report on")
    bundle = ReportBundle(list(runs), {}, [], [], [], [])
    for place, (run, names) in enumerate(zip(runs, model_labels(runs), strict=True)):
        digest, aggregates, usage = _renamed(run, names)
        for key, group in digest.groups.items():
            bundle.groups.setdefault(key, group)
            bundle.group_runs.setdefault(key, place)
        bundle.shown.extend(digest.shown)
        bundle.human_rated.extend(digest.human_rated)
        bundle.n_records += digest.n_records
        bundle.aggregates.extend(aggregates)
        bundle.usage.extend(usage)
        bundle.run_models.append(digest.models)
        bundle.metrics.add(run.run.metric_specs, dict(run.run.task_scorers))
    return bundle


def resolve_baseline(
    bundle: ReportBundle, run_dirs: Sequence[Path], baseline: str | None
) -> str | None:
    """A model label, or a run directory standing for its (first) model."""
    if baseline is None or baseline in bundle.models:
        return baseline
    for path, models in zip(run_dirs, bundle.run_models, strict=True):
        if models and Path(baseline).resolve() == Path(path).resolve():
            return models[0]
    raise UserError(
        f"--baseline '{baseline}' is neither a model of these runs nor one of their directories"
        f"{did_you_mean(baseline, bundle.models)}"
    )
