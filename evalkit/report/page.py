"""Render one self-contained report.html from any number of runs: analyse, then draw.

The analysis (paired tests, decisions, agreement, the sample browser's columns) is computed by
evalkit.analysis.report_analysis into a typed `StoredAnalysis`; evalkit.report.render draws the
page from it.
`render_report` (what `evalkit run` writes) also stores the analysis in the run directory, so that
a later `evalkit report RUN_DIR` renders it without loading a record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from evalkit.analysis.bundle import LabelledRun, ReportBundle, bundle_runs
from evalkit.analysis.metric_agreement import AgreementTable
from evalkit.analysis.page_text import embed_json, finite, plural
from evalkit.analysis.report_analysis import analyse_bundle
from evalkit.analysis.run_digest import RunDigest, digest_of
from evalkit.analysis.stored import ANALYSIS_FILE, analysis_key, write_analysis
from evalkit.report.render import (
    _ENV,
    _plotly_js,
    _static,
    content_security_policy,
    render_analysis,
)
from evalkit.types import RunRecord, SampleRecord

# What other modules (the distilled judge's validation page, tests) take from here.
__all__ = [
    "_ENV",
    "_plotly_js",
    "_static",
    "content_security_policy",
    "embed_json",
    "finite",
    "plural",
    "render_bundle",
    "render_report",
    "render_runs",
]


def render_bundle(
    bundle: ReportBundle,
    *,
    baseline: str | None = None,
    agreement: Sequence[AgreementTable] | None = None,
    n_resamples: int = 1000,
    max_samples: int | None = None,
) -> str:
    """The report of `bundle`; `baseline` (a model label) defaults to the first model.

    `max_samples` caps the outputs per task x model in the sample browser (statistics always use
    every record).
    """
    return render_analysis(
        analyse_bundle(
            bundle,
            baseline=baseline,
            agreement=agreement,
            n_resamples=n_resamples,
            max_samples=max_samples,
        )
    )


def render_runs(
    runs: Sequence[LabelledRun],
    *,
    baseline: str | None = None,
    agreement: Sequence[AgreementTable] | None = None,
    max_samples: int | None = None,
) -> str:
    return render_bundle(
        bundle_runs(runs), baseline=baseline, agreement=agreement, max_samples=max_samples
    )


def render_report(
    run: RunRecord,
    records: Sequence[SampleRecord] | RunDigest,
    *,
    label: str = "run",
    agreement: Sequence[AgreementTable] | None = None,
    run_dir: Path | None = None,
) -> str:
    """The report of one run, as `evalkit run` and `evalkit judge` write it.

    With `run_dir` (the run's directory, its run.json and samples.jsonl final), the analysis is
    stored there too, under the key `evalkit report RUN_DIR` computes with the same options, and
    the page is drawn from the stored form (the same bytes a later `evalkit report` draws).
    """
    max_samples = run.config.get("report", {}).get("max_samples")
    cap = None if max_samples is None else int(max_samples)
    digest = records if isinstance(records, RunDigest) else digest_of(records, cap)
    bundle = bundle_runs([LabelledRun(label, run, digest)])
    if run_dir is None:
        return render_bundle(bundle, agreement=agreement, max_samples=cap)
    key = analysis_key([run_dir], baseline=None, max_samples=cap)
    analysis = analyse_bundle(bundle, key=key, agreement=agreement, max_samples=cap)
    return render_analysis(write_analysis(run_dir / ANALYSIS_FILE, analysis))
