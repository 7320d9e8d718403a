"""Noise-aware regression gates: fail CI only when quality dropped by more than the noise.

`evalkit gate --baseline BASELINE RUN` compares, per task x model x metric, the run with a baseline
(a run directory, or a file written by `evalkit baseline save`) on the samples both scored, with the
paired test of `evalkit.stats.significance_policy` (the one `evalkit compare` and the report use). A
metric regresses only when its change is significantly worse than the allowed drop: the test of
"change = -max_drop" (0 by default, then the same p as `evalkit compare`), Holm-adjusted within
each task x metric, is below 0.05 and the change lies beyond the drop. It breaks a floor only when
its whole 95% CI lies below the floor. For every check the gate also reports the minimum
detectable effect (what a drop must exceed to be caught at 80% power, from the observed variance),
so a suite too small for the configured drop says so instead of passing silently.
"""

from __future__ import annotations

import gzip
import html
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalkit import __version__
from evalkit.analysis.compare import ok_rows
from evalkit.analysis.rundir import open_run
from evalkit.errors import UserError
from evalkit.stages.metricspec import MetricTable
from evalkit.stats.significance_policy import (
    PairedOutcome,
    SignificancePolicy,
    holm_by_family,
    paired_outcome,
)
from evalkit.store.atomicio import atomic_write_bytes, atomic_write_text
from evalkit.tasks.datafiles import read_yaml_mapping
from evalkit.textfiles import require_file
from evalkit.validation import first_error

Z_ONE_SIDED_95, Z_POWER_80 = 1.6449, 0.8416
Rows = dict[str, list[float]]  # sample id -> the metric's row (its value, or corpus statistics)


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    task: str = "*"
    metric: str = "*"
    model: str = "*"
    max_drop: float | None = Field(None, ge=0, description="Allowed drop, in the metric's units.")
    floor: float | None = None

    def matches(self, task: str, model: str, metric: str) -> bool:
        return all(
            p in ("*", v)
            for p, v in ((self.task, task), (self.model, model), (self.metric, metric))
        )


