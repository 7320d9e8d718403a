"""The stored analysis: `evalkit run` stores it, `evalkit report` renders it without loading a
record, and anything it was computed from changing (samples, run.json, options) recomputes it."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.analysis import bundle as bundle_module
from evalkit.analysis.bundle import bundle_runs, load_runs
from evalkit.analysis.metric_agreement import AgreementTable, MetricAgreement
from evalkit.analysis.report_analysis import analyse_bundle
from evalkit.analysis.stored import (
    ANALYSIS_FILE,
    StoredAnalysis,
    analysis_key,
    read_analysis,
    stored_analysis,
    write_analysis,
)
from evalkit.limits import BROWSER_SAMPLES
from evalkit.report.page import render_bundle
from evalkit.report.render import render_analysis
from evalkit.stats.metaeval import Correlation
from evalkit.types import RunRecord
from tests.conftest import cli_in_process
from tests.report.conftest import report_data

_STAMP = re.compile(r'"generated_at":"[^"]*"')


def _unstamped(html: str) -> str:
    """The page less its one moment-dependent value (when it was generated)."""
    assert len(_STAMP.findall(html)) == 1
    return _STAMP.sub('"generated_at":""', html)


def _copy(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of the shared run that a test may change (without its stored analysis)."""
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns(ANALYSIS_FILE, "report.html"))
    return copy


def test_run_stores_the_analysis_its_report_was_drawn_from(synthetic_run):
    key = analysis_key([synthetic_run], baseline=None, max_samples=BROWSER_SAMPLES)
    stored = read_analysis(synthetic_run / ANALYSIS_FILE, key)
    assert stored is not None and stored.key == key
    # The page `evalkit run` wrote is the page drawn from the stored analysis, and the page the
    # records give when analysed now, byte for byte (less the generation time).
    run_page = (synthetic_run / "report.html").read_text(encoding="utf-8")
    fresh = render_bundle(bundle_runs(load_runs([synthetic_run])))
    assert _unstamped(render_analysis(stored)) == _unstamped(run_page) == _unstamped(fresh)


def test_report_renders_a_stored_analysis_without_loading_records(
    synthetic_run, tmp_path, monkeypatch
):
    run_dir = _copy(synthetic_run, tmp_path)
    out = cli_in_process("report", str(run_dir))
    assert out.returncode == 0, out.stderr
    first = (run_dir / "report.html").read_text(encoding="utf-8")

    def no_records(*_: object) -> None:
        raise AssertionError("records loaded although the analysis is stored")

    monkeypatch.setattr(bundle_module, "load_runs", no_records)
    out = cli_in_process("report", str(run_dir))
    assert out.returncode == 0, out.stderr
    assert _unstamped((run_dir / "report.html").read_text(encoding="utf-8")) == _unstamped(first)


def test_stored_path_imports_no_statistics(synthetic_run, tmp_path):
    out = tmp_path / "page.html"
    code = (
        "import sys\n"
        "from evalkit.app.cli import main\n"
        f"sys.argv = ['evalkit', 'report', {str(synthetic_run)!r}, '-o', {str(out)!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('scipy', 'pandas', 'numpy', 'evalkit.analysis.compare',\n"
        "         'evalkit.analysis.report_analysis')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], text=True, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert out.is_file()


def _rewrite_last_output(samples: Path, text: str) -> None:
    """Append a newer record of the last sample (the latest record of a sample wins)."""
    last = json.loads(samples.read_text(encoding="utf-8").splitlines()[-1])
    last["generation"]["text"] = text
    with samples.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(last) + "\n")


