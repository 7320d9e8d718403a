"""ruff and mypy stay clean on the package (design.md conventions), checked with the tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "evalkit", "runners", "tests", "benchmarks", "scripts"],
        ["mypy"],
    ],
)
def test_tool_is_clean(command):
    tool = shutil.which(command[0], path=str(REPO / ".venv" / "bin")) or shutil.which(command[0])
    if tool is None:  # both are in the `dev` extra that scripts/setup.sh installs
        pytest.fail(f"{command[0]} is not installed; run scripts/setup.sh")
    out = subprocess.run(
        [tool, *command[1:]], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stdout + out.stderr
