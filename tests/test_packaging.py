"""Built-in conf/, tasks/, judges/ and runners/ are found after `pip install .` and `-e .`."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from evalkit.resources import builtin_dir
from tests.conftest import REPO


def test_editable_install_uses_the_checkout():
    for name in ("conf", "tasks", "judges", "runners"):
        assert builtin_dir(name) == REPO / name


@pytest.mark.slow
def test_wheel_in_fresh_venv_outside_checkout(tmp_path):
    wheel_dir = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
        check=True,
        timeout=600,
    )
    [wheel] = wheel_dir.glob("evalkit-*.whl")
    venv = tmp_path / "fresh"
    # No pip in the fresh venv (ensurepip takes seconds): this environment's pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         str(wheel)],
        check=True,
        timeout=600,
    )  # fmt: skip
    # Dependencies come from this environment; evalkit itself only from the wheel.
    fresh_site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (fresh_site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    where = subprocess.check_output(
        [str(python), "-c", "import evalkit.resources as r; print(r.builtin_dir('conf'))"],
        cwd=elsewhere,
        text=True,
        env=env,
    ).strip()
    assert where.startswith(str(fresh_site)) and where.endswith("evalkit/_builtin/conf")

    run_dir = elsewhere / "run"
    out = subprocess.run(
        [str(venv / "bin" / "evalkit"), "run", "limit=3", f"run_dir={run_dir}", "progress=false"],
        cwd=elsewhere,
        text=True,
        capture_output=True,
        env=env,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(run_dir)
    assert (run_dir / "report.html").is_file()
    listed = subprocess.check_output(
        [str(venv / "bin" / "evalkit"), "list", "tasks"], cwd=elsewhere, text=True, env=env
    )
    assert "_builtin/tasks/summeval" in listed
