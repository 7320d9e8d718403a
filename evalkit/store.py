"""The run directory: run.json (atomic), samples.jsonl (append-only, flushed per record), report.

A `kill -9` can at worst leave a partial last line in samples.jsonl; opening the store for
appending cuts it off, so every complete line is a finished sample and resume skips exactly those.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from evalkit.atomicio import atomic_write_text
from evalkit.errors import UserError
from evalkit.types import RunRecord, SampleRecord

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.jsonl"
REPORT_FILE = "report.html"

DoneKey = tuple[str, str, str]  # (task, model, sample_id)


class RunStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.run_path = run_dir / RUN_FILE
        self.samples_path = run_dir / SAMPLES_FILE
        self.report_path = run_dir / REPORT_FILE
        self._log: IO[str] | None = None

    def exists(self) -> bool:
        return self.run_path.is_file()

    def read_run(self) -> RunRecord:
        if not self.run_path.is_file():
            raise UserError(f"{self.run_path}: not found (is {self.run_dir} a run directory?)")
        try:
            return RunRecord.model_validate_json(self.run_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise UserError(
                f"{self.run_path}: not a valid run record ({exc.error_count()} errors)"
            ) from None

    def write_run(self, record: RunRecord) -> None:
        atomic_write_text(self.run_path, record.model_dump_json(indent=2))

    def write_report(self, html: str) -> None:
        atomic_write_text(self.report_path, html)

    def open_log(self) -> None:
        """Open samples.jsonl for appending, first dropping a partial line a crash left behind."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        _truncate_partial_tail(self.samples_path)
        self._log = self.samples_path.open("a", encoding="utf-8")

    def append(self, records: Iterable[SampleRecord]) -> None:
        if self._log is None:
            self.open_log()
        assert self._log is not None
        for record in records:
            self._log.write(record.model_dump_json() + "\n")
            self._log.flush()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def records(self) -> Iterator[SampleRecord]:
        """Every complete record; a partial last line (a crash mid-write) is ignored."""
        if not self.samples_path.is_file():
            return
        with self.samples_path.open(encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.endswith("\n"):
                    return
                try:
                    yield SampleRecord.model_validate_json(line)
                except ValidationError as exc:
                    raise UserError(
                        f"{self.samples_path}:{line_no}: not a valid sample record "
                        f"({exc.errors()[0]['msg']})"
                    ) from None

    def latest_records(self) -> list[SampleRecord]:
        """One record per (task, model, sample): the last one written (a retried sample's
        new record supersedes its failed one; the log itself is never rewritten)."""
        latest: dict[DoneKey, SampleRecord] = {}
        for record in self.records():
            latest[(record.task, record.model, record.sample_id)] = record
        return list(latest.values())

    def done_keys(self, *, successful_only: bool = False) -> set[DoneKey]:
        """Samples that need no more work; with successful_only, failed generations do."""
        state: dict[DoneKey, bool] = {}
        if not self.samples_path.is_file():
            return set()
        with self.samples_path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.endswith("\n"):
                    head = json.loads(line)
                    key = (head["task"], head["model"], head["sample_id"])
                    state[key] = head["generation"]["error"] is None
        return {key for key, ok in state.items() if ok or not successful_only}


def _truncate_partial_tail(path: Path) -> None:
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        complete = handle.read().rfind(b"\n") + 1
        handle.truncate(complete)
