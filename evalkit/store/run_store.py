"""The run directory: run.json (atomic), samples.jsonl (append-only, flushed per batch), report.

A batch's records are written and flushed together (one write to the OS per batch: a finished
batch survives a `kill -9` of the process, as a record did when each was flushed). A kill can at
worst leave a partial last line in samples.jsonl; opening the store for appending cuts it off,
so every complete line is a finished sample and resume skips exactly those.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from evalkit.errors import NotARunDirectory, UserError
from evalkit.store.atomicio import atomic_write_text
from evalkit.store.redact import redact_secrets, secret_values
from evalkit.textfiles import require_file
from evalkit.types import RunRecord, SampleRecord
from evalkit.validation import first_error

try:
    import fcntl
except ImportError:  # Windows: no advisory lock
    fcntl = None  # type: ignore[assignment]

RUN_FILE = "run.json"
SAMPLES_FILE = "samples.jsonl"
REPORT_FILE = "report.html"
PAIRWISE_FILE = "pairwise.jsonl"
LOCK_FILE = ".lock"

DoneKey = tuple[str, str, str]  # (task, model, sample_id)


class RunStore:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.run_path = run_dir / RUN_FILE
        self.samples_path = run_dir / SAMPLES_FILE
        self.report_path = run_dir / REPORT_FILE
        self._log: IO[str] | None = None
        self._lock: IO[str] | None = None
        self.log_opened = False  # samples.jsonl was opened to add to (the run's work began)

    def exists(self) -> bool:
        return self.run_path.is_file()

    def read_run(self) -> RunRecord:
        if not self.run_path.is_file():
            raise NotARunDirectory(self.run_dir)
        try:
            return RunRecord.model_validate_json(self.run_path.read_text(encoding="utf-8"))
        except ValidationError as exc:
            raise UserError(
                f"{self.run_path}: not a valid run record ({first_error(exc)})"
            ) from None
        except UnicodeDecodeError as exc:
            raise UserError(
                f"{self.run_path}: not a valid run record (not UTF-8 text: byte {exc.start + 1})"
            ) from None

    def write_run(self, record: RunRecord) -> None:
        atomic_write_text(self.run_path, redact_secrets(record.model_dump_json(indent=2)))

    def write_report(self, html: str) -> None:
        atomic_write_text(self.report_path, redact_secrets(html))

    def acquire_lock(self) -> None:
        """Hold run_dir/.lock (an flock) until `release_lock` or this process ends, however.

        Raises UserError when another process holds it: two runs into one run_dir would both do
        every sample and interleave their records. Within one process the lock is counted, so
        `evalkit run` can take it before Hydra writes anything into the run directory and the
        pipeline take it again (see `hold_run_dir`).
        """
        if fcntl is None or self._lock is not None:
            return
        self._lock = _take(self.run_dir)

    def release_lock(self) -> None:
        if self._lock is not None:
            self._lock = None
            _give(self.run_dir)

    def open_log(self) -> None:
        """Open samples.jsonl for appending, first dropping a partial line a crash left behind."""
        make_run_dir(self.run_dir)
        self.has_log()
        truncate_partial_tail(self.samples_path)
        self._log = self.samples_path.open("a", encoding="utf-8")
        self.log_opened = True

    def append(self, records: Iterable[SampleRecord]) -> None:
        """Write one batch of records (secrets masked), then flush it to the OS."""
        if self._log is None:
            self.open_log()
        assert self._log is not None
        secrets = secret_values()  # once per batch: reading the environment per record cost 40%
        if secrets:
            lines = [redact_secrets(r.model_dump_json(), secrets) + "\n" for r in records]
        else:
            lines = [r.model_dump_json() + "\n" for r in records]
        self._log.write("".join(lines))
        self._log.flush()

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def has_log(self) -> bool:
        """Whether samples.jsonl exists; a UserError when something else than a file is there
        (a directory: nothing could be resumed from it or appended to it)."""
        if not self.samples_path.exists():
            return False
        require_file(self.samples_path, f"{self.samples_path}: not found", "samples file")
        return True

    def records(self) -> Iterator[SampleRecord]:
        """Every complete record; a partial last line (a crash mid-write) is ignored."""
        if not self.has_log():
            return
        for line_no, line in complete_lines(self.samples_path):
            try:
                yield SampleRecord.model_validate_json(line)
            except ValidationError as exc:
                raise UserError(
                    f"{self.samples_path}:{line_no}: not a valid sample record ({first_error(exc)})"
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
        return done_of(self.lines(), successful_only=successful_only)

    def lines(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """("FILE:LINE", parsed record) of every complete line, in order, parsed as JSON only
        (not validated as a SampleRecord); a line that is not a JSON object with the fields
        task, model, sample_id and generation (an object) is a UserError naming it."""
        if not self.has_log():
            return
        fix = "fix or delete that line to resume (the other records are kept)"
        for line_no, line in complete_lines(self.samples_path, fix):
            where = f"{self.samples_path}:{line_no}"
            try:
                head = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    f"{where}: not a valid sample record (invalid JSON: {exc.msg}, column "
                    f"{exc.colno}); {fix}"
                ) from None
            if not isinstance(head, dict):
                raise UserError(f"{where}: not a valid sample record (not an object); {fix}")
            for field in ("task", "model", "sample_id", "generation"):
                if field not in head:
                    raise UserError(f"{where}: field '{field}' missing; {fix}")
            if not isinstance(head["generation"], dict):
                raise UserError(f"{where}: field 'generation' is not an object; {fix}")
            yield where, head


def complete_lines(path: Path, fix: str = "fix or delete that line") -> Iterator[tuple[int, str]]:
    """(line number, text) of every complete line of the UTF-8 JSONL file `path`, in order; a
    partial last line (a crash mid-write) ends it. Raises UserError naming the line where the
    bytes are not UTF-8 (with `fix`, what to do about it)."""
    with path.open("rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(
                    f"{path}:{line_no}: not a valid sample record (not UTF-8 text: byte "
                    f"{exc.start + 1}); {fix}"
                ) from None
            yield line_no, text


def done_key(head: dict[str, Any]) -> tuple[DoneKey, bool]:
    """(key, generation succeeded) of a record parsed by `RunStore.lines`."""
    key = (str(head["task"]), str(head["model"]), str(head["sample_id"]))
    return key, head["generation"].get("error") is None


def done_of(
    lines: Iterable[tuple[str, dict[str, Any]]], *, successful_only: bool = False
) -> set[DoneKey]:
    """Samples that need no more work (the last record of each counts); with successful_only,
    failed generations do."""
    state: dict[DoneKey, bool] = {}
    for _, head in lines:
        key, ok = done_key(head)
        state[key] = ok
    return {key for key, ok in state.items() if ok or not successful_only}


def make_run_dir(run_dir: Path) -> None:
    """Create run_dir (and the folders above it). Raises UserError naming it and the OS's
    reason (`/proc/x`: no such file or directory; a read-only or forbidden folder)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(f"{run_dir}: cannot create the run directory ({reason})") from None


