"""The read model of a run directory: what every command that reads a finished run sees.

`open_run(path)` -> `StoredRun`: run.json (`record`), the latest record of each sample
(`stored_records`, as written; `records`, with references restored from the task data when the
data is unchanged), the task data itself under its hash check (`task_samples`), the stored metric
specifications (`metrics`) and the paths of the files a run directory holds. `report`, `compare`,
`gate`, `baseline save`, `judge run`, `leaderboard`, `results`, `meta-eval`, `studio` and
distillation from runs read through it, so a folder that is not a run directory is the same
one-line error (`NotARunDirectory`) for all of them.

Sample records are read when first asked for (`RunStore.latest_records`, once per StoredRun): a
command that needs only run.json (`leaderboard`, `results`) never parses samples.jsonl. Writing
(the pipeline, judging) stays with `evalkit.store.run_store.RunStore`, reachable as
`StoredRun.store`.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import NotARunDirectory, UserError
from evalkit.store.run_store import PAIRWISE_FILE, RunStore
from evalkit.types import RunRecord, SampleRecord

if TYPE_CHECKING:  # imported when first used: a reader of run.json alone needs neither
    from evalkit.analysis.run_digest import RunDigest
    from evalkit.stages.metricspec import MetricTable
    from evalkit.tasks.task import Task
    from evalkit.types import Sample


logger = logging.getLogger(__name__)


class StoredRun:
    """One run directory, read: `record` at once, everything else when first asked for."""

    def __init__(self, path: Path, record: RunRecord) -> None:
        self.path = path
        self.record = record
        self.store = RunStore(path)

    @property
    def name(self) -> str:
        """The directory's name: how reports and tables label the run."""
        return self.path.name

    @property
    def samples_path(self) -> Path:
        return self.store.samples_path

    @property
    def report_path(self) -> Path:
        return self.store.report_path

    @property
    def pairwise_path(self) -> Path:
        """pairwise.jsonl: the pairwise judgments `evalkit judge run` stored (if any)."""
        return self.path / PAIRWISE_FILE

    def check_samples_agree(self, digest: RunDigest) -> None:
        """Raise UserError when samples.jsonl holds fewer `ok` scores of a task x model x metric
        than run.json's aggregate of it counted (`n`): the directory changed after the run (a
        line deleted, the file cut short, replaced or removed), and numbers recomputed from its
        samples would contradict those run.json states. `digest`: this run's, as `digest()`
        reads it."""
        found = digest.ok_counts()
        for a in self.record.aggregates:
            held = found[(a.task, a.model, a.metric)]
            if held < a.n:
                raise UserError(
                    f"{self.path}: samples.jsonl holds {held} scored samples of "
                    f"{a.task}/{a.model}/{a.metric} where run.json counted {a.n}: the run "
                    "directory changed after the run (rerun its command to complete it)"
                )

    def digest(self, max_samples: int | None = None) -> RunDigest:
        """The latest sample records as columns, with the sample browser's first `max_samples`
        per task x model kept whole (None: all) and references restored as `records` does
        (`evalkit.analysis.run_digest.read_digest`)."""
        from evalkit.analysis.run_digest import read_digest

        digest = read_digest(self.store, max_samples)
        missing = {r.task for r in digest.shown if not r.references}
        if missing:
            found = {task: self.task_references(task) for task in missing}
            digest.shown = [
                r.model_copy(update={"references": found[r.task][r.sample_id]})
                if not r.references and r.sample_id in found.get(r.task, {})
                else r
                for r in digest.shown
            ]
        return digest

    @property
    def status_text(self) -> str:
        """The run's status with why it stopped, if it did: `interrupted (terminated ...)`."""
        reason = self.record.stop_reason
        return f"{self.record.status} ({reason})" if reason else self.record.status

    def warn_if_incomplete(self) -> None:
        """A warning (stderr) naming the run's status when it is not complete: what is read of
        it is only the models and samples it reached."""
        if self.record.status != "complete":
            logger.warning(
                "%s: the run is %s: only the samples it reached are read; rerun its command "
                "with the same run_dir to complete it",
                self.path,
                self.status_text,
            )

    @cached_property
    def stored_records(self) -> list[SampleRecord]:
        """The latest record of each (task, model, sample), in first-written order, as stored.
        Raises UserError naming the line of a malformed record."""
        return self.store.latest_records()

    @cached_property
    def records(self) -> list[SampleRecord]:
        """`stored_records`, where a record has no references (a run written before records
        kept them) with those of its sample in the task data, if that data is unchanged (same
        sha256 as `record.task_data_hashes`); otherwise left without."""
        records = self.stored_records
        missing = {r.task for r in records if not r.references}
        found = {task: self.task_references(task) for task in missing}
        return [
            r.model_copy(update={"references": found[r.task][r.sample_id]})
            if not r.references and r.sample_id in found.get(r.task, {})
            else r
            for r in records
        ]

    @cached_property
    def metrics(self) -> MetricTable:
        """How each metric of each task aggregates (run.json's `metric_specs`; for a run
        written before they were stored, the specs of its scorers rebuilt from task_scorers)."""
        from evalkit.stages.metricspec import MetricTable

        return MetricTable.of_runs([self.record])

    def task_references(self, task: str) -> dict[str, list[str]]:
        """Sample id -> references of `task`, from its data when that is still there unchanged
        (same sha256); {} when it cannot be loaded or changed."""
        for ref in _candidate_refs(self.record, task):
            try:
                found = [t for t in _load_tasks(ref) if t.name == task]
            except UserError:
                continue
            if found and found[0].data_hash() == self.record.task_data_hashes.get(task):
                return {s.id: s.references for s in found[0].samples()}
        return {}

    def task_samples(self) -> dict[str, dict[str, Sample]]:
        """`task_samples(self.record)`: the run's task data, checked against its hashes."""
        return task_samples(self.record)


