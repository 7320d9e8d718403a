"""Backend `replay`: serve outputs recorded in a file, so stored outputs of any system are scored.

File format (JSONL, CSV or Parquet), one of:
  long: {"id": <sample id>, "system": <name>, "output": <text>, ...}
  wide: {"id": <sample id>, "outputs": {<system>: <text>, ...}, ...}
A multi-turn sample's output is a list of texts, one per turn (or one row per turn, with the
id `<sample id>/turn<k>`). A replayed turn k is the recorded answer whatever the request says:
the recorded system answered its own earlier turns.
An optional "task" column lets one file hold several tasks (rows of other tasks are skipped).
Optional columns latency_s, cost_usd, input_tokens, output_tokens are replayed as measurements;
any other column is kept in the generation's metadata (e.g. human ratings for meta-evaluation).

Every system in the file becomes one model of the run. With no `path`, the task's own bundled
outputs (`outputs:` in task.yaml) are served.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from evalkit.errors import UserError, did_you_mean
from evalkit.protocols import Backend, BackendDefaults
from evalkit.tasks.datafiles import Row, file_sha256, read_rows
from evalkit.tasks.multiturn import turn_id
from evalkit.tasks.task import Task
from evalkit.textfiles import require_file
from evalkit.types import Generation, Request

_MEASURED = ("latency_s", "cost_usd", "input_tokens", "output_tokens")
_STRUCTURAL = ("id", "system", "output", "outputs", "task")


_NO_EXTRAS: dict[str, Any] = {}  # shared by every row without extra columns (never mutated)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded output (slots, a shared path and empty extras: a million of them are read)."""

    text: str
    extras: dict[str, Any]
    path: Path | None = None
    line: int = 0

    @property
    def where(self) -> str:
        """FILE:LINE of the row, for error messages."""
        return f"{self.path}:{self.line}" if self.path is not None else ""


Outputs = dict[str | None, dict[str, "str | Recorded"]]
"""task (None: any) -> sample id -> output: its text alone when the row has no other columns (a
million replayed outputs cost their strings, not an object each; error messages find the line by
reading the file again), else a Recorded with its extras and line."""


@dataclass(frozen=True)
class ReplayFile:
    path: Path
    sha256: str
    systems: dict[str, Outputs]  # system -> task -> sample id -> output


def _add(
    systems: dict[str, Outputs],
    where: Recorded,
    task: str | None,
    sample_id: str,
    system: Any,
    text: Any,
    extras: dict[str, Any],
) -> None:
    if isinstance(text, list) and text and all(isinstance(t, str) for t in text):
        for turn, turn_text in enumerate(text, start=1):  # a multi-turn sample's answers
            _add(systems, where, task, turn_id(sample_id, turn), system, turn_text, extras)
        return
    if not isinstance(text, str):
        raise UserError(
            f"{where.where}: output of system '{system}' is not text (or a list of texts, one "
            "per turn)"
        )
    outputs = systems.setdefault(str(system), {}).setdefault(task, {})
    if sample_id in outputs:
        raise UserError(f"{where.where}: duplicate id '{sample_id}' for system '{system}'")
    outputs[sample_id] = Recorded(text, extras, where.path, where.line) if extras else text


def _recorded(entry: str | Recorded | None) -> Recorded | None:
    return Recorded(entry, _NO_EXTRAS) if isinstance(entry, str) else entry


def _where(path: Path, system: str, task: str | None, sample_id: str) -> str:
    """FILE:LINE of the row that recorded `sample_id` for `system` (the file read again)."""
    for line_no, row in read_rows(path):
        found: dict[str, Outputs] = {}
        _parse_row(path, line_no, row, found)
        if sample_id in found.get(system, {}).get(task, {}):
            return f"{path}:{line_no}"
    return str(path)


def _parse_row(path: Path, line_no: int, row: Row, systems: dict[str, Outputs]) -> None:
    at = Recorded("", _NO_EXTRAS, path, line_no)
    where = at.where
    if "id" not in row:
        raise UserError(f"{where}: field 'id' missing (the sample id the output belongs to)")
    task = str(row["task"]) if row.get("task") is not None else None
    extras = {k: v for k, v in row.items() if k not in _STRUCTURAL} or _NO_EXTRAS
    sample_id = str(row["id"])
    if "outputs" in row:
        if not isinstance(row["outputs"], dict):
            raise UserError(f"{where}: field 'outputs' must map system names to texts")
        for system, text in row["outputs"].items():
            _add(systems, at, task, sample_id, system, text, extras)
    elif "system" in row and "output" in row:
        _add(systems, at, task, sample_id, row["system"], row["output"], extras)
    else:
        raise UserError(f"{where}: field 'outputs' missing (or 'system' and 'output')")


@lru_cache(maxsize=16)
def _load(path: Path, mtime_ns: int, size: int) -> ReplayFile:
    systems: dict[str, Outputs] = {}
    for line_no, row in read_rows(path):
        _parse_row(path, line_no, row, systems)
    return ReplayFile(path=path, sha256=file_sha256(path), systems=systems)


