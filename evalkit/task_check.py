"""`evalkit validate`: every problem of a task file, not only the first.

A run stops at the first problem (one line, exit 2); validating a task is where a user wants the
whole list: each schema field, then each data row (missing fields, duplicate ids) and each prompt
that does not render. A data file that cannot be read at all (bad JSON line, invalid UTF-8) ends
the list at that line, since the rows after it cannot be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from evalkit.datafiles import read_rows
from evalkit.errors import UserError
from evalkit.tasks import TASK_FILE, Task, TaskSpec
from evalkit.textfiles import load_yaml
from evalkit.validation import all_errors

MAX_LISTED = 200  # a data file broken on every row says so without printing every row


@dataclass
class TaskCheck:
    """What `evalkit validate` found for one task file."""

    path: Path
    task: Task | None = None
    samples: int = 0
    problems: list[str] = field(default_factory=list)


def check_task_file(path: Path) -> TaskCheck:
    """Schema, data and prompts of one task.yaml (or its folder); never raises UserError."""
    spec_path = path / TASK_FILE if path.is_dir() else path
    check = TaskCheck(spec_path)
    if not spec_path.is_file():
        check.problems.append(f"{spec_path}: task file not found")
        return check
    try:
        raw = load_yaml(spec_path)
    except UserError as exc:
        check.problems.append(str(exc))
        return check
    if not isinstance(raw, dict):
        check.problems.append(f"{spec_path}: expected a mapping at the top level")
        return check
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        check.problems.extend(f"{spec_path}: {line}" for line in all_errors(exc))
        return check
    check.task = Task(spec, spec_path.resolve())
    _check_rows(check, check.task)
    return check


def _check_rows(check: TaskCheck, task: Task) -> None:
    seen: dict[str, int] = {}
    try:
        for index, (line_no, row) in enumerate(read_rows(task.data_path, task.spec.format)):
            if len(check.problems) >= MAX_LISTED:
                check.problems.append(f"{task.data_path}: more problems not listed")
                return
            try:
                sample = task._sample_from_row(index, line_no, row)
            except UserError as exc:
                check.problems.append(str(exc))
                continue
            if sample.id in seen:
                check.problems.append(
                    f"{task.data_path}:{line_no}: duplicate id '{sample.id}' "
                    f"(first at line {seen[sample.id]})"
                )
            seen.setdefault(sample.id, line_no)
            check.samples += 1
            try:
                task.request(sample)
            except UserError as exc:
                check.problems.append(str(exc))
                if "template line" in str(exc):  # a syntax error fails every sample alike
                    return
    except UserError as exc:
        check.problems.append(str(exc))
