"""Reading lm-evaluation-harness task YAML: `include`, and `!function` hooks found and refused.

lm-eval (`lm_eval/tasks/_yaml_loader.py`) merges a file's `include` (one path or a list, relative
to the including file) shallowly: each included file in order, then the file's own keys, which
win. A `!function module.name` tag names Python that lm-eval imports and runs; evalkit runs no
code from task files, so the merged config keeps a `FunctionTag` where one stood and
`refuse_functions` turns the first into one line naming the file and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.errors import UserError
from evalkit.textfiles import load_yaml, require_file, unique_key_loader


@dataclass(frozen=True)
class FunctionTag:
    """A `!function` value: the text after the tag and the file it was written in."""

    target: str
    path: Path


def _loader_for(path: Path) -> Any:
    class Loader(unique_key_loader()):  # type: ignore[misc]  # refuses a key given twice
        pass

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> FunctionTag:
        return FunctionTag(str(loader.construct_scalar(node)), path)

    Loader.add_constructor("!function", construct)
    return Loader


def _parse(path: Path) -> dict[str, Any]:
    require_file(path, f"{path}: lm-eval task file not found", "task file")
    data = load_yaml(path, _loader_for(path))
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_config(path: Path, _seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """The file's keys merged over those of its `include`s (recursively); an include cycle or a
    missing included file is a UserError naming the including file."""
    path = path.resolve()
    if path in _seen:
        raise UserError(f"{_seen[-1]}: include: cycle through {path}")
    cfg = _parse(path)
    includes = cfg.pop("include", None)
    if includes is None:
        return cfg
    merged: dict[str, Any] = {}
    for item in includes if isinstance(includes, list) else [includes]:
        if not isinstance(item, str):
            raise UserError(f"{path}: include: expected a file name, got {item!r}")
        included = Path(item) if Path(item).is_absolute() else path.parent / item
        require_file(included, f"{path}: include: {included} not found", "YAML file")
        sub = load_config(included, (*_seen, path))
        sub.pop("task_list", None)
        merged.update(sub)
    merged.update(cfg)
    return merged


def refuse_functions(cfg: Any, where: str = "") -> None:
    """A UserError `FILE: KEY: !function ...` for the first `!function` value left in `cfg`."""
    if isinstance(cfg, FunctionTag):
        raise UserError(
            f"{cfg.path}: {where or '(top level)'}: '!function {cfg.target}' runs Python from "
            "the task folder, which evalkit does not do; write it as a Jinja template or a "
            "field name, or preprocess the data file"
        )
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            refuse_functions(value, f"{where}.{key}" if where else str(key))
    elif isinstance(cfg, list):
        for index, value in enumerate(cfg):
            refuse_functions(value, f"{where}[{index}]")
