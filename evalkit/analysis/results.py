"""Tidy result rows (task, model, metric, value, ci_low, ci_high, n, n_failed) from run dirs.

The CLI's `evalkit results` prints exactly the rows a Python user gets from `load_run(...)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from evalkit.analysis.rundir import StoredRun, open_run
from evalkit.errors import UserError
from evalkit.store.run_store import RunStore
from evalkit.types import RunRecord

COLUMNS = ["task", "model", "metric", "value", "ci_low", "ci_high", "n", "n_failed"]


class LoadedRun:
    """A finished (or partial) run on disk as pandas tables (`evalkit.load_run`): `.record`
    (run.json), `.results()` (its aggregates), `.samples()` (latest records, one row each);
    `.stored` is the read model (`evalkit.analysis.rundir.StoredRun`) they come from. Raises
    NotARunDirectory (a UserError) when run_dir holds no run.json."""

    def __init__(self, run_dir: Path) -> None:
        self.stored: StoredRun = open_run(run_dir)
        self.run_dir = self.stored.path
        self.store: RunStore = self.stored.store
        self.record: RunRecord = self.stored.record

    def results(self) -> pd.DataFrame:
        rows = [a.model_dump(include=set(COLUMNS)) for a in self.record.aggregates]
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame.insert(0, "run", self.run_dir.name)
        return frame

    def samples(self) -> pd.DataFrame:
        rows = []
        for rec in self.stored.stored_records:
            row: dict[str, object] = {
                "task": rec.task,
                "model": rec.model,
                "sample_id": rec.sample_id,
                "output": rec.generation.text,
                "error": rec.generation.error,
            }
            for score in rec.scores:
                row[score.name] = score.value
            rows.append(row)
        return pd.DataFrame(rows)


def load_run(run_dir: str | Path) -> LoadedRun:
    return LoadedRun(Path(run_dir))


def results_frame(run_dirs: Sequence[str | Path]) -> pd.DataFrame:
    """The result rows of every run, in order. Raises UserError for a run that stopped before
    its aggregates were computed (interrupted, aborted): an empty table would read as a run
    without results."""
    runs = [load_run(d) for d in run_dirs]
    for run in runs:
        if run.record.status != "complete" and not run.record.aggregates:
            raise UserError(
                f"{run.run_dir}: the run is {run.stored.status_text}: it has no results yet; "
                "rerun its command with the same run_dir to complete it"
            )
    frames = [run.results() for run in runs]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
