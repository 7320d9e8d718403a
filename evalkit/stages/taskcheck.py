"""Task checks: `evalkit validate` lists every problem of a task file, and a run refuses a task
that would send prompts without their input.

A run stops at the first problem (one line, exit 2); validating a task is where a user wants the
whole list: each schema field, then each data row (missing fields, duplicate ids), each prompt
that does not render, and prompts that lack their input. A data file that cannot be read at all
(bad JSON line, invalid UTF-8) ends the list at that line, since the rows after it cannot be
trusted.

A task whose data has no input column (the bundled wmt17_en_de: references and recorded outputs,
no source text) would send every sample the bare instruction. Such a task is replay-only
(declared `replay_only: true`, or inferred when `fields.input` is unset): live backends are
refused with one line, and `evalkit validate` fails a live-runnable task whose rendered prompt
lacks its input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from pydantic import ValidationError

from evalkit.errors import UserError, did_you_mean
from evalkit.tasks.task import TASK_FILE, Task, TaskSpec, available_tasks, prompt_context
from evalkit.textfiles import load_yaml, yaml_line
from evalkit.types import Sample
from evalkit.validation import all_errors_in


def check_live(task: Task, backend: str) -> None:
    """A UserError when a replay-only task is about to be sent to a live backend."""
    if task.replay_only and backend != "replay":
        why = "replay_only: true" if task.spec.replay_only else "no fields.input"
        raise UserError(
            f"task '{task.name}' is replay-only ({why}, {task.spec_path}): its prompts have "
            f"no input, so it cannot run on the live backend '{backend}'; use model=replay"
        )


def check_prompts(task: Task, samples: list[Sample]) -> None:
    """`evalkit validate`: every rendered prompt of a live-runnable task carries its sample.

    A prompt passes when it contains the sample's (non-empty) text input, or differs from
    the prompt rendered with every sample field blanked (a template built from metadata
    columns); otherwise it sends the same text for every sample. Replay-only tasks and chat
    inputs are not checked.
    """
    if task.replay_only:
        return
    for sample in samples:
        if not isinstance(sample.input, str):
            continue
        prompt = task.templates[0].render(prompt_context(sample))  # without few-shot context
        if sample.input.strip() and sample.input in prompt:
            continue
        if prompt != _blank_prompt(task, sample):
            continue
        state = "empty" if not sample.input.strip() else "not in the prompt"
        raise UserError(
            f"{task.spec_path}: sample '{sample.id}': the rendered prompt lacks its input "
            f"(fields.input: {task.spec.fields.input}, {state}); a task that only scores "
            "recorded outputs declares replay_only: true"
        )


def _blank_prompt(task: Task, sample: Sample) -> str | None:
    blank = sample.model_copy(update={"input": "", "references": [], "id": "", "metadata": {}})
    try:
        return task.templates[0].render(
            {**prompt_context(blank), "metadata": dict.fromkeys(sample.metadata, "")}
        )
    except jinja2.TemplateError:
        return None


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
    if not path.exists() and _is_task_name(str(path)):  # a task's name, as `evalkit run` takes
        known = available_tasks()
        if str(path) not in known:
            return TaskCheck(
                path, problems=[f"unknown task '{path}'{did_you_mean(str(path), known)}"]
            )
        spec_path = known[str(path)]
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
        check.problems.extend(all_errors_in(spec_path, exc))
        return check
    check.task = Task(spec, spec_path.resolve())
    samples = _check_rows(check, check.task)
    if not check.problems and not samples:
        check.problems.append(f"{check.task.data_path}: no samples (the data file has no rows)")
    check.problems.extend(
        scorer_problems(check.task, max((len(s.turns) for s in samples), default=0))
    )
    if not check.problems:
        try:
            check_prompts(check.task, samples)
        except UserError as exc:
            check.problems.append(str(exc))
    return check


def _check_rows(check: TaskCheck, task: Task) -> list[Sample]:
    """The samples that load; each row's problem goes to `check.problems`."""
    seen: dict[str, int] = {}
    samples: list[Sample] = []
    try:
        for index, (line_no, row) in enumerate(task.rows()):
            if len(check.problems) >= MAX_LISTED:
                check.problems.append(f"{task.data_path}: more problems not listed")
                return samples
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
            samples.append(sample)
            try:
                task.request(sample)
            except UserError as exc:
                check.problems.append(str(exc))
                if "template line" in str(exc):  # a syntax error fails every sample alike
                    return samples
    except UserError as exc:
        check.problems.append(str(exc))
    return samples


def _is_task_name(ref: str) -> bool:
    """Whether `ref` names a task rather than a path (the rule of evalkit.tasks.task.load_task)."""
    return not ref.endswith((".yaml", ".yml")) and "/" not in ref and "\\" not in ref


def scorer_problems(task: Task, turns: int = 0) -> list[str]:
    """Each scorer the task names that cannot be made (unknown name or option, missing extra),
    and a `primary_metric` that none of its scorers computes: what a run would otherwise find
    only when it starts (a scorer) or silently rank by another metric (primary_metric)."""
    from evalkit.stages.scoring import build_scorer, task_scorer_specs

    where = f"{task.spec_path}"
    problems: list[str] = []
    metrics: list[str] = []
    try:
        specs = task.scorer_specs(task_scorer_specs(task.spec.scorers, task.spec.language), turns)
    except UserError as exc:
        return [f"{where}: scorers: {exc}"]
    for name, options in specs:
        try:
            metrics.extend(build_scorer(name, options).metrics)
        except UserError as exc:
            problems.append(f"{_at(task, ('scorers', name.partition('@')[0]))}: scorers: {exc}")
    primary = task.spec.primary_metric
    if primary is not None and not problems and primary not in metrics:
        problems.append(
            f"{_at(task, ('primary_metric',))}: primary_metric '{primary}' is not a metric of "
            f"this task's scorers{did_you_mean(primary, metrics)}"
        )
    return problems


def _at(task: Task, loc: tuple[str, ...]) -> str:
    line = yaml_line(task.spec_path, loc)
    return f"{task.spec_path}:{line}" if line is not None else str(task.spec_path)
