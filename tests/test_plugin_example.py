"""The example plugin package (examples/evalkit-plugin-example) pip-installed into a temporary
folder: its scorer, backend and task are found through entry points and run from the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PLUGIN = REPO / "examples" / "evalkit-plugin-example"


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    pytest.importorskip("setuptools")  # the example builds with setuptools, offline
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(PLUGIN)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    path = os.pathsep.join(p for p in (str(target), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "COLUMNS": "200"}


def _evalkit(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evalkit", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _values(run_dir: Path, metric: str) -> dict[str, float]:
    run = json.loads((run_dir / "run.json").read_text())
    return {a["model"]: a["value"] for a in run["aggregates"] if a["metric"] == metric}


def test_the_plugin_components_are_listed(plugin_env, tmp_path):
    for kind, name in (("scorers", "word_recall"), ("backends", "echo"), ("tasks", "plugin_qa")):
        done = _evalkit(plugin_env, tmp_path, "list", kind)
        assert done.returncode == 0 and name in done.stdout, (kind, done.stderr)


def test_the_plugin_task_runs_with_the_plugin_scorer(plugin_env, tmp_path):
    done = _evalkit(plugin_env, tmp_path, "run", "tasks=[plugin_qa]", "run_dir=run",
                    "report.enabled=false", "progress=false")  # fmt: skip
    assert done.returncode == 0, done.stderr
    # by hand: good misses "days" of "seven days" (1/2), bad only has "days" of it (1/2)
    assert _values(tmp_path / "run", "word_recall") == pytest.approx(
        {"good": 5.5 / 6, "bad": 0.5 / 6}
    )


def test_the_plugin_scorer_adds_to_a_task_and_the_backend_answers(plugin_env, qa_task, tmp_path):
    done = _evalkit(plugin_env, tmp_path, "run", f"tasks=[{qa_task}]", "+scorers.word_recall={}",
                    "run_dir=added", "report.enabled=false", "progress=false")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert set(_values(tmp_path / "added", "exact_match")) == {"good", "bad"}  # kept
    # toy_qa's good system answers 2i (i % 4 != 0), else "I do not know": 30 of 40
    assert _values(tmp_path / "added", "word_recall")["good"] == pytest.approx(30 / 40)
    done = _evalkit(plugin_env, tmp_path, "run", "tasks=[plugin_qa]", "~model",
                    "+model={backend: echo, reply: '5'}", "run_dir=echo", "report.enabled=false",
                    "progress=false")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _values(tmp_path / "echo", "word_recall") == pytest.approx({"echo": 1 / 6})


def test_the_plugin_components_follow_the_contract_with_its_defaults(plugin_env, tmp_path):
    """The echo backend inherits nothing from evalkit: it is adapted, with the defaults of the
    Backend protocol; the word_recall scorer subclasses ReferenceScorer and keeps its own
    `cpu_heavy = False`."""
    script = (
        "from evalkit import registry\n"
        "[b] = registry.backend('echo').build('e', {'reply': 'x'}, None)\n"
        "s = registry.scorer('word_recall').build({})\n"
        "print(type(b).__name__, b.name, b.concurrent_batches, b.cacheable, b.estimate, b.report)\n"
        "print(type(s).__name__, s.cpu_heavy, s.higher_is_better, s.prepare, s.corpus_value)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=plugin_env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "AdaptedBackend e 1 True None None",
        "WordRecall False True None None",
    ]
