"""Studio fixtures: a real run made by `evalkit run` on a synthetic task (two models), and a
studio database filled from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.testing.synthetic_runs import XSS_PAYLOADS, write_task
from tests.report.conftest import browser, evalkit  # noqa: F401  (browser: a fixture)

TWO_MODELS = {"base": (0.10, 0.8, 0.002), "<img src=x onerror=alert(1)>": (0.35, 0.2, 0.0004)}


@pytest.fixture(scope="session")
def studio_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 samples x 2 models (one named like an XSS attack), payloads in prompts and outputs:
    20 point items and 10 pair items."""
    root = tmp_path_factory.mktemp("studio")
    task = write_task(root / "tasks" / "synth", 10, seed=3, variants=TWO_MODELS,
                      payloads=XSS_PAYLOADS)  # fmt: skip
    run_dir = root / "run"
    evalkit("run", f"tasks=[{task}]", f"run_dir={run_dir}", cwd=root)
    return run_dir