def open_run(path: Path | str) -> StoredRun:
    """The run stored in `path`. Raises NotARunDirectory (a UserError: "PATH: not a run
    directory (no run.json)") when there is no run.json, UserError when it is not valid."""
    run_dir = Path(path)
    store = RunStore(run_dir)
    if not store.exists():
        raise NotARunDirectory(run_dir)
    return StoredRun(run_dir, store.read_run())


def task_samples(record: RunRecord) -> dict[str, dict[str, Sample]]:
    """Task -> sample id -> Sample of every task of a run, loaded from its config's task
    references. Raises UserError when a task's data changed since the run (a scorer of the
    run's outputs must see the inputs the outputs were made from) or cannot be loaded."""
    from evalkit.config import RunConfig

    tasks = [t for ref in RunConfig.from_dict(record.config).task_refs for t in _load_tasks(ref)]
    samples: dict[str, dict[str, Sample]] = {}
    for task in tasks:
        expected = record.task_data_hashes.get(task.name)
        if expected and task.data_hash() != expected:
            raise UserError(f"task '{task.name}': its data changed since the run; judge a new run")
        samples[task.name] = {s.id: s for s in task.samples()}
    return samples


def _candidate_refs(run: RunRecord, task: str) -> list[str]:
    """The run's task references that may hold `task` (an lmeval group, a folder or file named
    after it, or the name itself), else the task name alone."""
    config = run.config
    suite = config.get("suite")
    listed = config.get("tasks") or (suite.get("tasks", []) if isinstance(suite, dict) else [])
    refs = [str(t) for t in listed] if isinstance(listed, list) else []
    return [
        r
        for r in refs
        if r == task
        or r.startswith("lmeval:")
        or Path(r).parent.name == task
        or Path(r).name == task
    ] or [task]


def _load_tasks(ref: str) -> list[Task]:
    from evalkit.tasks.task import load_tasks

    return load_tasks(ref)
