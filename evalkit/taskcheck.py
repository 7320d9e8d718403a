"""Checks that keep a task from sending prompts without their input (`evalkit validate`, run).

A task whose data has no input column (the bundled wmt17_en_de: references and recorded outputs,
no source text) would send every sample the bare instruction. Such a task is replay-only
(declared `replay_only: true`, or inferred when `fields.input` is unset): live backends are
refused with one line, and `evalkit validate` fails a live-runnable task whose rendered prompt
lacks its input.
"""

from __future__ import annotations

import jinja2

from evalkit.errors import UserError
from evalkit.tasks import Task, prompt_context
from evalkit.types import Sample


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