def test_changed_samples_or_run_record_recompute_the_analysis(synthetic_run, tmp_path):
    run_dir = _copy(synthetic_run, tmp_path)
    assert cli_in_process("report", str(run_dir)).returncode == 0
    key = json.loads((run_dir / ANALYSIS_FILE).read_text(encoding="utf-8"))["key"]

    _rewrite_last_output(run_dir / "samples.jsonl", "a fresh answer nobody gave before")
    assert cli_in_process("report", str(run_dir)).returncode == 0
    data = report_data((run_dir / "report.html").read_text(encoding="utf-8"))
    assert "a fresh answer nobody gave before" in data["outputs"]["t"]
    newer = json.loads((run_dir / ANALYSIS_FILE).read_text(encoding="utf-8"))["key"]
    assert newer != key

    # A judging rewrites run.json (its judge reports): the Judges tab appears.
    run = RunRecord.model_validate_json((run_dir / "run.json").read_text(encoding="utf-8"))
    report = {"task": "synth", "kind": "pointwise", "rubric": "r", "judge": "stored-judge-7"}
    judged = run.model_copy(update={"judge_reports": [report]})
    (run_dir / "run.json").write_text(judged.model_dump_json(indent=2), encoding="utf-8")
    assert cli_in_process("report", str(run_dir)).returncode == 0
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "stored-judge-7" in page and 'data-tab="judges"' in page


def test_options_are_part_of_the_key(synthetic_run, tmp_path):
    run_dir = _copy(synthetic_run, tmp_path)
    where = run_dir / ANALYSIS_FILE
    default = stored_analysis([run_dir], where)
    capped = stored_analysis([run_dir], where, max_samples=2)
    assert capped.key != default.key
    outputs = report_data(render_analysis(capped))["outputs"]
    assert len(outputs["s"]) == 2 * 4  # 2 outputs per model shown, 4 models
    based = stored_analysis([run_dir], where, baseline="small")
    assert based.comparison is not None and based.comparison.baselines == {"synth": "small"}
    assert read_analysis(where, default.key) is None  # one stored analysis: the latest
    assert read_analysis(where, based.key) == based


def test_several_runs_store_their_analysis_beside_the_report(synthetic_run, tmp_path):
    other = _copy(synthetic_run, tmp_path)
    out = tmp_path / "both.html"
    args = ("report", str(synthetic_run), str(other), "-o", str(out))
    assert cli_in_process(*args).returncode == 0
    stored = tmp_path / f"both.{ANALYSIS_FILE}"
    analysis = StoredAnalysis.model_validate_json(stored.read_text(encoding="utf-8"))
    assert [r.label for r in analysis.runs] == ["run", "run"]
    assert analysis.n_models == 8  # each model twice, told apart by their run
    before = stored.stat().st_mtime_ns
    assert cli_in_process(*args).returncode == 0
    assert stored.stat().st_mtime_ns == before  # reused, not written again


def test_nan_agreement_and_every_section_survive_the_round_trip(synthetic_run, tmp_path):
    nan = Correlation("summary", "kendall", math.nan, None, None, 3)
    ok = Correlation("system", "kendall", 0.5, 0.25, 0.75, 4)
    table = AgreementTable(
        "synth",
        ["fluency"],
        [MetricAgreement("synth", "f1", "f1", 2.0, {"fluency": {"summary": nan, "system": ok}})],
        {("fluency", "system"): "f1"},
    )
    bundle = bundle_runs(load_runs([synthetic_run]))
    computed = analyse_bundle(bundle, key="k", agreement=[table])
    reloaded = write_analysis(tmp_path / ANALYSIS_FILE, computed)
    assert math.isnan(reloaded.agreement[0].rows[0].by_dimension["fluency"]["summary"].value)
    assert reloaded.agreement[0].best == {("fluency", "system"): "f1"}
    stamp = "2026-01-01T00:00:00+00:00"
    page = render_analysis(reloaded, generated_at=stamp)
    assert page == render_analysis(computed, generated_at=stamp)
    assert ">nan<" in page and "<b>0.500</b>" in page


def test_an_unwritable_folder_still_gives_the_report(synthetic_run, tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    analysis = stored_analysis([synthetic_run], blocker / ANALYSIS_FILE, max_samples=1)
    assert analysis.n_models == 4
    assert "analysis not stored" in caplog.text


@pytest.mark.parametrize("stored", ["", '{"schema_version":0,"key":"x"}', "{not json"])
def test_a_missing_old_or_broken_file_is_not_used(tmp_path, stored):
    path = tmp_path / ANALYSIS_FILE
    if stored:
        path.write_text(stored, encoding="utf-8")
    assert read_analysis(path, "x") is None


def test_not_a_run_directory_is_one_line(tmp_path):
    out = cli_in_process("report", str(tmp_path))
    assert out.returncode == 2
    assert out.stderr.strip() == f"evalkit: error: {tmp_path}: not a run directory (no run.json)"