class GateConfig(BaseModel):
    """Thresholds: `max_drop` for every check, refined by rules (the last matching rule wins)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_drop: float = Field(0.0, ge=0)
    rules: list[Rule] = Field(default_factory=list)
    seed: int = 1234
    n_resamples: int = Field(1000, ge=100)

    @classmethod
    def load(cls, path: Path | None, max_drop: float | None) -> GateConfig:
        data: dict[str, Any] = {}
        if path is not None:
            data = read_yaml_mapping(path, "gate config")
        if max_drop is not None:
            data["max_drop"] = max_drop
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"{path or 'gate config'}: {first_error(exc)}") from None

    def thresholds(self, task: str, model: str, metric: str) -> tuple[float, float | None]:
        max_drop, floor = self.max_drop, None
        for rule in self.rules:
            if rule.matches(task, model, metric):
                max_drop = rule.max_drop if rule.max_drop is not None else max_drop
                floor = rule.floor if rule.floor is not None else floor
        return max_drop, floor


@dataclass(frozen=True)
class Snapshot:
    """What a gate needs of a run: per task x model x metric, each sample's row; and how each
    metric aggregates (`metric_specs`, as run.json stores them; {} for a run or baseline file
    written before they were stored: then `task_scorers` are rebuilt)."""

    source: str
    task_scorers: dict[str, Any]
    higher_is_better: dict[str, bool]
    rows: dict[str, dict[str, dict[str, Rows]]]  # task -> model -> metric -> rows
    metric_specs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def metric_table(self) -> MetricTable:
        table = MetricTable()
        table.add(self.metric_specs, self.task_scorers)
        return table


def snapshot_of_run(run_dir: Path, *, baseline: bool = False) -> Snapshot:
    """The gate's view of a run directory.

    Raises UserError when a baseline run is not complete (a killed run holds only the models
    and samples it reached: gating against it would silently skip the rest), and when
    samples.jsonl holds fewer scored samples of a task x model x metric than run.json counted
    (the directory changed after the run: its aggregates and its samples disagree)."""
    stored = open_run(run_dir)
    run = stored.record
    if baseline and run.status != "complete":
        raise UserError(
            f"{run_dir}: the run is {run.status}, not complete: a baseline from it would gate "
            "only the models and samples it reached (resume it by rerunning its command)"
        )
    digest = stored.digest(max_samples=0)  # columns only: no record is kept whole
    stored.check_samples_agree(digest)
    rows: dict[str, dict[str, dict[str, Rows]]] = {}
    for (task, model), group in digest.groups.items():
        for metric in group.metrics:
            positions, matrix = ok_rows(group, metric)
            if positions:
                rows.setdefault(task, {}).setdefault(model, {})[metric] = {
                    sample_id: matrix[place].tolist() for sample_id, place in positions.items()
                }
    better = {a.metric: a.higher_is_better for a in run.aggregates}
    specs = {task: [s.model_dump(mode="json") for s in v] for task, v in run.metric_specs.items()}
    return Snapshot(str(run_dir), dict(run.task_scorers), better, rows, specs)


def save_baseline(run_dir: Path, output: Path) -> Path:
    snap = snapshot_of_run(run_dir, baseline=True)
    payload = {
        "evalkit_baseline": 1,
        "evalkit_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **asdict(snap),
    }
    text = json.dumps(payload, separators=(",", ":"))
    if output.suffix == ".gz":
        atomic_write_bytes(output, gzip.compress(text.encode("utf-8")))
    else:
        atomic_write_text(output, text)
    return output


def load_baseline(path: Path) -> Snapshot:
    if path.is_dir():
        return snapshot_of_run(path, baseline=True)
    require_file(path, f"baseline not found: {path}", "baseline file")
    raw = path.read_bytes()
    try:
        data = json.loads(gzip.decompress(raw) if path.suffix == ".gz" else raw)
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: not a baseline file ({exc})") from None
    if not isinstance(data, dict) or data.get("evalkit_baseline") != 1:
        raise UserError(f"{path}: not a baseline file (write one with `evalkit baseline save`)")
    return Snapshot(
        data["source"], data["task_scorers"], data["higher_is_better"], data["rows"],
        data.get("metric_specs", {}),
    )  # fmt: skip


@dataclass(frozen=True)
class Check:
    task: str
    model: str
    metric: str
    n: int
    baseline: float
    value: float
    change: (
        float  # value - baseline, in the metric's units (negative = worse when higher is better)
    )
    ci_low: float
    ci_high: float
    max_drop: float
    floor: float | None
    mde: float  # minimum detectable drop at 80% power (one-sided 5%)
    status: str  # pass | regression | below_floor | missing (in the baseline, not in the run)
    underpowered: bool
    test: str  # the policy's paired test: paired_t | mcnemar | bootstrap
    p_value: float  # of "change = -max_drop" (two-sided)
    p_holm: float  # Holm-adjusted within the check's task x metric

    @property
    def failed(self) -> bool:
        return self.status != "pass"


POLICY = SignificancePolicy()


def run_gate(baseline: Snapshot, run: Snapshot, config: GateConfig) -> list[Check]:
    """Every task x model x metric of `run` also in `baseline`, tested by the shared policy with
    Holm within each task x metric. Raises UserError when nothing is shared."""
    pending = [
        (task, model, metric, base_rows, rows)
        for task, per_model in run.rows.items()
        for model, per_metric in per_model.items()
        for metric, rows in per_metric.items()
        if (base_rows := baseline.rows.get(task, {}).get(model, {}).get(metric))
        and len(base_rows.keys() & rows.keys()) >= 2
    ]
    if not pending:
        raise UserError(
            f"nothing to compare: no task x model x metric of {run.source} is in the baseline"
        )
    compared = {(task, model, metric) for task, model, metric, _, _ in pending}
    expected = [
        (task, model, metric)
        for task, per_model in baseline.rows.items()
        for model, per_metric in per_model.items()
        for metric in per_metric
    ]
    _check_rules(config, expected)
    missing = [where for where in expected if where not in compared]
    sizes = Counter((task, metric) for task, _, metric, _, _ in pending)
    metrics = run.metric_table()  # the run's stored specs: no scorer is built for them
    tested = []
    for task, model, metric, base_rows, rows in pending:
        where = (task, model, metric)
        tested.append(_test(where, base_rows, rows, metrics, run, config, sizes[(task, metric)]))
    adjusted = holm_by_family([t[1].p_value for t in tested], [(t[0][0], t[0][2]) for t in tested])
    checks = [_check(*t, p_holm, run, config) for t, p_holm in zip(tested, adjusted, strict=True)]
    return checks + [_missing(where, config) for where in missing]


def _check_rules(config: GateConfig, expected: Sequence[tuple[str, str, str]]) -> None:
    """A rule that matches no task x model x metric of the baseline is a typo, not a no-op.
    Raises UserError naming it."""
    for number, rule in enumerate(config.rules, start=1):
        if not any(rule.matches(*where) for where in expected):
            raise UserError(
                f"gate config: rule {number} (task={rule.task}, model={rule.model}, "
                f"metric={rule.metric}) matches no task x model x metric of the baseline"
            )


def _missing(where: tuple[str, str, str], config: GateConfig) -> Check:
    """A baseline check the run cannot answer (the model, task or metric is gone, or fewer than
    two samples are shared): a failure, since a run that stopped producing it must not pass."""
    task, model, metric = where
    max_drop, floor = config.thresholds(task, model, metric)
    nan = math.nan
    return Check(
        task, model, metric, 0, nan, nan, nan, nan, nan, max_drop, floor, nan, "missing",
        underpowered=False, test="none", p_value=nan, p_holm=nan,
    )  # fmt: skip


Tested = tuple[tuple[str, str, str], PairedOutcome, np.ndarray, Any]


def _test(
    where: tuple[str, str, str],
    base_rows: Rows,
    rows: Rows,
    metrics: MetricTable,
    run: Snapshot,
    config: GateConfig,
    family_size: int,
) -> Tested:
    """The policy's test of "change = -max_drop" on the shared samples (sorted by id)."""
    task, model, metric = where
    ids = sorted(base_rows.keys() & rows.keys())
    a = np.array([base_rows[i] for i in ids], dtype=np.float64)
    b = np.array([rows[i] for i in ids], dtype=np.float64)
    statistic = metrics.statistic(task, metric, len(ids))
    sign = 1.0 if run.higher_is_better.get(metric, True) else -1.0
    max_drop, _ = config.thresholds(task, model, metric)
    result = paired_outcome(
        a, b, statistic, corpus=metrics.is_corpus(task, metric), policy=POLICY,
        family_size=family_size,
        seed=config.seed, ci_resamples=config.n_resamples, null_delta=-sign * max_drop,
    )  # fmt: skip
    result = metrics.scorer_outcome(
        (task, metric, model), (a, b), result, null_delta=-sign * max_drop, seed=config.seed
    )
    return where, result, b, statistic


