"""Start-up wall time of `evalkit` commands against the interpreter's own start (issue 24).

Each command runs as a subprocess, as a user runs it; the commands alternate within every
repetition (a busy spell hits all of them alike), after one warm-up pass that compiles bytecode:

  python            `python -c pass`: the interpreter's start, the floor of any command
  import evalkit    `python -c "import evalkit"`
  --help            `evalkit --help`
  list tasks        `evalkit list tasks`
  run 1 sample      `evalkit run tasks=[DIR] model=replay limit=1 run_dir=...`: a replay task with
                    exact match; report on (the default), a fresh run_dir and response cache each

Prints the median and max wall of each, its ratio to the interpreter's start and to `import
evalkit`, the goal (--help and list tasks <= 0.5 s, the run <= 1 s on a quiet machine) and the
load average before and after. The commands run in a scratch folder with the evalkit that
`python -c "import evalkit"` finds there (PYTHONPATH picks a checkout); `--checkout DIR` (repeat
it) adds each evalkit command run from that checkout, alternating with the rest: before and after
a change under the same load.

Usage: python benchmarks/startup.py [--reps 7] [--checkout ../main]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"--help": 0.5, "list tasks": 0.5, "run 1 sample": 1.0}


def make_task(root: Path) -> Path:
    """A one-sample QA task with recorded outputs (the layout of replay_throughput.py's)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data.jsonl").write_text(
        json.dumps({"id": "q0", "question": "question 0?", "answer": "alpha beta"}) + "\n"
    )
    (root / "outputs.jsonl").write_text(
        json.dumps({"id": "q0", "system": "sys", "output": "alpha beta"}) + "\n"
    )
    (root / "task.yaml").write_text(
        "name: startup_qa\nversion: 1\ndata: data.jsonl\n"
        "fields: {id: id, input: question, references: answer}\n"
        "scorers: {exact_match: {}}\noutputs: outputs.jsonl\n"
    )
    return root


Command = tuple[list[str], dict[str, str]]  # argv, environment


def commands(work: Path, task: Path, rep: str, checkouts: list[Path]) -> dict[str, Command]:
    py, env = sys.executable, dict(os.environ)
    out: dict[str, Command] = {"python": ([py, "-c", "pass"], env)}
    for checkout in [None, *checkouts]:
        label = "" if checkout is None else f" [{checkout.name}]"
        run_env = env if checkout is None else {**env, "PYTHONPATH": str(checkout.resolve())}
        run_dir, cache = work / f"run-{rep}-{len(out)}", work / f"cache-{rep}-{len(out)}.sqlite"
        out |= {
            f"import evalkit{label}": ([py, "-c", "import evalkit"], run_env),
            f"--help{label}": ([py, "-m", "evalkit", "--help"], run_env),
            f"list tasks{label}": ([py, "-m", "evalkit", "list", "tasks"], run_env),
            f"run 1 sample{label}": (
                [py, "-m", "evalkit", "run", f"tasks=[{task}]", "model=replay", "limit=1",
                 f"run_dir={run_dir}", f"cache.path={cache}"],
                run_env,
            ),
        }  # fmt: skip
    return out


def wall(command: Command, cwd: Path) -> float:
    argv, env = command
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--checkout", type=Path, action="append", default=[])
    args = parser.parse_args()
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        task = make_task(work / "task")
        scratch = work / "cwd"
        scratch.mkdir()
        for command in commands(work, task, "warmup", args.checkout).values():
            wall(command, scratch)
        for rep in range(args.reps):
            for name, command in commands(work, task, str(rep), args.checkout).items():
                times.setdefault(name, []).append(wall(command, scratch))
    load_after = os.getloadavg()
    median = {name: statistics.median(ts) for name, ts in times.items()}
    where = subprocess.check_output(
        [sys.executable, "-c", "import evalkit; print(evalkit.__file__)"],
        text=True,
        cwd=tempfile.gettempdir(),
    )
    print(f"{args.reps} alternating repetitions, {os.cpu_count()} cores; load average (1 min) "
          f"before {load_before[0]:.2f}, after {load_after[0]:.2f}")  # fmt: skip
    print(f"evalkit: {where.strip()}")
    width = max(len(name) for name in times) + 2
    print(f"{'command':<{width}}{'median s':>9}{'max s':>8}{'x python':>10}{'x import':>10}  goal")
    for name, ts in times.items():
        goal = GOALS.get(name.split(" [")[0])
        verdict = (
            ""
            if goal is None
            else f"<= {goal} s: " + ("met" if median[name] <= goal else "NOT met")
        )
        to_python = median[name] / median["python"]
        to_import = "" if name == "python" else f"{median[name] / median[_import_of(name)]:.1f}"
        print(f"{name:<{width}}{median[name]:>9.3f}{max(ts):>8.3f}{to_python:>10.1f}"
              f"{to_import:>10}  {verdict}")  # fmt: skip


def _import_of(name: str) -> str:
    """The `import evalkit` row of the same checkout as this row."""
    _, bracket, label = name.partition(" [")
    return f"import evalkit{bracket}{label}"


if __name__ == "__main__":
    main()
