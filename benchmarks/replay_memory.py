"""Peak memory of a replay run of N samples (default 1,000,000), and its aggregates checked.

    python benchmarks/replay_memory.py [N] [--chunks K] [--report]

The run goes in a child process: `run_evaluation` (exact match, report off: the pipeline as
`evalkit run` calls it), or with --report the whole `evalkit run` after start-up
(`evalkit.app.session.finish_run`: the pipeline, then samples.jsonl read back for the console's
tables and report.html with its stored analysis). Its peak resident memory is the child's
ru_maxrss (goal, issue 24: <= 500 MB at 1,000,000). The parent then checks run.json's aggregate
against a direct computation from the files: exact match of every output against its answer
(evalkit.scorers.match.exact_match, data order) and the same seeded bootstrap
(evalkit.stats.bootstrap.mean_ci): value, CI, n and n_failed must be equal (==). With --chunks K
it also runs the same data as K runs of N/K samples and checks that their sufficient statistics
(sum of the per-sample values, n) combine to the whole run's value.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from replay_throughput import make_task

from evalkit.scorers.match import exact_match
from evalkit.stats.bootstrap import mean_ci

CHILD = """
import sys, time
from pathlib import Path
from evalkit.config import RunConfig
from evalkit.stages.pipeline import run_evaluation
from evalkit.app.session import finish_run
task, run_dir, report = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "report"
config = RunConfig.from_dict({"suite": {"name": "mem", "tasks": [task]},
    "model": {"name": "replay", "backend": "replay"}, "progress": False,
    "report": {"enabled": report}, "cache": {"enabled": False}})
start = time.perf_counter()
finish_run(config, run_dir) if report else run_evaluation(config, run_dir)
print(f"{time.perf_counter() - start:.1f}")
"""


def run_child(task: Path, run_dir: Path, report: bool = False) -> tuple[float, float]:
    """(seconds of the run, peak RSS in MB) of one run in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(task), str(run_dir), "report" if report else "-"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    return float(out.stdout.strip().splitlines()[-1]), peak_kb / 1024


def direct_values(task: Path) -> np.ndarray:
    """Exact match of each output against its answer, in data order, from the files alone."""
    answers = {}
    with (task / "data.jsonl").open() as handle:
        order = []
        for line in handle:
            row = json.loads(line)
            answers[row["id"]] = row["answer"]
            order.append(row["id"])
    outputs = {}
    with (task / "outputs.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            outputs[row["id"]] = row["output"]
    return np.array(
        [exact_match(prediction=outputs[i], references=[answers[i]]) for i in order],
        dtype=np.float64,
    )


def aggregate_of(run_dir: Path) -> dict[str, Any]:
    run = json.loads((run_dir / "run.json").read_text())
    (only,) = [a for a in run["aggregates"] if a["metric"] == "exact_match"]
    return dict(only)


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 1_000_000
    chunks = int(argv[argv.index("--chunks") + 1]) if "--chunks" in argv else 0
    report = "--report" in argv
    work = Path(tempfile.mkdtemp(prefix="evalkit-mem-"))
    try:
        task = make_task(work / "task", n)
        load_before = os.getloadavg()[0]
        seconds, peak = run_child(task, work / "run", report)
        load_after = os.getloadavg()[0]
        got = aggregate_of(work / "run")
        values = direct_values(task)
        value, low, high = mean_ci(values, 1234, 1000)
        want = {"value": value, "ci_low": low, "ci_high": high, "n": len(values), "n_failed": 0}
        same = all(got[k] == v for k, v in want.items())
        what = "finish_run (the pipeline, console tables, report)" if report else "run_evaluation"
        print(f"{n:,} replayed samples, exact match: {seconds:.1f} s in {what}")
        if report:
            size = (work / "run" / "report.html").stat().st_size / 1e6
            print(f"report.html: {size:.1f} MB")
        print(f"peak RSS of the run's process: {peak:.0f} MB (goal <= 500 MB)")
        print(f"aggregate == direct computation from the files: {same} ({got['value']:.6f})")
        print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
        if chunks:
            check_chunks(task, work, values, chunks, got)
        if not same:
            print(f"  run.json: {got}\n  direct:   {want}")
            sys.exit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check_chunks(
    task: Path, work: Path, values: np.ndarray, chunks: int, whole: dict[str, object]
) -> None:
    """K runs of consecutive slices of the data; their (sum, n) combine to the whole's value."""
    lines = (task / "data.jsonl").read_text().splitlines(keepends=True)
    size = -(-len(lines) // chunks)
    total = count = 0
    started = time.perf_counter()
    for k in range(chunks):
        part = work / f"chunk{k}"
        part.mkdir()
        (part / "data.jsonl").write_text("".join(lines[k * size : (k + 1) * size]))
        shutil.copy(task / "outputs.jsonl", part / "outputs.jsonl")
        shutil.copy(task / "task.yaml", part / "task.yaml")
        run_child(part, work / f"run{k}")
        agg = aggregate_of(work / f"run{k}")
        total += round(float(agg["value"]) * int(agg["n"]))
        count += int(agg["n"])
    combined = total / count  # exact match is 0 or 1: the sums are exact integers
    print(
        f"{chunks} chunk runs ({time.perf_counter() - started:.0f} s): combined value "
        f"{combined:.12f}, whole run {whole['value']:.12f}, direct sum {values.mean():.12f}; "
        f"equal: {combined == whole['value']}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
