"""`evalkit --help`, `evalkit list tasks` and a 1-sample replay run with a lexical scorer load
neither scipy, pandas, torch nor transformers (issue 24: imports follow need; scipy alone took
seconds of every run). The command runs in a subprocess through a small wrapper that writes the
names of the loaded top-level modules when `evalkit.app.cli.main` returns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_jsonl

HEAVY = ("scipy", "pandas", "torch", "transformers", "torchao", "sklearn")

# A module set to None in sys.modules is a blocked import (logs.block_torchao), not a loaded one.
WRAPPER = """
import json, sys
from evalkit.app.cli import main
out, args = sys.argv[1], sys.argv[2:]
code = 0
try:
    main(args)
except SystemExit as exc:
    code = exc.code or 0
loaded = sorted({name.split(".")[0] for name, module in sys.modules.items() if module is not None})
with open(out, "w") as handle:
    json.dump({"code": code, "modules": loaded}, handle)
"""


def _loaded(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / f"modules-{len(list(tmp_path.glob('modules-*')))}.json"
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(out), *args],
        cwd=tmp_path,
        text=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["code"] == 0, done.stderr
    return set(result["modules"])


@pytest.fixture
def one_sample_task(tmp_path: Path) -> Path:
    root = tmp_path / "tasks" / "one_qa"
    write_jsonl(root / "data.jsonl", [{"id": "q0", "question": "2 + 2?", "answer": "4"}])
    write_jsonl(root / "outputs.jsonl", [{"id": "q0", "system": "sys", "output": "4"}])
    (root / "task.yaml").write_text(
        "name: one_qa\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\n"
        "scorers: {exact_match: {}}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


@pytest.mark.parametrize(
    ("args", "also_unloaded"),
    [(("--help",), {"pydantic", "yaml", "jinja2"}), (("list", "tasks"), set())],
)
def test_help_and_list_load_nothing_heavy(
    tmp_path: Path, args: tuple[str, ...], also_unloaded: set[str]
) -> None:
    loaded = _loaded(tmp_path, *args)
    assert "click" in loaded  # the wrapper saw the command's modules
    unwanted = {*HEAVY, "numpy", "hydra", "omegaconf", *also_unloaded}
    assert not loaded & unwanted, sorted(loaded & unwanted)


def test_replay_run_with_lexical_scorer_loads_no_scipy_pandas_torch(
    tmp_path: Path, one_sample_task: Path
) -> None:
    run_dir = tmp_path / "run"
    loaded = _loaded(
        tmp_path, "run", f"tasks=[{one_sample_task}]", "model=replay", f"run_dir={run_dir}"
    )
    assert (run_dir / "run.json").is_file() and (run_dir / "report.html").is_file()
    assert {"hydra", "numpy"} <= loaded  # the run did run (config composed, CIs computed)
    unwanted = {*HEAVY, "sacrebleu"}  # sacrebleu: corpus metrics (BLEU, chrF, TER) only
    assert not loaded & unwanted, sorted(loaded & unwanted)
