"""The playground's sample picker: the tasks a user may pick a sample from, and a sample's prompt
rendered with an edited template.

Tasks are the run's own (from its run.json) and every task evalkit can find (`evalkit list
tasks`), each loaded on first use. An edited template is rendered in Jinja's sandbox (a template
typed in a browser must not reach Python internals) with the context a task's own template sees
(`evalkit.tasks.task.prompt_context`: input, references, id, metadata); a chat input is sent as is
after the optional system prompt, as in a run. Few-shot examples are not added.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from evalkit.errors import UserError
from evalkit.store.ratings_db import RatingError
from evalkit.tasks.task import Task, available_tasks, load_task, prompt_context
from evalkit.types import Sample

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
PREVIEW_CHARS = 80


class TaskPicker:
    """Task names (`refs`: the run's task references, listed first) -> loaded tasks."""

    def __init__(self, refs: Sequence[str] = ()) -> None:
        self.refs: dict[str, str] = {}
        for ref in refs:
            name = ref if "/" not in ref and not ref.endswith((".yaml", ".yml")) else None
            try:
                name = name or load_task(ref).name
            except UserError:
                continue
            self.refs.setdefault(name, ref)
        for name in available_tasks():
            self.refs.setdefault(name, name)
        self._tasks: dict[str, Task] = {}
        self._samples: dict[str, dict[str, Sample]] = {}

    def names(self) -> list[str]:
        return list(self.refs)

    def task(self, name: str) -> Task:
        if name not in self.refs:
            raise RatingError(f"unknown task {name[:64]!r}", status=404)
        if name not in self._tasks:
            try:
                task = load_task(self.refs[name])
                samples = {s.id: s for s in task.samples()}
            except UserError as exc:
                raise RatingError(str(exc)) from None
            self._tasks[name], self._samples[name] = task, samples
        return self._tasks[name]

    def sample(self, name: str, sample_id: str) -> Sample:
        self.task(name)
        sample = self._samples[name].get(sample_id)
        if sample is None:
            raise RatingError(f"task {name!r} has no sample {sample_id[:64]!r}", status=404)
        return sample

    def describe(self, name: str, offset: int, limit: int) -> dict[str, Any]:
        """{name, template, system_template, n, samples: [{id, preview}] from `offset`}."""
        task = self.task(name)
        samples = list(self._samples[name].values())[max(offset, 0) : max(offset, 0) + limit]
        return {
            "name": name,
            "template": task.spec.prompt,
            "system_template": task.spec.system_prompt or "",
            "n": len(self._samples[name]),
            "replay_only": task.replay_only,
            "samples": [{"id": s.id, "preview": _preview(s)} for s in samples],
        }


def _preview(sample: Sample) -> str:
    text = sample.input if isinstance(sample.input, str) else sample.input[-1].content
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def render(sample: Sample, template: str, system_template: str = "") -> list[dict[str, str]]:
    """The messages [{role, content}] of `sample` under an edited template; RatingError (400) for
    a template that does not parse, names an undefined variable or touches something unsafe."""
    context = prompt_context(sample)
    try:
        messages = []
        if system_template.strip():
            system = _ENV.from_string(system_template).render(context)
            messages.append({"role": "system", "content": system})
        if isinstance(sample.input, list):
            return messages + [{"role": m.role, "content": m.content} for m in sample.input]
        messages.append({"role": "user", "content": _ENV.from_string(template).render(context)})
    except jinja2.TemplateError as exc:
        raise RatingError(f"template: {exc.message or type(exc).__name__}") from None
    return messages
