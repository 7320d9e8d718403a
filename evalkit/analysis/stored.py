"""A report's analysis, computed once and stored: typed sections the page renders without records.

`evalkit report` spends its time loading every sample record and re-running paired tests; the page
itself is quick to draw. So the analysis (summary tables with their "tied with the best" tests,
decisions, every-baseline comparisons, agreement tables, judge reports, pairwise summaries and the
sample browser's columns) is a `StoredAnalysis`, written atomically as JSON next to the report:

- one run: RUN_DIR/analysis.json (`evalkit run` writes it with the report);
- several runs: FILE.analysis.json beside the `-o FILE.html` of the report.

It carries a key, the sha256 of everything the analysis was computed from (`analysis_key`): each
run's run.json bytes, the size and modification time of its samples.jsonl, its directory, the
report's options (baseline, sample cap), `ANALYSIS_SCHEMA` and evalkit's version. A stored
analysis is used only when its key equals the inputs' key now; any other (a judging rewrote
run.json, samples were appended, another baseline) is recomputed and replaces it. Loading one
imports pydantic and evalkit.types only: no records, statistics, scipy or pandas.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit import __version__
from evalkit.errors import NotARunDirectory, UserError
from evalkit.store.atomicio import atomic_write_text
from evalkit.store.redact import redact_secrets
from evalkit.store.run_store import RUN_FILE, SAMPLES_FILE
from evalkit.types import Aggregate, RunRecord, UsageSummary

logger = logging.getLogger(__name__)

# Bump when what is stored, or how it is computed, changes: older stored analyses then miss.
ANALYSIS_SCHEMA = 1
ANALYSIS_FILE = "analysis.json"


class _Stored(BaseModel):
    # NaN and infinities survive the round trip (a Kendall tau over constant ratings is NaN).
    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="constants")


class SummaryCell(_Stored):
    """One model x metric cell of a summary table."""

    aggregate: Aggregate
    best: bool
    best_model: str | None  # the column's best: the baseline of the paired tests
    p_vs_best: float | None  # Holm-adjusted within the column; None for the best itself
    worse_than_best: bool  # significantly, by the paired test


class SummaryTable(_Stored):
    """Per task: rows (model, metric -> cell) ranked by the task's ranking metric."""

    task: str
    metrics: list[str]
    higher_is_better: dict[str, bool]
    rows: list[tuple[str, dict[str, SummaryCell]]]


class Decision(_Stored):
    """The report's one-sentence verdict on a task (evalkit.analysis.decision)."""

    task: str
    metric: str
    metric_source: str  # "primary_metric" or "first metric"
    best: list[str]  # the best model (several when their values are equal)
    tied: list[str]  # not significantly different from the best
    untested: list[str]  # no paired test possible (no shared samples)
    n_models: int
    sentence: str


class StoredCorrelation(_Stored):
    """Kendall tau of a metric with a human-rated dimension at one level, with its 95% CI."""

    value: float
    ci_low: float | None
    ci_high: float | None


class StoredAgreementRow(_Stored):
    metric: str
    scorer: str | None
    seconds_per_1000: float | None
    by_dimension: dict[str, dict[str, StoredCorrelation]]  # dimension -> level -> tau


class StoredAgreementTable(_Stored):
    """evalkit.analysis.metric_agreement.AgreementTable with its (dimension, level) keys as
    triples."""

    task: str
    dimensions: list[str]
    rows: list[StoredAgreementRow]
    best_metrics: list[tuple[str, str, str]]  # (dimension, level, best metric)

    @property
    def best(self) -> dict[tuple[str, str], str]:
        """(dimension, level) -> the best metric, as the template asks for it."""
        return {(d, level): m for d, level, m in self.best_metrics}


class StoredJudgeRow(_Stored):
    """A judge report's row in the Judges tab, already formatted (evalkit.analysis.judge_rows)."""

    task: str
    kind: str
    rubric: str
    judge: str
    figures: list[tuple[str, str]]
    flag: str | None


class StoredRun(_Stored):
    """A run as the page's header and Provenance tab show it."""

    label: str
    run: RunRecord
    config_json: str


class StoredComparison(_Stored):
    """The Compare tab's data (evalkit.analysis.report_comparisons.every_baseline, NaN as null)."""

    baselines: dict[str, str]
    rows: list[dict[str, Any]]
    fields: list[str]
    by_baseline: dict[str, dict[str, list[list[Any]]]]


