"""Record (or check) the numbers of the demo suite as written by evalkit at a given commit.

    python scripts/record_identity_reference.py        # record from 1d45821
    python scripts/record_identity_reference.py --commit HEAD \
        --check tests/data/identity/demo_1d45821.json.gz  # this commit against the recording

The commit is checked out into a temporary git worktree and `evalkit run limit=3
run_dir=TMP/demo progress=false` (the default run: the demo suite, offline) runs there with this
interpreter (its installed packages), PYTHONPATH=that worktree, HF_HUB_OFFLINE=1 and a fresh
EVALKIT_CACHE_DIR. The installed evalkit's entry points are those of the checkout this venv was
installed from, so a small dist-info written from the commit's own pyproject.toml goes first on
the path (its scorers and backends are found where that commit has them).

The run's numbers (evalkit/testing/identity.py) go to --out (gzip-compressed JSON) with a
header (commit, command, date); with --check FIXTURE they are compared with the fixture instead:
exit 0 when every number is identical, 1 when some differ (listed), 125 when the commit could
not run the demo. To find the commit that changed a number, check each commit from this checkout
(`for c in $(git rev-list --reverse A..B); do python scripts/record_identity_reference.py
--commit $c --check F || break; done`): the commit is only checked out into the temporary
worktree, so the recorder and its extraction stay this checkout's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evalkit.testing.identity import (  # noqa: E402
    DEMO_LIMIT,
    RUN_NAME,
    count_numbers,
    demo_arguments,
    differences,
    numbers_of_run,
    read_fixture,
    write_fixture,
)

DEFAULT_COMMIT = "1d45821"


def write_dist_info(checkout: Path, into: Path) -> None:
    """An `evalkit-VERSION.dist-info` with the checkout's entry points, under `into`."""
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    info = into / f"evalkit-{project['version']}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: evalkit\nVersion: {project['version']}\n"
    )
    groups = dict(project.get("entry-points", {}))
    groups["console_scripts"] = project.get("scripts", {})
    lines = []
    for group, entries in groups.items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {target}" for name, target in entries.items()]
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))


def run_demo(commit: str, work: Path, limit: int) -> tuple[Path, list[str], str]:
    """Check `commit` out under `work`, run the demo there; the run directory, the command and
    the full commit id. Raises CalledProcessError when the run fails."""
    checkout = work / "src"
    full = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", f"{commit}^{{commit}}"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(checkout), full],
        check=True, capture_output=True,
    )  # fmt: skip
    write_dist_info(checkout, work / "meta")
    module = "evalkit" if (checkout / "evalkit" / "__main__.py").exists() else "evalkit.cli"
    run_dir = work / "runs" / RUN_NAME
    command = [sys.executable, "-m", module, *demo_arguments(run_dir, limit)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(checkout), str(work / "meta")]),
        "HF_HUB_OFFLINE": "1",
        "EVALKIT_CACHE_DIR": str(work / "cache"),
    }
    done = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise subprocess.CalledProcessError(done.returncode, command)
    return run_dir, command, full


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commit", default=DEFAULT_COMMIT)
    parser.add_argument("--limit", type=int, default=DEMO_LIMIT)
    parser.add_argument("--out", type=Path, help="the fixture to write")
    parser.add_argument("--check", type=Path, help="compare with this fixture instead")
    args = parser.parse_args(argv)
    out = args.out or ROOT / "tests" / "data" / "identity" / f"demo_{args.commit}.json.gz"
    with tempfile.TemporaryDirectory(prefix="evalkit-identity-") as tmp:
        work = Path(tmp)
        try:
            run_dir, command, full = run_demo(args.commit, work, args.limit)
            numbers = numbers_of_run(run_dir)
        except subprocess.CalledProcessError as exc:
            print(f"{args.commit}: the demo did not run ({exc})", file=sys.stderr)
            return 125
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(work / "src")],
                capture_output=True,
            )  # fmt: skip
    if args.check:
        expected = read_fixture(args.check)
        found = differences({k: expected[k] for k in numbers}, numbers)
        print(f"{full[:12]}: {len(found)} differences", *found[:40], sep="\n")
        return 1 if found else 0
    shown = ["python", "-m", command[2], *(a.replace(str(work), "TMP") for a in command[3:])]
    header: dict[str, Any] = {
        "commit": full,
        "command": " ".join(shown),
        "environment": "PYTHONPATH=<worktree of the commit> HF_HUB_OFFLINE=1, a fresh "
        "EVALKIT_CACHE_DIR, the entry points of the commit's pyproject.toml",
        "recorded_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recorder": "scripts/record_identity_reference.py",
        "numbers": count_numbers(numbers),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    write_fixture(out, header, numbers)
    print(f"{out}: {header['numbers']} numbers from {full[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
