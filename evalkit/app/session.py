"""What `evalkit run` does once the config is valid: run, write the report, print the results."""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from evalkit.abort import RunAborted, RunFailed
from evalkit.analysis.leaderboard import print_leaderboards
from evalkit.analysis.metric_agreement import AgreementTable, agreement_tables
from evalkit.analysis.run_digest import RunDigest, read_digest
from evalkit.config import RunConfig
from evalkit.console.logs import verbosity_from_env
from evalkit.console.progress import RunProgress
from evalkit.console.terminal import results_console, stderr_console
from evalkit.report.page import render_report
from evalkit.stages.pipeline import estimate_evaluation, run_evaluation
from evalkit.stages.usage import cut_off_lines
from evalkit.store.redact import redact
from evalkit.store.run_store import RunStore
from evalkit.types import RunRecord

_LISTED_FAILURES = 10
logger = logging.getLogger(__name__)


def report_failures(digest: RunDigest, console: Console) -> None:
    """Name the samples whose generation failed, and how to redo exactly those."""
    total = sum(digest.n_failed.values())
    if not total:
        return
    summary = ", ".join(f"{task}/{model}: {n}" for (task, model), n in digest.n_failed.items())
    console.print(
        Text.assemble(
            (f"{total} samples failed", "yellow"),
            f" ({summary}); rerun with the same run_dir and retry_failed=true"
            " to redo exactly those",
        )
    )
    for record in digest.failed[:_LISTED_FAILURES]:
        console.print(
            Text(
                f"  {record.task}/{record.model}/{record.sample_id}: "
                f"{redact(record.generation.error or '')}"
            )
        )


def report_truncations(record: RunRecord, console: Console) -> None:
    """One line naming the metrics whose samples had text cut to an encoder's maximum length."""
    groups: dict[tuple[str, str, int, int], list[str]] = {}
    for a in record.aggregates:
        if a.n_truncated:
            groups.setdefault((a.task, a.model, a.n_truncated, a.n), []).append(a.metric)
    if not groups:
        return
    parts = [
        f"{task}/{model} {', '.join(metrics)}: {cut} of {n}"
        for (task, model, cut, n), metrics in groups.items()
    ]
    console.print(
        Text.assemble(
            ("note:", "yellow"),
            f" text longer than the encoder takes was truncated ({'; '.join(parts)} samples;"
            " flagged in samples.jsonl); scorer option long_text=window scores every token",
        ),
        highlight=False,
        soft_wrap=True,
    )


