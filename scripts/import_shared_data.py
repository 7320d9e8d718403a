"""Convert the shared public data into the bundled demo tasks (run once; output is committed).

    python scripts/import_shared_data.py ../shared/data

SummEval: one task row per article (source + 11 references) and one recorded output per
(article, system), with the expert ratings kept beside each output. WMT17: one row per segment
(reference; the source text is not in the shared data) and the 16 systems' outputs per segment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "tasks"


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def import_summeval(shared: Path) -> None:
    rows = [json.loads(line) for line in (shared / "summeval/summeval.jsonl").open()]
    articles: dict[str, dict[str, object]] = {}
    outputs = []
    for row in rows:
        articles.setdefault(
            row["doc_id"],
            {
                "id": row["doc_id"],
                "source": row["source"],
                "references": row["references"],
            },
        )
        outputs.append(
            {
                "id": row["doc_id"],
                "system": row["system"],
                "output": row["summary"],
                "human": row["human"],
            }
        )
    _write_jsonl(ROOT / "summeval/data.jsonl", list(articles.values()))
    _write_jsonl(ROOT / "summeval/outputs.jsonl", outputs)


def import_wmt17(shared: Path) -> None:
    rows = [
        json.loads(line) for line in (shared / "wmt17_en_de/newstest2017_16systems.jsonl").open()
    ]
    _write_jsonl(
        ROOT / "wmt17_en_de/data.jsonl",
        [{"id": r["id"], "reference": r["reference"]} for r in rows],
    )
    _write_jsonl(
        ROOT / "wmt17_en_de/outputs.jsonl", [{"id": r["id"], "outputs": r["outputs"]} for r in rows]
    )


if __name__ == "__main__":
    shared_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    (ROOT / "summeval").mkdir(parents=True, exist_ok=True)
    (ROOT / "wmt17_en_de").mkdir(parents=True, exist_ok=True)
    import_summeval(shared_dir)
    import_wmt17(shared_dir)
