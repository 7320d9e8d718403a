"""Module paths of the flat layout still import, as the same objects, with a DeprecationWarning."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evalkit._moved import MOVED
from tests.conftest import REPO


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_old_module_path_is_the_new_module_and_warns():
    with pytest.warns(DeprecationWarning, match=r"evalkit.judge_view moved to evalkit.app"):
        import evalkit.judge_view as old  # type: ignore[import-not-found]
    from evalkit.app import judge_view

    assert old is judge_view and old.print_judging is judge_view.print_judging


def test_every_old_path_names_an_existing_module():
    import importlib.util

    for old, new in MOVED.items():
        assert importlib.util.find_spec(f"evalkit.{new}") is not None, (old, new)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("from evalkit.store import RunStore", "evalkit.store.RunStore moved"),
        ("from evalkit.tasks import load_tasks", "evalkit.tasks.load_tasks moved"),
        ("from evalkit.judging import JudgeConfig", "evalkit.judging.JudgeConfig moved"),
        ("import evalkit.compare", "evalkit.compare moved to evalkit.analysis.compare"),
    ],
)
def test_former_modules_that_became_packages_forward_their_names(code, message):
    done = _fresh(code)  # warnings are errors here: the import must warn
    assert done.returncode != 0 and message in done.stderr, done.stderr
    quiet = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quiet.returncode == 0, quiet.stderr


def test_new_paths_do_not_warn_and_unknown_names_still_fail():
    assert _fresh("from evalkit.store.run_store import RunStore").returncode == 0
    done = _fresh("from evalkit.store import no_such_name")
    assert "ImportError" in done.stderr and "DeprecationWarning" not in done.stderr
    assert "ModuleNotFoundError" in _fresh("import evalkit.no_such_module").stderr