_held: dict[Path, tuple[IO[str], int]] = {}  # run_dir -> (locked .lock handle, holders)


def _take(run_dir: Path) -> IO[str]:
    key = run_dir.resolve()
    if key in _held:
        handle, count = _held[key]
        _held[key] = (handle, count + 1)
        return handle
    make_run_dir(run_dir)  # a run_dir in use exists: nothing is made in it
    try:
        handle = (key / LOCK_FILE).open("a+", encoding="utf-8")  # its .lock exists: not written
    except OSError as exc:
        raise UserError(f"{run_dir}: cannot write its lock file ({exc.strerror or exc})") from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise UserError(
            f"{run_dir}: in use by another evalkit run (pid {holder}); wait for it to end or "
            "choose another run_dir"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held[key] = (handle, 1)
    return handle


def _give(run_dir: Path) -> None:
    key = run_dir.resolve()
    handle, count = _held.pop(key)
    if count > 1:
        _held[key] = (handle, count - 1)
    else:
        handle.close()  # closing the descriptor releases the flock


def hold_run_dir(run_dir: Path) -> None:
    """Take run_dir's lock for this process (first thing after the config is composed, before
    tasks or models are loaded and before Hydra writes `.hydra/` and run.log there): a run_dir
    in use by another run is refused at once and nothing is written into it. Raises UserError;
    `release_run_dir` gives it back (so does the process ending)."""
    RunStore(run_dir).acquire_lock()


def release_run_dir(run_dir: Path) -> None:
    if fcntl is not None and run_dir.resolve() in _held:
        _give(run_dir)


def truncate_partial_tail(path: Path) -> None:
    """Cut a partial last line (a kill mid-write) off an append-only JSONL file."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    with path.open("rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        handle.seek(0)
        complete = handle.read().rfind(b"\n") + 1
        handle.truncate(complete)
