"""`evalkit report`: merged runs, variant labels, the summary's significance marks, user errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from evalkit.testing.synthetic_runs import write_task
from tests.conftest import cli_in_process
from tests.report.conftest import evalkit, report_data


def _fail(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli_in_process(*args, cwd=cwd)


def test_records_keep_their_references(synthetic_run):
    first = json.loads((synthetic_run / "samples.jsonl").read_text().splitlines()[0])
    data = json.loads((synthetic_run.parent / "tasks/synth/data.jsonl").read_text().splitlines()[0])
    assert first["references"] == [data["answer"]]


def test_report_of_two_runs_labels_the_variants_and_compares_them(synthetic_run, tmp_path):
    task = synthetic_run.parent / "tasks" / "synth"
    other = tmp_path / "short"
    evalkit("run", f"tasks=[{task}]", f"run_dir={other}", "limit=40", cwd=tmp_path)
    out = tmp_path / "merged.html"
    evalkit(
        "report",
        str(synthetic_run),
        str(other),
        "-o",
        str(out),
        "--baseline",
        str(other),
        cwd=tmp_path,
    )
    data = report_data(out.read_text())
    assert "base [limit=None]" in data["models"] and "base [limit=40]" in data["models"]
    assert len(data["models"]) == 8 and len(data["outputs"]["s"]) == 4 * 60 + 4 * 40
    # the baseline named by its run directory is that run's first model
    assert data["comparison"]["baselines"]["synth"].endswith("[limit=40]")
    rows = data["comparison"]["rows"]
    # paired on the samples both have: 40, less 'small''s unanswered samples 0, 15 and 30
    assert {r["n"] for r in rows if not r["model"].startswith("small")} == {40}
    assert {r["n"] for r in rows if r["model"].startswith("small")} == {37}
    assert all(r["baseline"].endswith("[limit=40]") for r in rows)


def test_summary_marks_the_best_and_who_is_tied_with_it(synthetic_run):
    html = (synthetic_run / "report.html").read_text()
    run = json.loads((synthetic_run / "run.json").read_text())
    f1 = {a["model"]: a["value"] for a in run["aggregates"] if a["metric"] == "f1"}
    best = max(f1, key=f1.get)
    table = html[html.index('<table class="summary"') : html.index("</table>")]
    rows = {re.search(r"<td>([^<]+)</td>", row).group(1): row for row in table.split("<tr>")[2:]}
    header = re.findall(r"<th>([^<]+)</th>", table)
    f1_col = header.index("f1 ↑") - 2  # after '#' and 'model'
    cells = {
        m: re.findall(r'<td class="num[^"]*"[^>]*>([^<]*)</td>', r)[1:] for m, r in rows.items()
    }
    assert cells[best][f1_col].startswith("★")
    # 'small' rewrites 35% of the words, the best about 10%: significantly worse on 60 samples
    assert not cells["small"][f1_col].startswith(("★", "≈"))


def test_old_runs_get_references_from_unchanged_task_data(synthetic_run, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(synthetic_run, old)
    lines = []
    for line in (old / "samples.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("references")
        lines.append(json.dumps(record))
    (old / "samples.jsonl").write_text("\n".join(lines) + "\n")
    evalkit(
        "report",
        str(old),
        "-o",
        str(tmp_path / "old.html"),
        "--max-samples",
        "5",
        cwd=synthetic_run.parent,
    )
    data = report_data((tmp_path / "old.html").read_text())
    assert len(data["outputs"]["s"]) == 5 * 4  # 'small' errs on the first: still a record
    assert all(len(refs) == 1 and refs[0] for refs in data["samples"]["refs"])


def test_user_errors_exit_2_with_one_line(synthetic_run, tmp_path):
    several = _fail("report", str(synthetic_run), str(synthetic_run), cwd=tmp_path)
    assert several.returncode == 2 and "-o FILE.html" in several.stderr
    unknown = _fail(
        "report", str(synthetic_run), "--baseline", "nosuch", "-o", "x.html", cwd=tmp_path
    )
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr
    assert len(unknown.stderr.strip().splitlines()) == 1
    missing = _fail("report", str(tmp_path / "nothing"), cwd=tmp_path)
    assert missing.returncode == 2 and "not a run directory" in missing.stderr


def test_a_synthetic_task_round_trips(tmp_path):
    root = write_task(tmp_path / "t", 3)
    assert len((root / "outputs.jsonl").read_text().splitlines()) == 3 * 4


def test_a_negative_sample_cap_is_a_usage_error(tmp_path):
    from tests.conftest import cli_in_process

    out = cli_in_process("report", str(tmp_path), "--max-samples", "-3")
    assert out.returncode == 2 and "--max-samples" in out.stderr


def test_the_sample_cap_follows_the_run_unless_given(tmp_path):
    """`evalkit report RUN` draws as many outputs as the run's own report.max_samples (null:
    all, as runs before the cap were drawn); --max-samples N or 'all' overrides it; several
    runs default to BROWSER_SAMPLES."""
    from evalkit.app.cli import _runs_own_cap
    from evalkit.limits import BROWSER_SAMPLES
    from tests.conftest import cli_in_process

    def run_dir(name: str, report: object) -> Path:
        path = tmp_path / name
        task = write_task(tmp_path / "tasks" / name, 6, seed=3)
        args = ["run", f"tasks=[{task}]", f"run_dir={path}"]
        out = cli_in_process(*args, *([f"report.max_samples={report}"] if report else []))
        assert out.returncode == 0, out.stderr[-2000:]
        return path

    everything, two, default = run_dir("all", "null"), run_dir("two", 2), run_dir("def", None)
    assert _runs_own_cap((everything,)) is None
    assert _runs_own_cap((two,)) == 2
    assert _runs_own_cap((default,)) == BROWSER_SAMPLES
    assert _runs_own_cap((two, default)) == BROWSER_SAMPLES

    def shown(*args: str) -> int:
        out = cli_in_process("report", *args)
        assert out.returncode == 0, out.stderr[-2000:]
        html = Path(out.stdout.strip().splitlines()[-1]).read_text()
        outputs = report_data(html)["outputs"]
        return len(set(zip(outputs["s"], outputs["m"], strict=True)))

    per_run = 6 * 4  # 6 samples x 4 models
    assert shown(str(everything)) == per_run
    assert shown(str(two)) == 2 * 4
    assert shown(str(two), "--max-samples", "all") == per_run
    assert shown(str(two), "--max-samples", "0") == 0
    bad = cli_in_process("report", str(two), "--max-samples", "some")
    assert bad.returncode == 2 and "'some' is not a whole number >= 0 or 'all'" in bad.stderr