def _check(
    where: tuple[str, str, str],
    result: PairedOutcome,
    b: np.ndarray,
    statistic: Any,
    p_holm: float,
    run: Snapshot,
    config: GateConfig,
) -> Check:
    task, model, metric = where
    higher = run.higher_is_better.get(metric, True)
    sign = 1.0 if higher else -1.0  # worse = a negative signed change
    max_drop, floor = config.thresholds(task, model, metric)
    se = (result.ci_high - result.ci_low) / (2 * 1.96)
    mde = (Z_ONE_SIDED_95 + Z_POWER_80) * se
    _, value_low, value_high = _value_ci(b, statistic, config)
    status = "pass"
    if POLICY.significant(p_holm) and sign * result.delta < -max_drop:
        status = "regression"
    elif floor is not None and (value_high < floor if higher else value_low > floor):
        status = "below_floor"
    return Check(
        task, model, metric, result.n, result.value_a, result.value_b, result.delta,
        result.ci_low, result.ci_high, max_drop, floor, mde, status,
        underpowered=mde > max(max_drop, 1e-12), test=result.test, p_value=result.p_value,
        p_holm=p_holm,
    )  # fmt: skip


def _value_ci(rows: np.ndarray, statistic: Any, config: GateConfig) -> tuple[float, float, float]:
    from evalkit.stats.bootstrap import corpus_ci

    return corpus_ci(rows, statistic, config.seed, config.n_resamples)


