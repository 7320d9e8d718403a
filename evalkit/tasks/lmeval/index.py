"""Which lm-eval tasks a path names: a task YAML, a group YAML, or a folder of them.

As lm-eval's task index: every `*.yaml` / `*.yml` under a folder is read (with its `include`s); a
file whose `task:` is a name is a task, one with `group:` and `task:` a list is a group whose
members are task names (or `{task: NAME, key: value}` overrides of one), searched in the group
file's folder tree. `NAME` after `::` picks, in a folder, the task, the group or every task
tagged with that name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalkit.errors import UserError, did_you_mean
from evalkit.tasks.lmeval.spec import LmEvalTask, parse_task
from evalkit.tasks.lmeval.yamlload import load_config

Config = tuple[Path, dict[str, Any]]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def _is_group(cfg: dict[str, Any]) -> bool:
    return "group" in cfg and isinstance(cfg.get("task"), list)


def _is_task(cfg: dict[str, Any]) -> bool:
    return isinstance(cfg.get("task"), str)


def _configs(folder: Path) -> list[Config]:
    return [(p, load_config(p)) for p in _yaml_files(folder)]


def _group_members(path: Path, cfg: dict[str, Any], known: list[Config]) -> list[LmEvalTask]:
    by_name = {c["task"]: (p, c) for p, c in known if _is_task(c)}
    members = []
    for n, item in enumerate(cfg["task"]):
        overrides = dict(item) if isinstance(item, dict) else {}
        name = overrides.get("task") if overrides else item
        if not isinstance(name, str) or name not in by_name:
            raise UserError(
                f"{path}: task[{n}]: no task named {name!r} under {path.parent}"
                f"{did_you_mean(str(name), by_name)}"
            )
        task_path, base = by_name[name]
        members.append(parse_task(task_path, {**base, **overrides}))
    return members


def tasks_in(path: Path, name: str | None = None) -> list[LmEvalTask]:
    """The tasks `path` (a file or folder), narrowed to `name` when given, names."""
    if not path.exists():
        raise UserError(f"{path}: lm-eval task file or folder not found")
    if path.is_file():
        cfg = load_config(path)
        if _is_group(cfg):
            return _group_members(path, cfg, _configs(path.parent))
        if not _is_task(cfg):
            raise UserError(f"{path}: task: not an lm-eval task (no `task: NAME`)")
        return [parse_task(path, cfg)]
    configs = _configs(path)
    if name is None:
        tasks = [parse_task(p, c) for p, c in configs if _is_task(c)]
        if not tasks:
            raise UserError(f"{path}: no lm-eval task YAML files in this folder")
        return tasks
    for p, c in configs:
        if _is_group(c) and c["group"] == name:
            return _group_members(p, c, configs)
    raw = [(p, c) for p, c in configs if _is_task(c)]
    chosen = [(p, c) for p, c in raw if c["task"] == name] or [
        (p, c) for p, c in raw if name in _raw_tags(c)
    ]
    if not chosen:
        names = [c["task"] for _, c in raw] + [g for _, c in raw for g in _raw_tags(c)]
        raise UserError(f"{path}: no task, group or tag named '{name}'{did_you_mean(name, names)}")
    return [parse_task(p, c) for p, c in chosen]


def _raw_tags(cfg: dict[str, Any]) -> list[str]:
    tags = []
    for key in ("tag", "group"):
        value = cfg.get(key)
        tags += (
            [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []
        )
    return tags
