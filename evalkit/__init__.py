"""evalkit: evaluate and benchmark open-ended outputs of language models.

The public Python API is deliberately small and imported lazily, so that `import evalkit` stays
cheap (no pandas, no torch) for plugins and API-only runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from evalkit.results import LoadedRun


def load_run(run_dir: Any) -> LoadedRun:
    """A run directory as Python objects: `.record` (run.json), `.results()` (DataFrame)."""
    from evalkit.results import load_run as _load_run

    return _load_run(run_dir)


__all__ = ["__version__", "load_run"]