def load_replay_file(path: Path) -> ReplayFile:
    path = path.expanduser().resolve()
    require_file(path, f"{path}: replay file not found", "replay file")
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


@dataclass(frozen=True)
class Locate:
    """Where an output was recorded, found (file read again) only when an error names it."""

    path: Path
    system: str
    task: str | None
    sample_id: str

    @property
    def where(self) -> str:
        return _where(self.path, self.system, self.task, self.sample_id)


class ReplayBackend(BackendDefaults):
    """One recorded system of a replay file."""

    cacheable = False  # its outputs are a file already: the response cache would only copy them
    runs_inline = True  # dictionary look-ups: 0.25 s of GIL hand-offs at 100,000 samples saved

    def __init__(self, replay: ReplayFile, system: str) -> None:
        self.name = system
        self._replay = replay
        self._outputs = replay.systems[system]

    def signature(self) -> str:
        digest = self._replay.sha256[:16]
        return f"replay|file:{self._replay.path.name}@sha256:{digest}|system:{self.name}"

    def generate(self, requests: Sequence[Request]) -> list[Generation]:
        return [self._one(request) for request in requests]

    def _one(self, request: Request) -> Generation:
        entry = self._outputs.get(request.task, {}).get(request.sample_id)
        if entry is None:
            entry = self._outputs.get(None, {}).get(request.sample_id)
        if isinstance(entry, str):  # a row of id, system and output only (the usual)
            return Generation(text=entry, finish_reason="replay", status="ok")
        recorded = _recorded(entry)
        if recorded is None:
            return Generation(error=f"no recorded output for sample '{request.sample_id}'")
        measured = {k: recorded.extras[k] for k in _MEASURED if recorded.extras.get(k) is not None}
        metadata = {k: v for k, v in recorded.extras.items() if k not in _MEASURED}
        return Generation(text=recorded.text, finish_reason="replay", metadata=metadata, **measured)


def check_turn_counts(outputs: Outputs, task: Task, system: str, path: Path) -> None:
    """Raise UserError (naming FILE:LINE, the sample and the system) when a recorded output does
    not fit its sample's turns: one text for a multi-turn sample, more outputs than it has turns,
    or a list of texts for a single-turn sample. `path`: the replay file the outputs came from."""

    def get(sample_id: str) -> Locate | None:
        for key in (task.name, None):
            if sample_id in outputs.get(key, {}):
                return Locate(path, system, key, sample_id)
        return None

    if not task.multi_turn and not any("/turn" in i for ids in outputs.values() for i in ids):
        return  # single-turn samples, one text each: nothing to check (no pass over the data)
    ids: set[str] = set()  # every sample id, read only when an output needs it (rare)

    def is_sample(sample_id: str) -> bool:
        if not ids:
            ids.update(s.id for _, s in task.iter_samples())
        return sample_id in ids

    for _, sample in task.iter_samples():
        n = len(sample.turns) if sample.turns else 0
        whole, first = get(sample.id), get(turn_id(sample.id, 1))
        if n and whole is not None:
            raise UserError(
                f"{whole.where}: sample '{sample.id}' has {n} turns: system '{system}' needs a "
                f"list of {n} outputs, one per turn, not one text"
            )
        beyond = get(turn_id(sample.id, n + 1)) if n else None
        if beyond is not None:
            given = n + 1
            while get(turn_id(sample.id, given + 1)) is not None:
                given += 1
            raise UserError(
                f"{beyond.where}: sample '{sample.id}' has {n} turns but system '{system}' has "
                f"{given} outputs for it (one per turn)"
            )
        if not n and whole is None and first is not None and not is_sample(turn_id(sample.id, 1)):
            raise UserError(
                f"{first.where}: sample '{sample.id}' has one turn: system '{system}' needs one "
                "text as its output, not a list"
            )


def build_replay_backends(name: str, options: dict[str, Any], task: Task | None) -> list[Backend]:
    """Options: `path` (default: the task's bundled outputs), `systems` (default: all in file).

    The model config's own name is not used: each recorded system is a model of the run.
    """
    unknown = set(options) - {"path", "systems"}
    if unknown:
        raise UserError(f"model (replay): unknown option(s) {', '.join(sorted(unknown))}")
    if task is None:
        raise UserError("the replay backend serves recorded outputs of a task; it cannot serve")
    path = Path(options["path"]) if options.get("path") else task.outputs_path
    if path is None:
        raise UserError(
            f"task '{task.name}' bundles no recorded outputs: "
            "give the replay file as model.path=FILE"
        )
    replay = load_replay_file(path)
    tasks_in_file = {t for outputs in replay.systems.values() for t in outputs}
    wanted = options.get("systems") or sorted(replay.systems)
    for system in wanted:
        if system not in replay.systems:
            raise UserError(
                f"{path}: unknown system '{system}'{did_you_mean(system, replay.systems)}"
            )
    if tasks_in_file != {None}:
        wanted = [s for s in wanted if task.name in replay.systems[s]]
    for system in wanted:
        check_turn_counts(replay.systems[system], task, system, replay.path)
    return [ReplayBackend(replay, system) for system in wanted]
