"""The sample browser shows each extract pipeline's answer next to the raw output."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.report.conftest import evalkit

CASE = Path(__file__).parents[1] / "data" / "gsm8k50"


def test_sample_browser_shows_extracted_answers(open_report, tmp_path):
    task = tmp_path / "gsm8k50"
    task.mkdir()
    shutil.copy(CASE / "data.jsonl", task / "data.jsonl")
    block = "extract:\n  strict: [{regex: '#### (\\-?[0-9\\.\\,]+)'}]\n  flexible: [last_number]\n"
    (task / "task.yaml").write_text((CASE / "task.yaml").read_text() + block)
    run_dir = tmp_path / "run"
    evalkit(
        "run",
        f"tasks=[{task}]",
        f"model.path={CASE / 'my_outputs.jsonl'}",
        "limit=2",
        f"run_dir={run_dir}",
        cwd=tmp_path,
    )
    view = open_report(run_dir / "report.html")
    view.tab("samples")
    view.page.click("#s-table tbody tr >> nth=0")
    cot = view.page.locator("#d-outputs .card[data-model='cot-v1'] p.extracted").all_inner_texts()
    terse = view.page.locator("#d-outputs .card[data-model='terse-v1'] p.extracted")
    assert cot in (
        ["extracted answer (strict): 18", "extracted answer (flexible): 18"],  # gsm8k-test-0
        ["extracted answer (strict): 3", "extracted answer (flexible): 3"],  # gsm8k-test-1
    )
    assert terse.all_inner_texts()[0] == "extracted answer (strict): none (no answer extracted)"
    assert view.problems() == []
