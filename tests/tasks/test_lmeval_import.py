"""lm-eval task YAML run as evalkit tasks (evalkit.tasks.lmeval).

The YAMLs in tests/data/lmeval are evalkit's own, written in lm-eval's task schema, over small local
data. `golden_prompts.json` is lm-eval 0.4.13's rendering of every document's prompt and target of
those YAMLs, recorded by running lm-eval itself (`benchmarks/lmeval_side_by_side.py
--record-prompts`, run by an interpreter with lm-eval; see tests/data/lmeval/README.md), never
evalkit's output. The marked test at the end runs lm-eval and evalkit side by side on a tiny model,
on lm-eval's own task YAMLs taken from that installation at run time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.tasks.task import load_task_file, load_tasks
from tests.conftest import REPO, TEST_DATA, CliRunner

DATA = TEST_DATA / "lmeval"
GOLDEN = json.loads((DATA / "golden_prompts.json").read_text(encoding="utf-8"))
YAMLS = {
    "arith": DATA / "arith.yaml",
    "arith_steps": DATA / "arith_steps.yaml",
    "trivia": DATA / "trivia.yaml",
    "trivia_2shot": DATA / "trivia_2shot.yaml",
    "bool_eval": DATA / "logic" / "bool_eval.yaml",
}
ROOT = REPO


@pytest.mark.parametrize("name", sorted(YAMLS))
def test_prompts_and_targets_are_lmevals(name: str) -> None:
    (task,) = load_tasks(f"lmeval:{YAMLS[name]}")
    assert task.name == name
    golden = GOLDEN[name]
    samples = task.samples()
    assert len(samples) == len(golden)
    for sample in samples:
        doc = golden[sample.id.rsplit("-", 1)[1]]
        assert task.request(sample).messages[-1].content == doc["prompt"]
        target = doc["target"]
        assert sample.references == (target if isinstance(target, list) else [str(target)])


def test_folder_group_and_tag_selection() -> None:
    names = sorted(t.name for t in load_tasks(f"lmeval:{DATA}"))
    assert names == sorted(YAMLS)
    assert [t.name for t in load_tasks(f"lmeval:{DATA}::number_problems")] == ["arith"]
    with pytest.raises(UserError, match=r"no task, group or tag named .arithh.*arith"):
        load_tasks(f"lmeval:{DATA}::arithh")


def test_imported_task_maps_filters_metrics_and_sampler() -> None:
    (task,) = load_tasks(f"lmeval:{YAMLS['arith']}")
    spec = task.spec
    assert spec.primary_metric == "exact_match_after-hashes"
    assert spec.scorers["exact_match"]["normalize"] == "none"
    assert spec.fewshot is not None and spec.fewshot.sampler == "lmeval"
    assert not spec.fewshot.exclude_sample  # fewshot_split train != test_split test
    assert spec.generation.stop == ["Problem:", "\n\n\n"]
    assert spec.extract is not None and [p.name for p in spec.extract.pipelines] == [
        "after-hashes",
        "last-number",
    ]
    (trivia,) = load_tasks(f"lmeval:{YAMLS['trivia_2shot']}")
    assert trivia.spec.fewshot is not None and trivia.spec.fewshot.exclude_sample  # None == None
    assert trivia.spec.generation.stop == ["\n", ";"]  # from the included trivia.yaml


def test_task_import_cli_writes_a_valid_task_folder(run_cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "tasks"
    done = run_cli("task", "import", str(YAMLS["arith_steps"]), str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "arith_steps" / "task.yaml").is_file()
    task = load_task_file(out / "arith_steps")
    first = task.samples()[0]
    assert task.request(first).messages[-1].content == GOLDEN["arith_steps"]["0"]["prompt"]
    checked = run_cli("validate", str(out / "arith_steps"))
    assert checked.returncode == 0, checked.stderr


def _write(tmp_path: Path, text: str) -> Path:
    shutil.copy(DATA / "gsm8k_test.jsonl", tmp_path / "gsm8k_test.jsonl")
    path = tmp_path / "task.yaml"
    path.write_text(
        "task: t\ndataset_path: json\ndataset_kwargs: {data_files: {test: gsm8k_test.jsonl}}\n"
        "test_split: test\ndoc_to_text: '{{question}}'\ndoc_to_target: answer\n" + text,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("process_results: !function utils.process_results\n",
         r"task.yaml: process_results: '!function utils.process_results' runs Python"),
        ("filter_list:\n- name: x\n  filter:\n  - function: custom\n    filter_fn: !function u.f\n",
         r"task.yaml: filter_list\[0\]\.filter\[0\]\.filter_fn: '!function u.f'"),
        ("output_type: multiple_choice\n", r"task.yaml: output_type: 'multiple_choice' is not"),
        ("doc_to_choice: '{{choices}}'\n", r"task.yaml: doc_to_choice: answer choices"),
        ("metric_list: [{metric: acc}]\n", r"task.yaml: metric_list\[0\]\.metric: 'acc' is not"),
        ("doc_to_prompt: x\n", r"task.yaml: doc_to_prompt: not an lm-eval task key evalkit knows"),
    ],
)  # fmt: skip
def test_refused_keys_are_one_line_exit_2(
    run_cli: CliRunner, tmp_path: Path, extra: str, message: str
) -> None:
    path = _write(tmp_path, extra)
    done = run_cli("task", "import", str(path), str(tmp_path / "out"))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("evalkit: error: ")
    assert re.search(message, lines[0]), lines[0]


def _lmeval_python() -> str | None:
    """EVALKIT_LMEVAL_PYTHON (scripts/setup_lmeval_env.sh prints it; CI sets it): when it is set,
    an interpreter that cannot import lm_eval is a failure, not a skip."""
    candidate = os.environ.get("EVALKIT_LMEVAL_PYTHON")
    if not candidate:
        return None
    probe = subprocess.run([candidate, "-c", "import lm_eval"], capture_output=True, text=True)
    assert probe.returncode == 0, f"EVALKIT_LMEVAL_PYTHON={candidate}: {probe.stderr[-500:]}"
    return candidate


@pytest.mark.lmeval
@pytest.mark.slow
def test_side_by_side_with_lmeval() -> None:
    """Identical prompts, greedy generations and per-document exact_match to lm-eval's own run on
    lm-eval's own gsm8k, gsm8k-cot, nq_open and bbh boolean_expressions YAMLs, read from its
    installation (lm-eval in its own environment: EVALKIT_LMEVAL_PYTHON, an interpreter that
    imports lm_eval)."""
    python = _lmeval_python()
    if python is None:
        pytest.skip("no lm_eval: EVALKIT_LMEVAL_PYTHON=$(bash scripts/setup_lmeval_env.sh)")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lmeval_side_by_side.py"),
         "--lmeval-python", python, "--limit", "1", "--tasks",
         "gsm8k,gsm8k_cot,nq_open_2shot,bbh_cot_fewshot_boolean_expressions"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "prompts identical 4/4, greedy generations identical 4/4" in done.stdout
    assert "exact_match identical 6/6" in done.stdout  # gsm8k 2 filters, gsm8k-cot 2, nq 1, bbh 1
