"""Replay backend + exact match/F1 on 10,000 samples: evalkit end to end vs a bare loop.

Side by side, in one process, after start-up (imports done, one warm-up run):
  baseline   a plain loop: read the outputs, compute SQuAD EM/F1 with evalkit.scorers.match
  evalkit    the full pipeline: task load, requests, replay, cache, scoring, samples.jsonl,
             aggregation with bootstrap CIs, run.json (report rendering off)
  and the same pipeline without the response cache, and without the JSONL writes (the store's
  append replaced by a no-op for this measurement only), to show what each costs.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from unittest import mock

from evalkit.config import RunConfig
from evalkit.pipeline import run_evaluation
from evalkit.scorers.match import exact_match, token_f1
from evalkit.store import RunStore

N = 10_000


def make_task(root: Path) -> Path:
    rng = random.Random(0)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa"]
    with (root / "data.jsonl").open("w") as data, (root / "outputs.jsonl").open("w") as outputs:
        for i in range(N):
            answer = " ".join(rng.choice(words) for _ in range(3))
            guess = answer if rng.random() < 0.6 else " ".join(rng.choice(words) for _ in range(3))
            data.write(
                json.dumps({"id": f"q{i}", "question": f"question {i}?", "answer": answer}) + "\n"
            )
            outputs.write(json.dumps({"id": f"q{i}", "system": "sys", "output": guess}) + "\n")
    (root / "task.yaml").write_text(
        "name: bench_qa\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\n"
        "scorers: {exact_match: {}, f1: {}}\noutputs: outputs.jsonl\n"
    )
    return root


def baseline(root: Path) -> float:
    start = time.perf_counter()
    answers = {}
    with (root / "data.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            answers[row["id"]] = [row["answer"]]
    em = f1 = 0.0
    with (root / "outputs.jsonl").open() as handle:
        for line in handle:
            row = json.loads(line)
            em += exact_match(prediction=row["output"], references=answers[row["id"]])
            f1 += token_f1(prediction=row["output"], references=answers[row["id"]])
    return time.perf_counter() - start


def evalkit_run(root: Path, work: Path, *, cache: bool, writes: bool) -> float:
    run_dir = work / f"run-{time.monotonic_ns()}"
    config = RunConfig.from_dict(
        {
            "suite": {"name": "bench", "tasks": [str(root)]},
            "model": {"name": "replay", "backend": "replay"},
            "progress": False,
            "batch_size": 256,
            "cache": {"enabled": cache, "path": str(work / f"cache-{time.monotonic_ns()}.sqlite")},
        }
    )
    start = time.perf_counter()
    if writes:
        run_evaluation(config, run_dir)
    else:
        with mock.patch.object(RunStore, "append", lambda self, records: list(records)):
            run_evaluation(config, run_dir)
    return time.perf_counter() - start


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="evalkit-bench-"))
    try:
        (work / "task").mkdir()
        root = make_task(work / "task")
        evalkit_run(root, work, cache=True, writes=True)  # warm-up: imports, file caches
        rows = [("baseline loop (EM+F1 only)", min(baseline(root) for _ in range(3)))]
        for label, cache, writes in [
            ("evalkit, cache + JSONL", True, True),
            ("evalkit, no cache", False, True),
            ("evalkit, no cache, no JSONL", False, False),
        ]:
            rows.append(
                (label, min(evalkit_run(root, work, cache=cache, writes=writes) for _ in range(3)))
            )
        base = rows[0][1]
        full = rows[1][1]
        print(f"{N:,} samples, best of 3")
        print(f"{'variant':32} {'seconds':>8} {'samples/s':>10} {'x baseline':>11}")
        for label, seconds in rows:
            print(f"{label:32} {seconds:8.3f} {N / seconds:10,.0f} {seconds / base:11.2f}")
        print(
            f"cache costs {rows[1][1] - rows[2][1]:+.3f} s; JSONL writes cost "
            f"{rows[2][1] - rows[3][1]:+.3f} s ({(full - rows[3][1]) / full:.0%} of the full run)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
