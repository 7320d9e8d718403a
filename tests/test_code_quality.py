"""ruff and mypy stay clean on the package (design.md conventions), checked with the tests.

mypy takes about half a minute on a fresh checkout and uses one core: `start_tool_checks` (called
by tests/conftest.py when collection selected these tests) starts both tools at the beginning of
the session, so they run beside the other tests, and each test here collects its tool's result.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from typing import IO

import pytest

from tests.conftest import REPO

COMMANDS = {
    "ruff": ["ruff", "check", "evalkit", "runners", "tests", "benchmarks", "scripts"],
    "mypy": ["mypy"],
}
_STARTED: dict[str, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}


def _tool(name: str) -> str:
    tool = shutil.which(name, path=str(REPO / ".venv" / "bin")) or shutil.which(name)
    if tool is None:  # both are in the `dev` extra that scripts/setup.sh installs
        pytest.fail(f"{name} is not installed; run scripts/setup.sh")
    return tool


def _start(name: str) -> None:
    if name in _STARTED:
        return
    # The tools are not evalkit's code: coverage's subprocess measurement (which the test
    # command's --cov turns on through this variable) would only slow them down.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    # a file, not a pipe: a long report cannot block the tool; closed by stop_tool_checks
    output = tempfile.TemporaryFile()  # noqa: SIM115
    command = COMMANDS[name]
    process = subprocess.Popen(
        [_tool(command[0]), *command[1:]], cwd=REPO, stdout=output, stderr=output, env=env
    )
    _STARTED[name] = (process, output)


def start_tool_checks(names: list[str]) -> None:
    """Start the named tools now, in the background (tests/conftest.py, after collection)."""
    for name in names:
        if shutil.which(name, path=str(REPO / ".venv" / "bin")) or shutil.which(name):
            _start(name)


def stop_tool_checks() -> None:
    """Stop any tool still running (a session that ended early) and drop its output."""
    for process, output in _STARTED.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
    _STARTED.clear()


@pytest.mark.parametrize("name", list(COMMANDS))
def test_tool_is_clean(name):
    _start(name)  # already running when the session started it
    process, output = _STARTED[name]
    try:
        returncode = process.wait(timeout=600)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    output.seek(0)
    assert returncode == 0, output.read().decode(errors="replace")
