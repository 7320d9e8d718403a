"""Small labeled slices of the shared data, written where a test can point a config at them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

SUMMEVAL = SHARED_DATA / "summeval" / "summeval.jsonl"


def summeval_rows(documents: int) -> list[dict]:
    if not SUMMEVAL.is_file():
        pytest.skip("shared SummEval data not present")
    rows, seen = [], []
    for line in SUMMEVAL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["doc_id"] not in seen:
            if len(seen) == documents:
                continue
            seen.append(row["doc_id"])
        rows.append(row)
    return rows


def write_rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def summeval_source(path: Path, **extra) -> dict:
    return {
        "path": str(path),
        "group": "doc_id",
        "system": "system",
        "source": "source",
        "response": "summary",
        "reference": "references",
        "labels": {"coherence": "human.coherence", "consistency": "human.consistency"},
        **extra,
    }


@pytest.fixture(scope="session")
def summeval_slice(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 articles x 16 systems with their expert ratings."""
    return write_rows(tmp_path_factory.mktemp("labels") / "summeval12.jsonl", summeval_rows(12))


from tests.report.conftest import browser, open_report  # noqa: E402,F401  (Playwright fixtures)
