"""Find components by name through entry points, importing only the ones a run uses.

Built-ins register exactly like third-party plugins (pyproject.toml), so a plugin package that
declares `[project.entry-points."evalkit.scorers"] myscore = "pkg.mod:MyScorer"` just works; the
groups are `evalkit.scorers`, `evalkit.backends` and `evalkit.tasks.task` (a task folder's path, or
a
callable returning it). examples/evalkit-plugin-example is a package with one of each.

The registry is typed: a component is registered (from its entry point, when a run first names
it, or with `register`) as a `ScorerEntry`, `BackendEntry` or `TaskEntry`, checked against the
plugin contract then (a scorer class without `score`, a factory that is not callable: one
UserError, exit 2 from the CLI). An entry builds components that follow the protocols of
evalkit/protocols.py, a structural plugin adapted once (evalkit/plugins.py).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from evalkit.errors import UserError, did_you_mean
from evalkit.extras import is_optional_dependency, needs_extra
from evalkit.plugins import SCORER_REQUIRED, adapt_backend, adapt_scorer, missing_methods, refuse
from evalkit.protocols import BACKEND_GROUP, SCORER_GROUP, TASK_GROUP, Backend, Scorer

if TYPE_CHECKING:
    from evalkit.tasks.task import Task

Kind = Literal["backend", "scorer", "task"]
_KIND: dict[str, Kind] = {BACKEND_GROUP: "backend", SCORER_GROUP: "scorer", TASK_GROUP: "task"}
_REGISTERED: dict[tuple[str, str], Entry] = {}


def _options_of(factory: Any) -> tuple[str, ...] | None:
    """The keyword options a component factory accepts, or None when it cannot tell.

    A factory may say it itself (`known_options()`, for one that forwards **options to a
    library); otherwise its call signature does; a bare **kwargs tells nothing.
    """
    declared = getattr(factory, "known_options", None)
    if callable(declared):
        return tuple(declared())
    try:
        params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in params if p.kind in keyword)


@dataclass(frozen=True)
class ScorerEntry:
    """A registered scorer: `factory(**options)` makes it (a class, usually)."""

    name: str
    source: str  # 'module:attr', or the object's qualified name when registered in-process
    factory: Callable[..., object]
    options: tuple[str, ...] | None  # the options it takes; None: it cannot tell (**kwargs)
    kind: Kind = "scorer"

    def check_options(self, options: Mapping[str, Any]) -> None:
        """An option the factory does not take is a UserError naming it (with a close match),
        raised before the factory runs, so a typo never ends in a TypeError traceback."""
        if self.options is None:
            return
        unknown = [key for key in options if key not in self.options]
        if unknown:
            hint = (
                did_you_mean(str(unknown[0]), self.options)
                if self.options
                else " (it takes no options)"
            )
            raise UserError(f"scorer '{self.name}': unknown option '{unknown[0]}'{hint}")

    def build(self, options: Mapping[str, Any]) -> Scorer:
        """The scorer, following the Scorer protocol (adapted when it does not inherit its
        defaults). Raises UserError for an unknown option or a scorer that breaks the contract."""
        self.check_options(options)
        return adapt_scorer(self.factory(**options), f"scorer '{self.name}' ({self.source})")


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: `factory(name, options, task)` makes one backend per system."""

    name: str
    source: str
    factory: Callable[..., object]
    kind: Kind = "backend"
    _adapted: dict[int, tuple[object, Backend]] = field(default_factory=dict, compare=False)

    def build(self, name: str, options: dict[str, Any], task: Task | None) -> list[Backend]:
        """The backends the factory makes, each following the Backend protocol. A plugin object
        made twice (shared by the tasks of a run) is adapted once, so it stays one backend."""
        made = self.factory(name, options, task)
        what = f"backend '{self.name}' ({self.source})"
        if not isinstance(made, list | tuple):
            raise refuse(what, "its factory must return a list of backends")
        return [self._adapt(obj, what) for obj in made]

    def _adapt(self, obj: object, what: str) -> Backend:
        known = self._adapted.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        backend = adapt_backend(obj, what)
        if backend is not obj:
            self._adapted[id(obj)] = (obj, backend)
        return backend


@dataclass(frozen=True)
class TaskEntry:
    """A registered task: a folder (or task.yaml) path, or a callable returning one."""

    name: str
    source: str
    target: str | Path | Callable[[], str | Path]
    kind: Kind = "task"

    def path(self) -> Path:
        return Path(self.target() if callable(self.target) else self.target)


