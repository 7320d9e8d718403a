"""Find components by name through entry points, importing only the ones a run uses.

Built-ins register exactly like third-party plugins (pyproject.toml), so a plugin package that
declares `[project.entry-points."evalkit.scorers"] myscore = "pkg.mod:MyScorer"` just works; the
groups are `evalkit.scorers`, `evalkit.backends` and `evalkit.tasks` (a task folder's path, or a
callable returning it). examples/evalkit-plugin-example is a package with one of each.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from evalkit.errors import UserError, did_you_mean
from evalkit.extras import is_optional_dependency, needs_extra
from evalkit.protocols import BACKEND_GROUP, SCORER_GROUP, TASK_GROUP

_KIND = {BACKEND_GROUP: "backend", SCORER_GROUP: "scorer", TASK_GROUP: "task"}


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    return sorted(_entry_points(group))


def load(group: str, name: str) -> Any:
    """The object an entry point names; an unknown name is a UserError with a suggestion."""
    found = _entry_points(group)
    if name not in found:
        kind = _KIND.get(group, group)
        raise UserError(f"unknown {kind} '{name}'{did_you_mean(name, found)}")
    try:
        return found[name].load()
    except ModuleNotFoundError as exc:
        if not is_optional_dependency(exc):
            raise
        raise needs_extra(exc, f"{_KIND.get(group, group)} '{name}'") from None


def describe(group: str) -> list[tuple[str, str]]:
    """(name, 'module:attr') for every registered component, without importing any."""
    return [(name, ep.value) for name, ep in sorted(_entry_points(group).items())]


def option_names(factory: Any) -> list[str] | None:
    """The keyword options a component factory accepts, or None when it cannot tell.

    A factory may say it itself (`known_options()`, for one that forwards **options to a
    library); otherwise its call signature does; a bare **kwargs tells nothing.
    """
    declared = getattr(factory, "known_options", None)
    if callable(declared):
        return list(declared())
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in keyword]


def check_options(group: str, name: str, factory: Any, options: Mapping[str, Any]) -> None:
    """An option the factory does not take is a UserError naming it (with a close match),
    raised before the factory runs, so a typo never ends in a TypeError traceback."""
    known = option_names(factory)
    if known is None:
        return
    unknown = [key for key in options if key not in known]
    if unknown:
        kind = _KIND.get(group, group)
        hint = did_you_mean(str(unknown[0]), known) if known else " (it takes no options)"
        raise UserError(f"{kind} '{name}': unknown option '{unknown[0]}'{hint}")
