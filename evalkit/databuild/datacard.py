"""datacard.json and datacard.md: what went in, what was removed or flagged and why, what came
out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalkit import __version__
from evalkit.databuild.config import DataBuildConfig
from evalkit.databuild.profile import SplitProfile
from evalkit.store.atomicio import atomic_write_text
from evalkit.tasks.datafiles import file_sha256

if TYPE_CHECKING:
    from evalkit.databuild.build import BuildStats


def _card(
    config: DataBuildConfig, stats: BuildStats, profiles: dict[str, SplitProfile], unit: str
) -> dict[str, Any]:
    return {
        "name": config.name,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "evalkit_version": __version__,
        "inputs": [{"path": str(p), "sha256": file_sha256(p)} for p in config.inputs],
        "rows_read": stats.read,
        "rows_kept": stats.kept,
        "removed": dict(stats.removed.most_common()),
        "rows_normalized": stats.normalized,
        "pii_replaced": dict(stats.pii),
        "contamination_flagged": dict(stats.flagged),
        "contamination_action": config.decontamination.action,
        "unreadable_images": stats.unreadable_images,
        "token_unit": unit,
        "splits": {name: p.summary(config.profile.bins) for name, p in profiles.items()},
        "config": json.loads(config.model_dump_json()),
    }


def _markdown(card: dict[str, Any]) -> str:
    lines = [
        f"# Data card: {card['name']}",
        "",
        f"Built {card['built_at']} by evalkit {card['evalkit_version']} from "
        f"{len(card['inputs'])} input file(s): {card['rows_read']:,} rows read, "
        f"{card['rows_kept']:,} kept.",
        "",
        "## Removed",
        "",
        "| reason | rows |",
        "|---|---:|",
        *[f"| {reason} | {n:,} |" for reason, n in card["removed"].items()],
        "",
        "Every removed row is listed in `removed.jsonl` with its reason; duplicate clusters "
        "(the kept row first) in `clusters.jsonl`.",
        "",
        f"Normalization (ftfy, NFC, whitespace) changed {card['rows_normalized']:,} rows. "
        f"PII replaced: {card['pii_replaced'] or 'none (off or nothing found)'}.",
        "",
        f"## Contamination ({card['contamination_action']})",
        "",
        *(
            [f"- {source}: {n:,} rows" for source, n in card["contamination_flagged"].items()]
            or ["- nothing matched (or no reference corpora configured)"]
        ),
        "",
        f"## Splits ({card['token_unit']})",
        "",
        "| split | rows | input total | input mean | input p95 | reference mean |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, split in card["splits"].items():
        i, r = split["input_tokens"], split["reference_tokens"]
        lines.append(
            f"| {name} | {split['rows']:,} | {i.get('total', 0):,} | {i.get('mean', '-')} | "
            f"{i.get('p95', '-')} | {r.get('mean', '-')} |"
        )
    if card["unreadable_images"]:
        lines += ["", "## Unreadable images", "", *[f"- {u}" for u in card["unreadable_images"]]]
    lines += ["", "Length histograms and the full configuration: `datacard.json`.", ""]
    return "\n".join(lines)


def write_datacard(
    config: DataBuildConfig,
    stats: BuildStats,
    profiles: dict[str, SplitProfile],
    unit: str,
    out: Path,
) -> dict[str, Any]:
    card = _card(config, stats, profiles, unit)
    atomic_write_text(out / "datacard.json", json.dumps(card, indent=2, ensure_ascii=False))
    atomic_write_text(out / "datacard.md", _markdown(card))
    return card
