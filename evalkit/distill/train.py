"""`evalkit judge distill`: read labels, cross-validate the student by group next to the
baselines, train the final student on everything, and save it with its card and report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from evalkit import __version__
from evalkit.distill.artifact import DistillResult, JudgeMeta, weights_sha256, write_meta
from evalkit.distill.card import model_card
from evalkit.distill.config import DistillConfig, FileSource
from evalkit.distill.domains import group_z_targets, transfer_predictions
from evalkit.distill.examples import Dataset, Example, load_dataset
from evalkit.distill.features import FEATURES_VERSION, FeatureExtractor
from evalkit.distill.head import Scale
from evalkit.distill.perset import per_set_table, rouge2_baselines
from evalkit.distill.students import (
    ENCODER_FREE,
    METRIC_SETS,
    CrossEncoderStudent,
    EncoderHeadStudent,
    Student,
    label_matrix,
)
from evalkit.distill.validation import (
    Table,
    calibration,
    correlations,
    grouped_folds,
    length_baseline,
    out_of_fold,
    preference_agreement,
    rouge_l,
)
from evalkit.distill.view import render_validation
from evalkit.errors import UserError
from evalkit.store.atomicio import atomic_write_text

VALIDATION_FILE = "validation.json"
REPORT_FILE = "validation.html"


def _scales(config: DistillConfig, dataset: Dataset, y: np.ndarray, m: np.ndarray) -> list[Scale]:
    if config.mode == "pairwise":
        return [Scale(0.0, 1.0) for _ in dataset.dimensions]
    scales = []
    for j, dim in enumerate(dataset.dimensions):
        labeled = y[m[:, j] > 0, j]
        low, high = config.scale.get(dim, (float(labeled.min()), float(labeled.max())))
        if labeled.min() < low or labeled.max() > high:
            raise UserError(
                f"labels of '{dim}' run from {labeled.min():g} to {labeled.max():g}, "
                f"outside its scale [{low:g}, {high:g}]"
            )
        scales.append(Scale(low, high))
    return scales


def student_factory(
    config: DistillConfig, scales: list[Scale], extractor: FeatureExtractor | None
) -> Callable[[], Student]:
    pairwise = config.mode == "pairwise"
    if config.student.kind == "encoder_head":
        assert extractor is not None
        shared_rows: dict[tuple[str, bool], np.ndarray] = {}

        def head() -> Student:
            return EncoderHeadStudent(
                config.student, scales, pairwise, extractor, config.seed, shared_rows
            )

        return head
    return lambda: CrossEncoderStudent(config.student, scales, pairwise, config.seed)


def validate(
    config: DistillConfig,
    dataset: Dataset,
    predicted: np.ndarray,
    y: np.ndarray,
    m: np.ndarray,
    folds: np.ndarray,
    extractor: FeatureExtractor | None,
) -> dict[str, Any]:
    examples, seed, n = dataset.examples, config.seed, config.validation.n_resamples
    labels = np.where(m > 0, y, np.nan)
    dims: dict[str, Table] = {}
    baselines = _baselines(config, dataset, y, m, folds, extractor)
    for j, dim in enumerate(dataset.dimensions):
        if config.mode == "pairwise":
            dims[dim] = {
                "student": {"teacher": preference_agreement(predicted[:, j], labels[:, j], seed, n)}
            }
            dims[dim]["calibration"] = calibration(predicted[:, j], labels[:, j])
            continue
        human = np.array([e.human.get(dim, np.nan) for e in examples])
        row: Table = {
            "student": {"teacher": correlations(predicted[:, j], labels[:, j], examples, seed, n)}
        }
        if not np.all(np.isnan(human)):
            row["student"]["human"] = correlations(predicted[:, j], human, examples, seed, n)
            row["teacher_vs_human"] = correlations(labels[:, j], human, examples, seed, n)
        for name, values in baselines.items():
            column = values if values.ndim == 1 else values[:, j]
            row[name] = {"teacher": correlations(column, labels[:, j], examples, seed, n)}
        row["calibration"] = calibration(predicted[:, j], labels[:, j])
        dims[dim] = row
    return {"dimensions": dims, "folds": int(folds.max()) + 1, "n_examples": len(examples)}


def _baselines(
    config: DistillConfig,
    dataset: Dataset,
    y: np.ndarray,
    m: np.ndarray,
    folds: np.ndarray,
    extractor: FeatureExtractor | None,
) -> dict[str, np.ndarray]:
    if config.mode == "pairwise" or not config.validation.baselines:
        return {}
    examples = dataset.examples
    out = {"rouge_l": rouge_l(examples), "length_only": length_baseline(examples, y, m, folds)}
    embedder = extractor or FeatureExtractor()  # the `embedding` scorer's model
    out["embedding_similarity"] = embedder.reference_similarity(
        [e.response for e in examples], [e.references for e in examples]
    )
    return out


def _per_set(
    config: DistillConfig,
    dataset: Dataset,
    predicted: np.ndarray,
    y: np.ndarray,
    m: np.ndarray,
    make_student: Callable[[], Student],
) -> dict[str, Any]:
    """The per-set table (out-of-fold predictions) and, when asked, the transfer table."""
    files = [s for s in config.data if isinstance(s, FileSource)]
    judged_by = {s.set_name: dict(s.judged_by) for s in files}
    names = {s.set_name: {d: f.rsplit(".", 1)[-1] for d, f in s.labels.items()} for s in files}
    examples, dims = dataset.examples, dataset.dimensions
    seed, n = config.seed, config.validation.n_resamples
    baselines = rouge2_baselines(examples)
    out: dict[str, Any] = {
        "per_set": per_set_table(examples, dims, predicted, judged_by, seed, n, baselines, names)
    }
    if config.validation.transfer:
        domains = {s.set_name: s.domain or s.set_name for s in files}
        held_out = _HeldOut(examples, dims, y, m, make_student, judged_by, names, baselines, config)
        transfer = [
            {**r, "domain": domains.get(r["set"], r["set"])} for r in held_out.table(domains)
        ]
        # Leave one set out where its domain holds other sets too (a set alone in its domain has
        # the same training data either way, and so the same figure).
        sets = list(dict.fromkeys(e.dataset for e in examples))
        shared = {
            a for a in sets if any(b != a and domains.get(b, b) == domains.get(a, a) for b in sets)
        }
        if not transfer:  # one domain: no other domain to train on, no table
            shared = set()
        by_set = {(r["set"], r["rated"]): r for r in held_out.table({a: a for a in sets}, shared)}
        for r in transfer:
            own = by_set.get((r["set"], r["rated"]), r)
            r["other_sets"], r["other_sets_dimension"] = own["judge"], own["judge_dimension"]
        out["transfer"] = transfer
    return out


@dataclass
class _HeldOut:
    """The per-set table of students trained without the held-out unit (a domain, or a set)."""

    examples: list[Example]
    dims: list[str]
    y: np.ndarray
    m: np.ndarray
    make_student: Callable[[], Student]
    judged_by: dict[str, dict[str, str]]
    names: dict[str, dict[str, str]]
    baselines: tuple[np.ndarray, np.ndarray]
    config: DistillConfig

    def table(self, units: dict[str, str], held: set[str] | None = None) -> list[dict[str, Any]]:
        """`units` maps a set to its unit; each unit in `held` (default: all) is held out in turn
        and only its sets' rows are tabled. A judge dimension no other unit labels is read as
        `validation.transfer_fallback` when that is set."""
        if held is not None and not held:
            return []
        examples, dims = self.examples, self.dims
        label = "leave one domain out" if held is None else "leave one set out"
        predicted = transfer_predictions(
            self.make_student, examples, self.y, self.m, units, held, self.config.progress, label
        )
        rows = [i for i in range(len(examples)) if not np.isnan(predicted[i]).all()]
        if not rows:  # one domain only: nothing to train on
            return []
        judged_by, fallback = self.judged_by, self.config.validation.transfer_fallback
        if fallback is not None:
            judged_by = _with_fallback(examples, dims, self.m, units, judged_by, fallback)
        baselines = (self.baselines[0][rows], self.baselines[1][rows])
        validation = self.config.validation
        return per_set_table(
            [examples[i] for i in rows], dims, predicted[rows], judged_by,
            self.config.seed, validation.n_resamples, baselines, self.names,
        )  # fmt: skip


def _with_fallback(
    examples: list[Example],
    dims: list[str],
    m: np.ndarray,
    domains: dict[str, str],
    judged_by: dict[str, dict[str, str]],
    fallback: str,
) -> dict[str, dict[str, str]]:
    """judged_by where each set's label dimensions that no other domain labels map to fallback."""
    out = {name: dict(mapping) for name, mapping in judged_by.items()}
    for name in dict.fromkeys(e.dataset for e in examples):
        domain = domains.get(name, name)
        outside = m[[domains.get(e.dataset, e.dataset) != domain for e in examples]]
        rows = m[[e.dataset == name for e in examples]]
        for j, dim in enumerate(dims):
            if rows[:, j].any() and not outside[:, j].any() and dim != fallback:
                out.setdefault(name, {})[dim] = fallback
    return out


