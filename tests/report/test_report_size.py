"""The report's size: a partial plotly.js bundle (checked against its recorded sha256, license
kept), not the whole 4.8 MB library, so a report of 100 outputs stays under 1.5 MB."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from evalkit.testing.synthetic_runs import write_task
from tests.report.conftest import evalkit

VENDOR = Path(__file__).resolve().parents[2] / "evalkit" / "report" / "static" / "vendor"


def test_vendored_bundle_matches_its_record_and_keeps_its_license():
    record = json.loads((VENDOR / "plotly-basic.json").read_text())
    data = (VENDOR / record["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == record["sha256"]
    assert record["package"] == "plotly.js-basic-dist-min"
    assert data.startswith(b"/**\n* plotly.js (basic - minified) v" + record["version"].encode())
    assert "Licensed under the MIT license" in data[:300].decode()
    assert "Permission is hereby granted" in (VENDOR / "plotly-LICENSE.txt").read_text()
    assert len(data) < 1_300_000  # the full bundle is ~4.8 MB
    assert b"</script" not in data.lower()


def test_a_report_of_100_outputs_is_at_most_1_5_mb(tmp_path):
    task = write_task(tmp_path / "tasks" / "synth", 25, seed=3)  # 25 samples x 4 variants
    evalkit("run", f"tasks=[{task}]", f"run_dir={tmp_path / 'run'}", cwd=tmp_path)
    html = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert html.count("plotly.js (basic - minified)") == 1
    assert len(html.encode("utf-8")) <= 1_500_000