def check_failures(digest: RunDigest, fail_on_errors: bool) -> None:
    """Raise RunAborted (exit 3) when every sample failed, RunFailed (exit 1) when some did and
    `fail_on_errors` is set; the message counts them and quotes the first error."""
    failed, records = sum(digest.n_failed.values()), digest.n_records
    if not failed:
        return
    first = redact(digest.failed[0].generation.error or "")
    counts = f"{failed} of {records} samples failed; first error: {first}"
    retry = "; rerun with the same run_dir and retry_failed=true to redo exactly those"
    if failed == records:
        raise RunAborted(f"every sample failed ({counts}){retry}")
    if fail_on_errors:
        raise RunFailed(f"{counts} (fail_on_errors=true){retry}")


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def print_usage(record: RunRecord, console: Console) -> None:
    """Tokens, cost and latency per task x model, when a backend measured any of them."""
    rows = [u for u in record.usage if u.latency_p50_s is not None or u.cost_usd is not None]
    if not rows:
        return
    table = Table(
        title="cost and latency (fresh generations; tokens and cache hits: the report)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for column in ("task", "model", "n", "errors", "cut", "cost USD", "p50 s", "p95 s", "TTFT s"):
        table.add_column(column, justify="left" if column in ("task", "model") else "right")
    for u in rows:
        table.add_row(
            u.task,
            u.model,
            str(u.n),
            str(u.n_errors),
            str(u.n_truncated),
            _fmt(u.cost_usd, ".4f"),
            _fmt(u.latency_p50_s, ".3f"),
            _fmt(u.latency_p95_s, ".3f"),
            _fmt(u.ttft_p50_s, ".3f"),
        )
    console.print(table)


def _bare(value: float) -> str:
    """0.04 -> '.04', -0.03 -> '-.03': a correlation in as few columns as it can take."""
    return f"{value:.2f}".replace("0.", ".", 1) if abs(value) < 1 else f"{value:.2f}"


def _seconds(value: float | None) -> str:
    """'16.5', '864', '12,346': at most 6 columns up to a million seconds."""
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def print_agreement(tables: Sequence[AgreementTable], console: Console) -> None:
    """Per task with human ratings: each metric's summary-level Kendall tau per dimension."""
    for t in tables:
        table = Table(
            title=f"{t.task}: agreement with human ratings (summary-level Kendall tau, 95% CI)",
            title_justify="left",
            caption="s/1k: the scorer's seconds per 1,000 samples",
            caption_justify="left",
            box=box.SIMPLE_HEAD,
        )
        table.add_column("metric", no_wrap=True)
        for dimension in t.dimensions:
            table.add_column(dimension, justify="right", no_wrap=True)
        table.add_column("s/1k", justify="right", no_wrap=True)
        for row in t.rows:
            cells: list[str | Text] = []
            for dimension in t.dimensions:
                c = row.by_dimension.get(dimension, {}).get("summary")
                if c is None:
                    cells.append("n/a")
                    continue
                text = _bare(c.value)
                if c.ci_low is not None and c.ci_high is not None:
                    text += f" [{_bare(c.ci_low)},{_bare(c.ci_high)}]"
                best = t.best.get((dimension, "summary")) == row.metric
                cells.append(Text(text, style="bold") if best else text)
            cost = _seconds(row.seconds_per_1000)
            table.add_row(row.metric, *cells, cost)
        console.print(table)


def print_estimate(config: RunConfig) -> None:
    table = Table(title="dry run: nothing was sent to any model")
    for column in ("task", "model", "requests", "input tokens", "max output tokens", "cost (USD)"):
        table.add_column(column, justify="left" if column in ("task", "model") else "right")
    for row in estimate_evaluation(config):
        cost = "n/a" if row.cost_usd is None else f"{row.cost_usd:.4f}"
        tokens = [
            ("n/a" if v is None else f"{v:,}") for v in (row.input_tokens, row.max_output_tokens)
        ]
        table.add_row(row.task, row.model, f"{row.requests:,}", *tokens, cost)
    results_console().print(table)


def finish_run(config: RunConfig, run_dir: Path) -> RunRecord | None:
    """Run, report, and print leaderboards; the last stdout line is the run directory.

    Raises RunAborted (exit 3) when every sample failed, before anything is analysed or rendered,
    and RunFailed (exit 1) when some failed and `fail_on_errors` is set, after the report.
    """
    if config.dry_run:
        print_estimate(config)
        return None
    logger.info(
        "run %s: tasks %s, model %s", run_dir, ", ".join(config.task_refs), config.model.name
    )
    store = RunStore(run_dir)
    with RunProgress(enabled=config.progress) as progress:
        record = run_evaluation(config, run_dir, progress)
        gc.collect()  # the pipeline's reference cycles, before the log is read back (~70 MB at 1M)
        latest = read_digest(store, config.report.max_samples)
        if sum(latest.n_failed.values()) == latest.n_records:
            check_failures(latest, config.fail_on_errors)  # nothing to report: one line, exit 3
        with progress.phase("analyse", None):
            agreement = agreement_tables(record, latest.human_rated)
        if config.report.enabled:
            with progress.phase("report", None):
                html = render_report(
                    record, latest, label=run_dir.name, agreement=agreement, run_dir=run_dir
                )
                store.write_report(html)
    stderr = stderr_console()
    report_failures(latest, stderr)
    for line in cut_off_lines(record.usage):
        stderr.print(line, style="yellow")
    report_truncations(record, stderr)
    if config.report.enabled and verbosity_from_env() >= 0:
        stderr.print(f"report: {store.report_path}")
        logger.info("report: %s", store.report_path)
    console = results_console()
    print_leaderboards(record.aggregates, console, record.primary_metrics)
    print_agreement(agreement, console)
    print_usage(record, console)
    print(run_dir, flush=True)
    check_failures(latest, config.fail_on_errors)
    return record
