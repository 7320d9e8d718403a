"""LLMBar (Zeng et al. 2024, "Evaluating Large Language Models at Evaluating Instruction
Following"; princeton-nlp/LLMBar, MIT) as an evalkit judge-evaluation task.

LLMBar holds 419 instructions, each with two outputs of which exactly one follows the
instruction (the gold `label`: 1 or 2): Natural (100) and the four adversarial sets Neighbor
(134), GPTInst (92), GPTOut (47) and Manual (46). Its data is not bundled: `write_llmbar_task`
reads a checkout of the repository and writes a replay task folder, whose two systems
`output_1` and `output_2` carry the gold label as a human rating (`human: {follows_instruction:
1 or 0}`). `evalkit run tasks=[DIR] model=replay`, then `evalkit judge RUN` with a pairwise
rubric, gives the judge's agreement with the gold labels (`human_accuracy_per_order`: LLMBar's
accuracy, the mean over the two orders; `human_accuracy`: both orders right) and its swap
consistency (LLMBar's positional agreement) in the reliability panel.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.judges.recorded_judgments import read_json_objects
from evalkit.store.atomicio import atomic_write_text

SUBSETS = (
    "Natural",
    "Adversarial/Neighbor",
    "Adversarial/GPTInst",
    "Adversarial/GPTOut",
    "Adversarial/Manual",
)
HUMAN = "follows_instruction"


def llmbar_root(path: Path) -> Path:
    """The `Dataset/LLMBar` folder of a checkout (the checkout itself, its `Dataset`, or the
    folder given). Raises UserError when none holds `Natural/dataset.json`."""
    for candidate in (path / "Dataset" / "LLMBar", path / "LLMBar", path):
        if (candidate / "Natural" / "dataset.json").is_file():
            return candidate
    raise UserError(
        f"{path}: not an LLMBar checkout (no Dataset/LLMBar/Natural/dataset.json); clone "
        "https://github.com/princeton-nlp/LLMBar and give its folder"
    )


def read_pairs(root: Path, subsets: Sequence[str] = SUBSETS) -> list[dict[str, Any]]:
    """Every pair of `subsets`, as {subset, index, input, output_1, output_2, label}."""
    pairs: list[dict[str, Any]] = []
    for subset in subsets:
        path = root / subset / "dataset.json"
        if not path.is_file():
            raise UserError(f"{path}: no such LLMBar set (sets: {', '.join(SUBSETS)})")
        rows = read_json_objects(path, "an LLMBar dataset.json", "pair")
        for k, row in enumerate(rows):
            where = f"{path}: pair {k}"
            missing = [f for f in ("input", "output_1", "output_2", "label") if f not in row]
            if missing:
                raise UserError(f"{where}: missing field '{missing[0]}'")
            if str(row["label"]) not in ("1", "2"):
                raise UserError(f"{where}: label {row['label']!r} is not 1 or 2")
            pairs.append({"subset": subset, "index": k, **{f: row[f] for f in row}})
    return pairs


def write_llmbar_task(source: Path, out_dir: Path, subsets: Sequence[str] = SUBSETS) -> Path:
    """Write the task folder `out_dir` (task.yaml, data.jsonl, outputs.jsonl, README.md; those
    files are replaced, others left) from an LLMBar checkout; returns its task.yaml. A set named
    twice is read once. Raises UserError for a folder that is not one, or `out_dir` a file."""
    subsets = list(dict.fromkeys(s.strip("/") for s in subsets))  # "Natural/" is Natural
    pairs = read_pairs(llmbar_root(source), subsets)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    data, outputs = [], []
    for pair in pairs:
        sample = f"{pair['subset'].split('/')[-1].lower()}-{pair['index']}"
        data.append({"id": sample, "input": pair["input"], "subset": pair["subset"]})
        for n in (1, 2):
            outputs.append(
                {
                    "id": sample,
                    "system": f"output_{n}",
                    "output": pair[f"output_{n}"],
                    "human": {HUMAN: 1.0 if str(pair["label"]) == str(n) else 0.0},
                }
            )
    atomic_write_text(out_dir / "data.jsonl", "".join(json.dumps(r) + "\n" for r in data))
    atomic_write_text(out_dir / "outputs.jsonl", "".join(json.dumps(r) + "\n" for r in outputs))
    spec = out_dir / "task.yaml"
    atomic_write_text(
        spec,
        "name: llmbar\n"
        "version: 1\n"
        f"description: LLMBar ({len(pairs)} instructions of {', '.join(subsets)}), two outputs "
        "each, one of which follows the instruction; for judging a judge.\n"
        "data: data.jsonl\n"
        "fields: {id: id, input: input}\n"
        "prompt: '{{ input }}'\n"
        "scorers: {}\n"
        "# output_1 and output_2 as LLMBar lists them; `human` marks the one that follows the\n"
        "# instruction: `evalkit judge RUN` (pairwise rubric) compares its judge with it.\n"
        "outputs: outputs.jsonl\n",
    )
    atomic_write_text(
        out_dir / "README.md",
        "# llmbar\n\nWritten by `evalkit task llmbar` from a checkout of princeton-nlp/LLMBar "
        "(MIT License; Zeng et al. 2024). Not part of evalkit: keep its license with it.\n",
    )
    return spec
