"""Import the built-in Hydra runners: the package in runners/, as `evalkit_runners`.

The library never imports Hydra (design.md); the thin runners that do are a package outside it
(the checkout's `runners/`; in a wheel `evalkit/_builtin/runners`, shipped as package data so that
both layouts have it at `evalkit.resources.builtin_dir("runners")`). The CLI imports the package
from there by path, under one name, when a command needs a runner; its modules import each other
relatively and are then ordinary modules (`evalkit_runners.run`, `evalkit_runners.sweep`, ...),
which Hydra's `_target_` can name.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType

from evalkit.resources import builtin_dir

PACKAGE = "evalkit_runners"


def runners_package() -> ModuleType:
    """The runners package, imported once (importing it imports no Hydra)."""
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    folder = builtin_dir("runners")
    spec = importlib.util.spec_from_file_location(
        PACKAGE, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"the runners package in {folder} cannot be loaded")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    return package


def load_runner(name: str) -> ModuleType:
    """The runner module `runners/<name>.py` (run, judge, judge_distill, data_build, serve)."""
    runners_package()
    return importlib.import_module(f"{PACKAGE}.{name}")
