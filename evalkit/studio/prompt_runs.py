"""A saved prompt set run as a regular evalkit run, started from the playground.

`PromptRuns.start(NAME)` runs `evalkit run tasks=[SET_DIR] model=replay run_dir=RUN` in a child
process (the same command a user types; its recorded answers are scored by the set's scorers,
with bootstrap CIs, and `report.html` is written), one run at a time per studio. When it ends,
`status` adds every system against the first one (the first version of the first model) with
`evalkit compare`'s paired test and Holm's adjustment: the prompt iteration as a comparison.
Run directories are `ROOT/_runs/NAME-YYYYmmdd-HHMMSS-N`.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.store.ratings_db import RatingError
from evalkit.studio.prompt_sets import checked_name

TIMEOUT_S = 3600


@dataclass
class Job:
    id: str
    name: str
    run_dir: Path
    state: str = "running"  # running | done | failed
    message: str = ""
    comparisons: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        report = self.run_dir / "report.html"
        return {
            "id": self.id,
            "set": self.name,
            "state": self.state,
            "message": self.message,
            "run_dir": str(self.run_dir),
            "report": str(report) if report.is_file() else None,
            "comparisons": self.comparisons,
        }


class PromptRuns:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.jobs: dict[str, Job] = {}
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    def start(self, name: str) -> Job:
        folder = self.root / checked_name(name, "prompt set")
        if not (folder / "task.yaml").is_file():
            raise RatingError(f"no prompt set {name!r}", status=404)
        with self._lock:
            if any(j.state == "running" for j in self.jobs.values()):
                raise RatingError("a prompt-set run is still running", status=409)
            n = next(self._count)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            job = Job(str(n), name, self.root / "_runs" / f"{name}-{stamp}-{n}")
            self.jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, folder), daemon=True).start()
        return job

    def job(self, job_id: str) -> Job:
        if job_id not in self.jobs:
            raise RatingError(f"no prompt-set run {job_id[:20]!r}", status=404)
        return self.jobs[job_id]

    def _run(self, job: Job, folder: Path) -> None:
        command = [
            sys.executable, "-m", "evalkit", "run", f"tasks=[{folder.resolve()}]",
            "model=replay", f"run_dir={job.run_dir.resolve()}", "progress=false",
        ]  # fmt: skip
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            job.state, job.message = "failed", f"the run took over {TIMEOUT_S} s"
            return
        if out.returncode != 0:
            lines = (out.stderr or out.stdout).strip().splitlines()
            job.state, job.message = "failed", lines[-1][:500] if lines else "the run failed"
            return
        try:
            job.comparisons = paired(job.run_dir)
        except UserError as exc:
            job.message = str(exc)
        job.state = "done"


def paired(run_dir: Path) -> list[dict[str, Any]]:
    """Every system of the run against its first, per task x metric (evalkit.analysis.compare)."""
    from evalkit.analysis.compare import compare_runs

    keys = ("task", "metric", "baseline", "model", "n", "baseline_value", "value", "delta",
            "delta_ci", "test", "p_holm", "significant")  # fmt: skip
    rows = compare_runs([run_dir], n_resamples=1000)
    return [{k: getattr(r, k) for k in keys} for r in rows]
