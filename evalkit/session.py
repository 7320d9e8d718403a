"""What `evalkit run` does once the config is valid: run, write the report, print the results."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from evalkit.config import RunConfig
from evalkit.leaderboard import print_leaderboards
from evalkit.pipeline import run_evaluation
from evalkit.report.simple import render_report
from evalkit.store import RunStore
from evalkit.types import RunRecord


def results_console() -> Console:
    """stdout; wide enough for a leaderboard row even when piped (rich assumes 80 columns)."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=200)
    return console


def write_report(store: RunStore, record: RunRecord, max_samples: int) -> Path:
    store.write_report(render_report(record, store.records(), max_samples=max_samples))
    return store.report_path


def finish_run(config: RunConfig, run_dir: Path) -> RunRecord:
    """Run, report, and print leaderboards; the last stdout line is the run directory."""
    record = run_evaluation(config, run_dir)
    store = RunStore(run_dir)
    if config.report.enabled:
        path = write_report(store, record, config.report.max_samples)
        Console(stderr=True).print(f"report: {path}")
    print_leaderboards(record.aggregates, results_console())
    print(run_dir, flush=True)
    return record
