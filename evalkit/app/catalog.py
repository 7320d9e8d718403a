"""Rows for `evalkit list`: what can be named in a config, and where it comes from."""

from __future__ import annotations

import click
import yaml

from evalkit import registry
from evalkit.errors import MissingExtra
from evalkit.extras import extra_needed_by
from evalkit.protocols import BACKEND_GROUP, SCORER_GROUP
from evalkit.resources import builtin_dir
from evalkit.tasks.task import available_tasks, load_task_file


def _group_rows(group: str, field: str) -> list[tuple[str, str]]:
    rows = []
    for path in sorted((builtin_dir("conf") / group).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows.append((path.stem, str(data.get(field, ""))))
    return rows


def catalog_rows(kind: str) -> list[tuple[str, ...]]:
    if kind == "tasks":
        out: list[tuple[str, ...]] = []
        for name, path in available_tasks().items():
            out.append((name, load_task_file(path).spec.description, str(path.parent)))
        return out
    if kind == "models":
        return [(name, f"backend={backend}") for name, backend in _group_rows("model", "backend")]
    if kind == "judges":
        from evalkit.judges.rubric import available_rubrics, load_rubric

        rubrics = [
            (name, rubric.mode, rubric.description)
            for name in available_rubrics()
            for rubric in [load_rubric(name)]
        ]
        return rubrics + _distilled_judge_rows()
    if kind == "suites":
        return [(name, f"tasks={tasks}") for name, tasks in _group_rows("suite", "tasks")]
    group = SCORER_GROUP if kind == "scorers" else BACKEND_GROUP
    return list(registry.describe(group))


def _distilled_judge_rows() -> list[tuple[str, ...]]:
    """The distilled judges; on a core install (their package needs torch) none, and one line
    on stderr naming the extra."""
    try:
        with extra_needed_by("reading them"):
            from evalkit.distill.artifact import available_judges, judge_summary
    except MissingExtra as exc:
        click.echo(f"evalkit: distilled judges not listed: {exc}", err=True)
        return []
    return [judge_summary(name) for name in available_judges()]