Entry = ScorerEntry | BackendEntry | TaskEntry


def register(kind: Kind, name: str, target: object, source: str | None = None) -> Entry:
    """Record `target` under `name` (before the entry points of that name) and return its typed
    entry. Raises UserError when it cannot be a `kind`: a scorer factory that is not callable or
    a scorer class without signature/score/aggregate, a backend factory that is not callable, a
    task that is neither a path nor a callable."""
    group = {v: k for k, v in _KIND.items()}[kind]
    entry = _entry(kind, name, target, source or _qualified(target))
    _REGISTERED[(group, name)] = entry
    return entry


def _qualified(target: object) -> str:
    module = getattr(target, "__module__", None) or "?"
    return f"{module}:{getattr(target, '__qualname__', type(target).__name__)}"


def _entry(kind: Kind, name: str, target: object, source: str) -> Entry:
    what = f"{kind} '{name}' ({source})"
    if kind == "task":
        if not isinstance(target, str | Path) and not callable(target):
            raise refuse(what, "a task entry point names a folder path or a callable")
        return TaskEntry(name, source, target)
    if not callable(target):
        raise refuse(what, f"a {kind} entry point names a class or a factory function")
    if kind == "backend":
        return BackendEntry(name, source, target)
    if inspect.isclass(target):
        missing = missing_methods(target, SCORER_REQUIRED)
        if missing:
            raise refuse(what, f"the class has no {missing[0]}() method")
    return ScorerEntry(name, source, target, _options_of(target))


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def names(group: str) -> list[str]:
    return sorted({*_entry_points(group), *(n for g, n in _REGISTERED if g == group)})


@cache
def _from_entry_point(group: str, name: str) -> Entry:
    found = _entry_points(group)
    kind = _KIND.get(group, "task")
    if name not in found:
        raise UserError(f"unknown {kind} '{name}'{did_you_mean(name, names(group))}")
    try:
        target = found[name].load()
    except ModuleNotFoundError as exc:
        if not is_optional_dependency(exc):
            raise
        raise needs_extra(exc, f"{kind} '{name}'") from None
    except AttributeError as exc:  # `module:attr` names an attribute the module lacks
        raise UserError(f"{kind} '{name}' ({found[name].value}): {exc}") from None
    return _entry(kind, name, target, found[name].value)


def entry(group: str, name: str) -> Entry:
    """The registered component `name` of `group`; an unknown name is a UserError with a
    suggestion, a missing optional dependency one naming the extra to install."""
    registered = _REGISTERED.get((group, name))
    return registered if registered is not None else _from_entry_point(group, name)


def scorer(name: str) -> ScorerEntry:
    found = entry(SCORER_GROUP, name)
    assert isinstance(found, ScorerEntry)
    return found


def backend(name: str) -> BackendEntry:
    found = entry(BACKEND_GROUP, name)
    assert isinstance(found, BackendEntry)
    return found


def task(name: str) -> TaskEntry:
    found = entry(TASK_GROUP, name)
    assert isinstance(found, TaskEntry)
    return found


@overload
def load(group: Literal["evalkit.backends"], name: str) -> Callable[..., list[Backend]]: ...
@overload
def load(group: Literal["evalkit.scorers"], name: str) -> Callable[..., Scorer]: ...
@overload
def load(group: str, name: str) -> Any: ...
def load(group: str, name: str) -> Any:
    """What builds the component: a backend entry's `build(name, options, task)`, a scorer
    entry's `build(options)` taking keywords, a task entry's `path`. Kept for callers of the
    untyped registry; new code uses `scorer`, `backend` and `task`."""
    found = entry(group, name)
    if isinstance(found, BackendEntry):
        return found.build
    if isinstance(found, ScorerEntry):
        return lambda **options: found.build(options)
    return found.path


def describe(group: str) -> list[tuple[str, str]]:
    """(name, 'module:attr') for every registered component, without importing any."""
    listed = {name: ep.value for name, ep in _entry_points(group).items()}
    listed.update({n: e.source for (g, n), e in _REGISTERED.items() if g == group})
    return sorted(listed.items())


def option_names(factory: Any) -> list[str] | None:
    """The keyword options a component factory accepts, or None when it cannot tell."""
    found = _options_of(factory)
    return None if found is None else list(found)
