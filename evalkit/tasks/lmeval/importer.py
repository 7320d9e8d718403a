"""Writing imported lm-eval tasks as evalkit task folders, and `lmeval:` task references.

`evalkit task import PATH OUT_DIR` writes `OUT_DIR/<task>/` (task.yaml, data.jsonl, fewshot.jsonl
when the task has few-shot examples, README.md). `tasks=[lmeval:PATH]` (or `lmeval:PATH::NAME`)
imports into `$EVALKIT_CACHE_DIR/lmeval/<key>/` (default ~/.cache/evalkit), the key a sha256 of
the importer version, the merged YAML configs and every local data file's sha256, so an edited
YAML or data file is imported again; a dataset read through `datasets` is keyed by its config
only (delete the folder to read it again).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import yaml

from evalkit.errors import UserError
from evalkit.store.atomicio import ensure_dir
from evalkit.tasks.lmeval.convert import Converted, convert
from evalkit.tasks.lmeval.docs import source_hashes
from evalkit.tasks.lmeval.index import tasks_in
from evalkit.tasks.lmeval.spec import LmEvalTask

PREFIX = "lmeval:"
IMPORTER_VERSION = "1"


def split_ref(ref: str) -> tuple[Path, str | None]:
    """`lmeval:PATH` or `lmeval:PATH::NAME` -> (PATH, NAME)."""
    body = ref.removeprefix(PREFIX)
    path, _, name = body.partition("::")
    if not path:
        raise UserError(f"task '{ref}': expected lmeval:PATH or lmeval:PATH::NAME")
    return Path(path).expanduser(), name or None


def write_task(task: LmEvalTask, folder: Path) -> Path:
    """Convert one task and write its folder; returns the task.yaml path."""
    converted = convert(task)
    ensure_dir(folder)
    _write(folder, converted, task)
    return folder / "task.yaml"


def _write(folder: Path, converted: Converted, task: LmEvalTask) -> None:
    spec_text = yaml.safe_dump(converted.spec, sort_keys=False, allow_unicode=True, width=100)
    (folder / "task.yaml").write_text(spec_text, encoding="utf-8")
    _write_jsonl(folder / "data.jsonl", converted.rows)
    if converted.fewshot_rows is not None:
        _write_jsonl(folder / "fewshot.jsonl", converted.fewshot_rows)
    (folder / "README.md").write_text(
        f"# {task.name}\n\nImported by `evalkit task import` from the lm-evaluation-harness task "
        f"config `{task.path}` (lm-evaluation-harness is MIT-licensed; the data keeps its own "
        "license). `data.jsonl` holds each document with its rendered prompt and target; "
        "re-import after editing the YAML.\n",
        encoding="utf-8",
    )


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def import_path(path: Path, out_dir: Path, name: str | None = None) -> list[Path]:
    """Write every task `path` names under `out_dir/<task name>/`; returns the task.yaml paths."""
    tasks = tasks_in(path, name)
    _check_unique(path, tasks)
    ensure_dir(out_dir)
    return [write_task(task, out_dir / task.name) for task in tasks]


def _check_unique(path: Path, tasks: list[LmEvalTask]) -> None:
    seen: dict[str, Path] = {}
    for task in tasks:
        if task.name in seen:
            raise UserError(
                f"{task.path}: task: '{task.name}' is also the name in {seen[task.name]}"
            )
        seen[task.name] = task.path


def cache_root() -> Path:
    return Path(os.environ.get("EVALKIT_CACHE_DIR", "~/.cache/evalkit")).expanduser() / "lmeval"


def _cache_key(task: LmEvalTask) -> str:
    blob = json.dumps(
        {"v": IMPORTER_VERSION, "config": task.raw, "data": source_hashes(task),
         "path": str(task.path)},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def resolve_ref(ref: str) -> list[Path]:
    """The task.yaml of each task an `lmeval:` reference names, imported (or found) in the cache."""
    path, name = split_ref(ref)
    tasks = tasks_in(path, name)
    _check_unique(path, tasks)
    out = []
    for task in tasks:
        folder = cache_root() / _cache_key(task) / task.name
        if not (folder / "task.yaml").is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".import-"))
            try:
                write_task(task, staging)
                try:
                    staging.rename(folder)
                except OSError:  # another process imported it first
                    if not (folder / "task.yaml").is_file():
                        raise
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        out.append(folder / "task.yaml")
    return out
