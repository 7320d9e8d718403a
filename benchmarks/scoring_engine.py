"""Where CPU-heavy scoring runs: in the main process, in local worker processes
(`scoring.engine=local`, the default) or on a Dask cluster (`scoring.engine=dask`), side by side.

A replay run of `--samples` synthetic MT outputs scored by TER, chrF and ROUGE (all pure-Python,
`cpu_heavy`); the variants alternate in rounds (`--rounds`), and each variant's `total_s` from
run.json (the pipeline: generate, score, write, aggregate; not the CLI's start-up) is reported as
median / min / max. Without `--scheduler` the Dask variant starts a local cluster of `--workers`
processes (its start-up counts: that is what a user pays); with it, an existing cluster is used.

    .venv/bin/python benchmarks/scoring_engine.py [--samples 4000] [--workers 2] [--rounds 3]
        [--scheduler tcp://host:8786]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "road",
    "while",
    "past",
    "quickly",
    "slowly",
    "grey",
    "green",
    "skies",
    "fields",
    "near",
    "far",
    "old",
    "new",
    "town",
    "city",
    "river",
    "bridge",
    "morning",
    "evening",
]


def write_task(root: Path, n: int) -> Path:
    rng = random.Random(0)
    root.mkdir(parents=True)
    with (root / "data.jsonl").open("w") as data, (root / "outputs.jsonl").open("w") as outputs:
        for i in range(n):
            ref = " ".join(rng.choice(WORDS) for _ in range(rng.randint(15, 40)))
            out = " ".join(w if rng.random() < 0.7 else rng.choice(WORDS) for w in ref.split())
            data.write(json.dumps({"id": f"s{i}", "source": f"s{i}", "target": ref}) + "\n")
            outputs.write(json.dumps({"id": f"s{i}", "system": "mt", "output": out}) + "\n")
    (root / "task.yaml").write_text(
        "name: engine_bench\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: source, references: target}\n"
        "scorers: {ter: {}, chrf: {}, rouge: {}}\noutputs: outputs.jsonl\n"
    )
    return root


def run(task: Path, run_dir: Path, extra: list[str]) -> tuple[float, float]:
    command = [sys.executable, "-m", "evalkit", "run", f"tasks=[{task}]", "model=replay",
               "progress=false", "report.enabled=false", f"run_dir={run_dir}", *extra]  # fmt: skip
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(extra)} failed:\n{out.stderr[-3000:]}")
    return wall, float(json.loads((run_dir / "run.json").read_text())["timings"]["total_s"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scheduler", default=None, help="an existing Dask scheduler")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="evalkit-engine-bench-"))
    os.environ["EVALKIT_CACHE_DIR"] = str(work / "cache")
    task = write_task(work / "task", args.samples)
    dask = ["scoring.engine=dask", f"scoring.workers={args.workers}"]
    if args.scheduler:
        dask.append(f"scoring.scheduler_address={args.scheduler}")
    variants = {
        "main process (workers=0)": ["scoring.workers=0"],
        f"local processes (workers={args.workers})": [f"scoring.workers={args.workers}"],
        f"dask ({args.scheduler or f'local cluster, {args.workers} workers'})": dask,
    }
    totals: dict[str, list[float]] = {name: [] for name in variants}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    for r in range(args.rounds):
        for i, (name, extra) in enumerate(variants.items()):
            wall, total = run(task, work / f"run_{r}_{i}", extra)
            totals[name].append(total)
            walls[name].append(wall)
    print(
        f"{args.samples} samples, TER + chrF + ROUGE, {args.rounds} alternating rounds, "
        f"{os.cpu_count()} cores, load average before the last round "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"{'variant':42} {'pipeline s (median, min-max)':>30} {'command s':>10}")
    for name in variants:
        t = totals[name]
        print(
            f"{name:42} {statistics.median(t):12.2f} ({min(t):.2f}-{max(t):.2f})"
            f"{'':6} {statistics.median(walls[name]):10.2f}"
        )


if __name__ == "__main__":
    main()
