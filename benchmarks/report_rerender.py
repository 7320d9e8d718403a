"""Wall time of `evalkit report RUN` on the WMT17 16-system run: first render against re-render.

The run is `evalkit run suite=wmt17` (the 16 WMT17 en-de systems on newstest2017's 3,004 segments
replayed from ../shared/data, every scorer the task declares), made once (or reused with
`--run`). Then, `--repeat` times, alternating so that the machine's load falls on both alike:

- first render: RUN/analysis.json removed, so `evalkit report` loads every record and computes
  the analysis (paired tests against every baseline, agreement, the sample browser) and stores it;
- re-render: `evalkit report` again, the stored analysis's key matching: no record is loaded.

Each is the command's wall time in a subprocess (interpreter start-up included). Prints the
medians, their ratio and the load average before and after. The goal (issue 17): re-render <= 1 s.

    python benchmarks/report_rerender.py                          # build the run in a temp dir
    python benchmarks/report_rerender.py --run /tmp/wmt17 --repeat 5  # build once, then reuse it
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 1.0


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def evalkit(*args: str) -> float:
    """Wall seconds of `evalkit ARGS` (stdout and stderr dropped; a failure raises)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "evalkit", *args],
        cwd=REPO,
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def ensure_run(run_dir: Path, out: Path) -> None:
    """Build the run when missing; then its first `evalkit report` uses the analysis the run
    stored with its own report."""
    if (run_dir / "run.json").is_file():
        return
    print(f"building {run_dir} (evalkit run suite=wmt17) ...", flush=True)
    seconds = evalkit("run", "suite=wmt17", f"run_dir={run_dir}", "progress=false")
    print(f"built in {seconds:.0f} s", flush=True)
    seconds = evalkit("report", str(run_dir), "-o", str(out))
    print(f"first evalkit report after the run (analysis stored by the run): {seconds:.2f} s")


def load() -> str:
    return Path("/proc/loadavg").read_text(encoding="utf-8").split(" tasks")[0].strip()


def measure(run_dir: Path, repeat: int, out: Path) -> tuple[list[float], list[float]]:
    first, again = [], []
    for _ in range(repeat):
        (run_dir / "analysis.json").unlink(missing_ok=True)
        first.append(evalkit("report", str(run_dir), "-o", str(out)))
        again.append(evalkit("report", str(run_dir), "-o", str(out)))
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="the run (built when missing)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run or Path(tmp) / "wmt17"
        out = Path(tmp) / "report.html"
        ensure_run(run_dir, out)
        before = load()
        first, again = measure(run_dir, args.repeat, out)
        after = load()
    f, a = statistics.median(first), statistics.median(again)
    print(f"first render: median {f:.2f} s  ({', '.join(f'{x:.2f}' for x in first)})")
    print(f"re-render:    median {a:.2f} s  ({', '.join(f'{x:.2f}' for x in again)})")
    verdict = "meets" if a <= GOAL_S else "misses"
    print(f"ratio {f / a:.1f}x; re-render {verdict} the goal (<= {GOAL_S:g} s)")
    print(f"load average before {before}, after {after} (cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
