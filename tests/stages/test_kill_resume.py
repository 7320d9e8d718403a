"""SIGKILL a real `evalkit run` about half way, resume it, and compare with an uninterrupted run."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalkit.store.run_store import RunStore
from tests.conftest import write_jsonl

N_SAMPLES = 1500
SYSTEMS = ("sys_a", "sys_b")


@pytest.fixture
def slow_task(tmp_path: Path) -> Path:
    rng = random.Random(0)
    words = [
        "the",
        "a",
        "cat",
        "dog",
        "sat",
        "ran",
        "on",
        "under",
        "mat",
        "house",
        "red",
        "blue",
        "quickly",
        "slowly",
    ]
    root = tmp_path / "slow_task"
    rows, outputs = [], []
    for i in range(N_SAMPLES):
        ref = " ".join(rng.choice(words) for _ in range(18))
        rows.append({"id": f"s{i}", "text": f"item {i}", "ref": ref})
        for system in SYSTEMS:
            hyp = ref.split()
            rng.shuffle(hyp)
            outputs.append({"id": f"s{i}", "system": system, "output": " ".join(hyp[:15])})
    write_jsonl(root / "data.jsonl", rows)
    write_jsonl(root / "outputs.jsonl", outputs)
    (root / "task.yaml").write_text(
        "name: slow\nversion: 1\ndata: data.jsonl\nfields: {id: id, input: text, references: ref}\n"
        "scorers: {bleu: {}, chrf: {}, f1: {}}\noutputs: outputs.jsonl\n",
        encoding="utf-8",
    )
    return root


def evalkit_run(task: Path, run_dir: Path) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-m",
        "evalkit",
        "run",
        f"tasks=[{task}]",
        f"run_dir={run_dir}",
        "batch_size=40",
        "scoring.workers=0",
        "progress=false",
        "report.enabled=false",
    ]
    return subprocess.Popen(args, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.is_file() else 0


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_equals_uninterrupted(slow_task, tmp_path):
    total = N_SAMPLES * len(SYSTEMS)
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    assert evalkit_run(slow_task, reference_dir).wait(timeout=600) == 0

    proc = evalkit_run(slow_task, killed_dir)
    deadline = time.monotonic() + 300
    while line_count(killed_dir / "samples.jsonl") < total // 2:
        assert proc.poll() is None, "run finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_at_kill = line_count(killed_dir / "samples.jsonl")
    assert total // 2 <= done_at_kill < total
    assert json.loads((killed_dir / "run.json").read_text())["status"] == "running"
    finished_before = (killed_dir / "samples.jsonl").read_text().splitlines()[:done_at_kill]

    resumed = evalkit_run(slow_task, killed_dir)
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    records = list(RunStore(killed_dir).records())
    keys = [(r.model, r.sample_id) for r in records]
    assert len(keys) == len(set(keys)) == total
    # nothing finished before the kill was lost or rewritten
    assert (killed_dir / "samples.jsonl").read_text().splitlines()[:done_at_kill] == finished_before

    def aggregates(run_dir: Path) -> list[dict[str, object]]:
        return json.loads((run_dir / "run.json").read_text())["aggregates"]

    assert aggregates(killed_dir) == aggregates(reference_dir)
