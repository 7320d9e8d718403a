"""evalkit: evaluate and benchmark open-ended outputs of language models.

The public Python API is deliberately small and imported lazily, so that `import evalkit` stays
cheap (no pandas, no torch) for plugins and API-only runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from evalkit._moved import install as _install_moved_module_paths

_install_moved_module_paths()

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from evalkit.analysis.results import LoadedRun


def load_run(run_dir: Any) -> LoadedRun:
    """A run directory as Python objects: `.record` (run.json), `.results()` (DataFrame)."""
    from evalkit.analysis.results import load_run as _load_run

    return _load_run(run_dir)


def evaluate(
    tasks: Sequence[str | Path],
    model: str | dict[str, Any] = "replay",
    scorers: dict[str, dict[str, Any]] | None = None,
    run_dir: str | Path | None = None,
    **settings: Any,
) -> LoadedRun:
    """Run tasks on a model from Python, like `evalkit run`; returns the loaded run.

    `evalkit.evaluate(["gsm8k"], model={"backend": "openai", "model": "gpt-4o-mini"},
    run_dir="reports/gsm8k")`: `model` is a conf/model preset name ("replay", "hf", "openai")
    or a dict overriding its `backend`'s preset; `scorers` None keeps each task's own; other run
    settings are keywords (`limit=50`, `seed=1`). See `evalkit.app.api.evaluate`.
    """
    from evalkit.app.api import evaluate as _evaluate

    return _evaluate(tasks, model, scorers, run_dir, **settings)


__all__ = ["__version__", "evaluate", "load_run"]
