"""Load a Hydra entry point from the built-in runners/ folder.

The library never imports Hydra (design.md); the thin runners that do live outside the package
(in a wheel: evalkit/_builtin/runners), so the CLI loads them by path when a command needs one.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from evalkit.resources import builtin_dir


def load_runner(name: str, *, by_value: bool = True) -> ModuleType:
    """The runner `runners/<name>.py`, imported once. `by_value`: register it with cloudpickle
    now (`pickle_by_value`), which imports joblib's copy of it; a runner that knows when its jobs
    leave the process (`run`: only sweeps) passes False and registers itself then."""
    module_name = f"evalkit_runners_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = builtin_dir("runners") / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"runner {path} cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    if by_value:
        pickle_by_value(module)
    return module


def pickle_by_value(module: ModuleType) -> None:
    """Parallel launchers (joblib's loky, submitit) pickle the job function and unpickle it in
    another process, where this by-path module cannot be imported by name: ship it by value."""
    for name in ("joblib.externals.cloudpickle", "cloudpickle"):
        try:
            pickler = importlib.import_module(name)
        except ImportError:
            continue
        register = getattr(pickler, "register_pickle_by_value", None)
        if callable(register):
            register(module)
