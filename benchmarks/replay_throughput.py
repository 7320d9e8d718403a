"""Replay backend + exact match on N samples (default 100,000): evalkit end to end vs a hand loop.

    python benchmarks/replay_throughput.py [N] [--repeat R]

Side by side, in one process, after start-up (imports done, one warm-up run on 1,000 samples):
  hand loop  the same work written by hand: read the task's data and the outputs (JSONL), exact
             match per sample (evalkit.scorers.match.exact_match), write one JSON line per
             sample, and the mean
  evalkit    the full pipeline as `evalkit run` calls it: task load, requests, replay, response
             cache (default on), scoring, samples.jsonl, aggregation with bootstrap CIs, run.json
             (the report and the console tables are not part of it)
Each is run R times (default 2), alternating; the best of each is printed with samples/s and
the ratio evalkit / hand loop (goal, issue 24: >= 10,000 samples/s at 100k, within 3x), and the
1-minute load average before and after.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from evalkit.config import RunConfig
from evalkit.scorers.match import exact_match
from evalkit.stages.pipeline import run_evaluation

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]


def make_task(root: Path, n: int, scorers: str = "{exact_match: {}}") -> Path:
    """A task of `n` questions whose bundled outputs are right 60% of the time."""
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    with (root / "data.jsonl").open("w") as data, (root / "outputs.jsonl").open("w") as outputs:
        for i in range(n):
            answer = " ".join(rng.choice(WORDS) for _ in range(3))
            guess = answer if rng.random() < 0.6 else " ".join(rng.choice(WORDS) for _ in range(3))
            data.write(
                json.dumps({"id": f"q{i}", "question": f"question {i}?", "answer": answer}) + "\n"
            )
            outputs.write(json.dumps({"id": f"q{i}", "system": "sys", "output": guess}) + "\n")
    (root / "task.yaml").write_text(
        "name: bench_qa\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\n"
        f"scorers: {scorers}\noutputs: outputs.jsonl\n"
    )
    return root


def hand_loop(root: Path, out: Path) -> float:
    """Read data and outputs, exact match, write a JSON line per sample; seconds."""
    start = time.perf_counter()
    answers = {}
    with (root / "data.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            answers[row["id"]] = [row["answer"]]
    total = n = 0
    with (root / "outputs.jsonl").open() as handle, out.open("w") as sink:
        for line in handle:
            row = json.loads(line)
            value = exact_match(prediction=row["output"], references=answers[row["id"]])
            sink.write(json.dumps({"id": row["id"], "output": row["output"], "em": value}) + "\n")
            total += value
            n += 1
    assert n and 0.0 <= total / n <= 1.0
    return time.perf_counter() - start


def evalkit_run(root: Path, work: Path) -> float:
    """`run_evaluation` of the task's bundled outputs into a fresh run dir and cache; seconds."""
    stamp = time.monotonic_ns()
    config = RunConfig.from_dict(
        {
            "suite": {"name": "bench", "tasks": [str(root)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "cache": {"path": str(work / f"cache-{stamp}.sqlite")},
        }
    )
    start = time.perf_counter()
    run_evaluation(config, work / f"run-{stamp}")
    seconds = time.perf_counter() - start
    shutil.rmtree(work / f"run-{stamp}", ignore_errors=True)
    return seconds


def main(argv: list[str]) -> None:
    args = [a for a in argv if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    repeat = int(argv[argv.index("--repeat") + 1]) if "--repeat" in argv else 2
    work = Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    try:
        evalkit_run(make_task(work / "warm", 1000), work)  # imports, file caches
        root = make_task(work / "task", n)
        load_before = os.getloadavg()[0]
        hand, ours = [], []
        for _ in range(repeat):
            hand.append(hand_loop(root, work / "hand.jsonl"))
            ours.append(evalkit_run(root, work))
        load_after = os.getloadavg()[0]
        base, full = min(hand), min(ours)
        print(f"{n:,} samples, exact match, best of {repeat} (alternating)")
        print(f"{'variant':12} {'seconds':>8} {'samples/s':>10} {'x hand loop':>12}")
        for label, seconds in [("hand loop", base), ("evalkit", full)]:
            print(f"{label:12} {seconds:8.3f} {n / seconds:10,.0f} {seconds / base:12.2f}")
        print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