def distill(config: DistillConfig) -> DistillResult:
    pairwise = config.mode == "pairwise"
    dataset = load_dataset(config.data, pairwise)
    y, m = label_matrix(dataset.examples, dataset.dimensions)
    if config.student.target != "label":
        ranked = config.student.target == "group_rank"
        y = group_z_targets(dataset.examples, dataset.dimensions, y, m, config.scale, ranked)
        y = y.astype(np.float32)
    scales = _scales(config, dataset, y, m)
    extractor = (
        FeatureExtractor(
            config.student.encoder,
            dtype=config.student.dtype,
            use_encoder=config.student.feature_set not in ENCODER_FREE,
            metrics=config.student.feature_set in METRIC_SETS,
        )
        if config.student.kind == "encoder_head"
        else None
    )
    make_student = student_factory(config, scales, extractor)
    folds = grouped_folds([e.group for e in dataset.examples], config.validation.folds, config.seed)
    predicted = out_of_fold(make_student, dataset.examples, y, m, folds, config.progress)
    report = validate(config, dataset, predicted, y, m, folds, extractor)
    if config.validation.per_set and not pairwise:
        report.update(_per_set(config, dataset, predicted, y, m, make_student))
    directory = config.output_dir
    directory.mkdir(parents=True, exist_ok=True)
    meta = JudgeMeta(
        name=config.name,
        version=config.version,
        mode=config.mode,
        dimensions=dataset.dimensions,
        scales=[(s.low, s.high) for s in scales],
        student=config.student.model_dump(exclude={"encoder"}),
        encoder=config.student.encoder,
        features_version=FEATURES_VERSION,
        data_sha256=dataset.sha256,
        teachers=dataset.teachers,
        n_examples=len(dataset.examples),
        evalkit_version=__version__,
    )
    final = None
    if config.train_final:
        final = make_student()
        final.fit(dataset.examples, y, m)
        final.save(directory)
        meta = replace(meta, weights_sha256=weights_sha256(directory, config.student.kind))
        write_meta(directory, meta)
    validation = {"config": config.model_dump(), **report}
    atomic_write_text(directory / VALIDATION_FILE, json.dumps(validation, indent=1) + "\n")
    result = DistillResult(directory, meta, validation, final)
    atomic_write_text(directory / REPORT_FILE, render_validation(result))
    if config.train_final:
        atomic_write_text(directory / "README.md", model_card(result, config.description))
    return result
