"""Convert the shared public data into the bundled demo tasks (run once; output is committed).

    python scripts/import_shared_data.py ../shared/data

SummEval: one task row per article (source + 11 references) and one recorded output per
(article, system), with the expert ratings kept beside each output. WMT17: one row per segment
(reference; the source text is not in the shared data) and the 16 systems' outputs per segment.
MT-Bench: the 80 two-turn questions as they are. UniEval's Topical-Chat and QAGS sets: one task
row per dialogue / article and one recorded output per (row, system) with the human ratings
(`human`) and UniEval's own predicted scores (`unieval`) beside it.
"""

from __future__ import annotations

import ast
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


def import_mt_bench(shared: Path) -> None:
    rows = [json.loads(line) for line in (shared / "mt_bench/questions.jsonl").open()]
    _write_jsonl(ROOT / "mt_bench/data.jsonl", rows)


# Topical-Chat (USR) systems under names usable as model names on the command line.
TOPICAL_CHAT_SYSTEMS = {
    "Original Ground Truth": "original_ground_truth",
    "New Human Generated": "new_human",
    "Argmax Decoding": "argmax",
    "Nucleus Decoding (p = 0.3)": "nucleus_p0.3",
    "Nucleus Decoding (p = 0.5)": "nucleus_p0.5",
    "Nucleus Decoding (p = 0.7)": "nucleus_p0.7",
}


def _predicted(value: object) -> object:
    """UniEval's predicted scores: a dict, or (Topical-Chat) the text of a Python dict."""
    return ast.literal_eval(value) if isinstance(value, str) else value


def import_topical_chat(shared: Path) -> None:
    rows = [json.loads(line) for line in (shared / "unieval_meta/topical_chat.jsonl").open()]
    dialogues: dict[tuple[str, str], str] = {}
    outputs = []
    for row in rows:
        key = (row["source"], row["context"])
        dialogue = dialogues.setdefault(key, f"topical_chat-d{len(dialogues)}")
        outputs.append(
            {
                "id": dialogue,
                "system": TOPICAL_CHAT_SYSTEMS[row["system_id"]],
                "output": row["system_output"],
                "human": row["scores"],
                "unieval": _predicted(row["unieval_predict_scores"]),
                "unieval_row": row["id"],
            }
        )
    data = [
        {"id": dialogue, "history": source, "fact": fact}
        for (source, fact), dialogue in dialogues.items()
    ]
    _write_jsonl(ROOT / "topical_chat/data.jsonl", data)
    _write_jsonl(ROOT / "topical_chat/outputs.jsonl", outputs)


def import_qags(shared: Path, name: str) -> None:
    rows = [json.loads(line) for line in (shared / f"unieval_meta/{name}.jsonl").open()]
    data = [{"id": r["id"], "source": r["source"]} for r in rows]
    outputs = [
        {
            "id": r["id"],
            "system": f"{name}_system",
            "output": r["system_output"],
            "human": r["scores"],
            "unieval": _predicted(r["unieval_predict_scores"]),
        }
        for r in rows
    ]
    _write_jsonl(ROOT / f"{name}/data.jsonl", data)
    _write_jsonl(ROOT / f"{name}/outputs.jsonl", outputs)


if __name__ == "__main__":
    shared_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    (ROOT / "summeval").mkdir(parents=True, exist_ok=True)
    (ROOT / "wmt17_en_de").mkdir(parents=True, exist_ok=True)
    import_summeval(shared_dir)
    import_wmt17(shared_dir)
    for folder in ("mt_bench", "topical_chat", "qags_cnndm", "qags_xsum"):
        (ROOT / folder).mkdir(parents=True, exist_ok=True)
    import_mt_bench(shared_dir)
    import_topical_chat(shared_dir)
    import_qags(shared_dir, "qags_cnndm")
    import_qags(shared_dir, "qags_xsum")