# ---- output ----------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.4g}"


_MD_SPECIAL = "\\`*[]|"  # "_" stays: names like rouge_l would read badly, and GFM ignores it


def md_text(text: str) -> str:
    """`text` safe inside a Markdown table cell: HTML escaped (no tag, no entity survives),
    Markdown punctuation and the cell separator `|` backslash-escaped, newlines flattened."""
    escaped = html.escape(" ".join(str(text).split()), quote=True)
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in escaped)


def md_code(text: str) -> str:
    """`text` as an inline code span; a fence longer than any backtick run inside it."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    fence = "`" * (max((len(r) for r in re.findall("`+", flat)), default=0) + 1)
    return f"{fence} {flat} {fence}" if "`" in flat else f"`{flat}`"


def markdown_summary(checks: Sequence[Check], baseline: str, run: str) -> str:
    """The gate's Markdown report. Every name from a run (task, model, metric, paths) is
    escaped: a model called `a|b` or `<img onerror=...>` cannot break the table or add HTML."""
    failed = [c for c in checks if c.failed]
    head = "FAILED" if failed else "passed"
    lines = [
        f"## evalkit gate: {head}",
        "",
        f"{len(checks)} checks of {md_code(run)} against {md_code(baseline)}: {len(failed)} "
        "failed. A check fails only when the change is significantly worse than the allowed drop "
        "(paired t-test, McNemar or bootstrap; Holm within each task x metric, p (Holm) < 0.05) or "
        "its 95% CI lies below the floor.",
        "",
        "| | task | model | metric | baseline | run | change [95% CI] | allowed drop | MDE | n "
        "| p (Holm) |",
        "|---|---|---|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for c in sorted(checks, key=lambda c: (not c.failed, c.task, c.model, c.metric)):
        if c.status == "missing":
            lines.append(
                f"| MISSING | {md_text(c.task)} | {md_text(c.model)} | {md_text(c.metric)} "
                "| | | not in the run (or < 2 shared samples) | | | 0 | |"
            )
            continue
        mark = {"pass": "ok", "regression": "REGRESSION", "below_floor": "BELOW FLOOR"}[c.status]
        mde = _fmt(c.mde) + (" (too small a suite)" if c.underpowered else "")
        lines.append(
            f"| {mark} | {md_text(c.task)} | {md_text(c.model)} | {md_text(c.metric)} "
            f"| {_fmt(c.baseline)} | {_fmt(c.value)} "
            f"| {c.change:+.4g} [{c.ci_low:+.4g}, {c.ci_high:+.4g}] | {_fmt(c.max_drop)} | {mde} "
            f"| {c.n} | {c.p_holm:.3g} |"
        )
    under = [c for c in checks if c.underpowered]
    if under:
        lines += [
            "",
            f"{len(under)} checks cannot detect their allowed drop: the minimum detectable effect "
            "(80% power) exceeds it. Add samples or allow a larger drop.",
        ]
    return "\n".join(lines) + "\n"


def junit_xml(checks: Sequence[Check]) -> str:
    failures = sum(c.failed for c in checks)
    cases = []
    for c in checks:
        name = quoteattr(f"{c.task}.{c.model}.{c.metric}")
        body = ""
        if c.status == "missing":
            message = (
                f"missing: {c.task} / {c.model} / {c.metric} is in the baseline but not in the "
                "run (or fewer than 2 samples are shared)"
            )
            body = f"<failure message={quoteattr(message)}>{escape(message)}</failure>"
        elif c.failed:
            message = (
                f"{c.status}: {c.metric} {_fmt(c.baseline)} -> {_fmt(c.value)} "
                f"(change {c.change:+.4g}, 95% CI [{c.ci_low:+.4g}, {c.ci_high:+.4g}], "
                f"allowed drop {_fmt(c.max_drop)}, floor {_fmt(c.floor)})"
            )
            body = f"<failure message={quoteattr(message)}>{escape(message)}</failure>"
        cases.append(f'  <testcase classname="evalkit.gate" name={name}>{body}</testcase>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<testsuite name="evalkit gate" tests="{len(checks)}" failures="{failures}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )
