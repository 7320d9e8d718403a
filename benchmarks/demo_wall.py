"""Wall time of the demo (`bash scripts/demo.sh` after set-up), and where it goes.

The demo's work after set-up is one `evalkit run` of the demo suite (SummEval + WMT17, replayed,
every scorer the tasks declare) that writes the report. This script runs that command as a
subprocess, `--repeat` times, each into a fresh run directory (a rerun into the same directory
would resume and skip everything), and prints per run the wall time next to the baseline it is
judged against: the share of each phase (generate, score and each scorer, aggregate, analyse,
report) as the run itself logged it in RUN_DIR/run.log. The goal (issue 21): <= 120 s on 2 idle
cores. The load average before and after each run is printed with it: on a loaded machine the
figure is not the goal's.

    python benchmarks/demo_wall.py                       # the demo, once
    python benchmarks/demo_wall.py --repeat 3 --cpus 0,1 # pinned to two cores
    python benchmarks/demo_wall.py --script              # bash scripts/demo.sh itself (set-up too)
    python benchmarks/demo_wall.py -- limit=20           # extra Hydra overrides
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 120.0
# `score: 49,664/49,664 samples, 530 samples/s, done in 0:01:33 (rouge 2.1 s, chrf 1.0 s)`
PHASE = re.compile(r"INFO evalkit\.progress: (\w+): .*?done in (\d+):(\d\d):(\d\d)(?: \((.*)\))?$")
CHILD = re.compile(r"([\w.-]+) ([0-9.]+) s")


def phases(run_log: Path) -> list[tuple[str, float, list[tuple[str, float]]]]:
    """(phase, seconds, [(scorer, seconds)]) per phase line of a run.log, in order."""
    out = []
    for line in run_log.read_text(encoding="utf-8").splitlines():
        match = PHASE.search(line)
        if match:
            name, h, m, s, children = match.groups()
            rows = [(c, float(t)) for c, t in CHILD.findall(children or "")]
            out.append((name, 3600 * int(h) + 60 * int(m) + int(s), rows))
    return out


def run_once(run_dir: Path, overrides: list[str], script: bool, cpus: set[int] | None) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    if script:
        command = ["bash", "scripts/demo.sh", f"run_dir={run_dir}", *overrides]
    else:
        command = [sys.executable, "-m", "evalkit", "run", f"run_dir={run_dir}", *overrides]
    started = time.perf_counter()
    subprocess.run(
        command,
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cpus", help="pin the run to these cores, e.g. 0,1")
    parser.add_argument("--script", action="store_true", help="run bash scripts/demo.sh")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides after --")
    args = parser.parse_args()
    cpus = {int(c) for c in args.cpus.split(",")} if args.cpus else None
    cores = len(cpus) if cpus else os.cpu_count()
    print(f"demo wall time, {cores} cores, goal <= {GOAL_S:.0f} s on 2 idle cores")
    walls = []
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="evalkit-demo-") as tmp:
            run_dir = Path(tmp) / "run"
            load_before = os.getloadavg()[0]
            wall = run_once(run_dir, args.overrides, args.script, cpus)
            load_after = os.getloadavg()[0]
            walls.append(wall)
            print(
                f"\nrun {i + 1}: {wall:7.1f} s wall  (load average 1 min: {load_before:.2f} "
                f"before, {load_after:.2f} after)"
            )
            print(f"  {'phase (scorers: summed over worker processes, overlapping)':<22}")
            print(f"  {'':<22} {'s':>8} {'share':>7}")
            for name, seconds, children in phases(run_dir / "run.log"):
                print(f"  {name:<22} {seconds:8.0f} {seconds / wall:7.1%}")
                for child, child_s in children:
                    print(f"    {child:<20} {child_s:8.1f} {child_s / wall:7.1%}")
    walls.sort()
    print(f"\nmedian {walls[len(walls) // 2]:.1f} s over {len(walls)} run(s); goal {GOAL_S:.0f} s")


if __name__ == "__main__":
    main()