class StoredAnalysis(_Stored):
    """Everything report.html shows, computed from the runs' records once.

    `browser_json`: the page script's data other than the comparison and scorer trade-off (tasks,
    models, metrics, aggregates, usage, frontiers, heatmaps, the sample browser's columns;
    evalkit.analysis.report_payload.build_payload) as the JSON object the page embeds
    (evalkit.report.render.embed_json): stored as text, it is not parsed and written again on
    every render (for 48,000 outputs that was most of a re-render's time).
    """

    schema_version: int = ANALYSIS_SCHEMA
    key: str
    title: str
    runs: list[StoredRun]
    n_outputs: str
    n_models: int
    n_tasks: int
    summary: list[SummaryTable]
    decisions: list[Decision]
    usage: list[UsageSummary]
    agreement: list[StoredAgreementTable]
    judge_reports: list[StoredJudgeRow]
    pairwise: list[dict[str, Any]]
    comparison: StoredComparison | None
    scorer_pareto: dict[str, Any]
    browser_json: str


def analysis_path(run_dirs: Sequence[Path], output: Path | None) -> Path:
    """Where the analysis of a report lives: in the run directory for one run, else beside the
    report (FILE.analysis.json for FILE.html)."""
    if len(run_dirs) == 1:
        return Path(run_dirs[0]) / ANALYSIS_FILE
    if output is None:
        raise UserError("several runs make one report: say where to write it with -o FILE.html")
    return output.with_name(f"{output.stem}.{ANALYSIS_FILE}")


def analysis_key(run_dirs: Sequence[Path], *, baseline: str | None, max_samples: int | None) -> str:
    """sha256 of what a report's analysis is computed from (see the module's docstring).

    Raises UserError when a path is not a run directory (no run.json).
    """
    digest = hashlib.sha256()
    base_dir = None if baseline is None or not Path(baseline).is_dir() else Path(baseline)
    options = {
        "schema": ANALYSIS_SCHEMA,
        "evalkit": __version__,
        "baseline": baseline,
        "baseline_dir": None if base_dir is None else str(base_dir.resolve()),
        "max_samples": max_samples,
        "runs": [str(Path(d).resolve()) for d in run_dirs],
    }
    digest.update(json.dumps(options, sort_keys=True).encode("utf-8"))
    for run_dir in run_dirs:
        run_path = Path(run_dir) / RUN_FILE
        if not run_path.is_file():
            raise NotARunDirectory(run_dir)
        digest.update(hashlib.sha256(run_path.read_bytes()).digest())
        samples = Path(run_dir) / SAMPLES_FILE
        stat = samples.stat() if samples.is_file() else None
        seen = None if stat is None else [stat.st_size, stat.st_mtime_ns, stat.st_ino]
        digest.update(json.dumps(seen).encode("utf-8"))
    return digest.hexdigest()


def read_analysis(path: Path, key: str) -> StoredAnalysis | None:
    """The analysis stored at `path` when it was computed from inputs with this `key`, else None
    (none stored, another key, an older schema, or a file that does not parse)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    head = text[:200]  # "schema_version" and "key" come first: a stale file is not parsed
    if f'"key":"{key}"' not in head or f'"schema_version":{ANALYSIS_SCHEMA},' not in head:
        return None
    try:
        return StoredAnalysis.model_validate_json(text)
    except ValidationError:
        return None


def write_analysis(path: Path, analysis: StoredAnalysis) -> StoredAnalysis:
    """Store `analysis` at `path` (atomically, known secrets masked) and return it as a later read
    will see it.

    A folder that cannot be written to (a read-only run directory) is logged, not an error: the
    report is still rendered, and the next one computes the analysis again.
    """
    text = redact_secrets(analysis.model_dump_json())  # as run.json, samples and the report
    try:
        atomic_write_text(path, text)
    except (OSError, UserError) as exc:
        logger.warning("analysis not stored at %s (%s); the next report recomputes it", path, exc)
    return StoredAnalysis.model_validate_json(text)


def stored_analysis(
    run_dirs: Sequence[Path],
    where: Path,
    *,
    baseline: str | None = None,
    max_samples: int | None = None,
) -> StoredAnalysis:
    """The analysis of the report of `run_dirs` (options as `evalkit report`'s): the one stored
    at `where` when its key matches the inputs now, else computed from the records
    (evalkit.analysis.report_analysis, imported only then) and stored there.

    Raises UserError for a path that is not a run directory or an unknown baseline.
    """
    key = analysis_key(run_dirs, baseline=baseline, max_samples=max_samples)
    found = read_analysis(where, key)
    if found is not None:
        return found
    from evalkit.analysis.bundle import bundle_runs, load_runs, resolve_baseline
    from evalkit.analysis.report_analysis import analyse_bundle

    bundle = bundle_runs(load_runs(run_dirs, max_samples))
    chosen = resolve_baseline(bundle, run_dirs, baseline)
    analysis = analyse_bundle(bundle, key=key, baseline=chosen, max_samples=max_samples)
    return write_analysis(where, analysis)
