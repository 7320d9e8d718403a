"""`evalkit data build`: raw rows in, a clean, deduplicated, decontaminated, split task out.

Pass 1 streams the inputs in chunks; the per-row work (normalize, filter, scrub PII, hash, MinHash)
runs on the configured engine (prepare.py, engine.py), then the builder decides in input order:
exact and near duplicates (text and images), contamination. Kept rows go to a spool file, removed
ones to `removed.jsonl` with the reason; memory holds only hashes, the LSH index of kept rows and
their split keys. Pass 2 reads the spool, assigns splits, writes one JSONL per split and profiles
them. Then `clusters.jsonl`, `datacard.json`, `datacard.md` and `task.yaml` (an evalkit task over
the chosen split) are written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from evalkit.console.progress import ProgressReporter
from evalkit.databuild.config import DataBuildConfig
from evalkit.databuild.datacard import write_datacard
from evalkit.databuild.decontam import ContaminationIndex
from evalkit.databuild.dedup import NearDuplicates
from evalkit.databuild.engine import prepared_chunks
from evalkit.databuild.images import ImageDuplicates
from evalkit.databuild.prepare import Candidate, Prepared
from evalkit.databuild.profile import SplitProfile, token_counter
from evalkit.databuild.splits import assign_splits
from evalkit.databuild.textclean import text_of
from evalkit.errors import UserError
from evalkit.tasks.datafiles import read_rows

SPOOL = ".kept.jsonl.tmp"


@dataclass
class BuildStats:
    read: int = 0
    kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    normalized: int = 0
    pii: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    unreadable_images: list[str] = field(default_factory=list)


class Builder:
    def __init__(self, config: DataBuildConfig) -> None:
        self.config = config
        self.stats = BuildStats()
        self.exact: dict[str, int] = {}
        self.exact_clusters: dict[int, list[int]] = {}
        self.ids: dict[int, str] = {}
        self.near = NearDuplicates(config.dedup) if config.dedup.near else None
        self.images = ImageDuplicates(config.images.hamming) if config.fields.image else None
        self.contamination = (
            ContaminationIndex(config.decontamination) if config.decontamination.corpora else None
        )
        self.split_keys: list[str] = []
        self.strata: list[str] = []

    # ---- pass 1 ----
    def candidates(self) -> Iterator[Candidate]:
        fields = self.config.fields
        stratify = self.config.splits.stratify
        key = 0
        for path in self.config.inputs:
            for line_no, row in read_rows(path):
                where = f"{path}:{line_no}"
                for name in (fields.id, fields.input, self.config.splits.stratify):
                    if name is not None and name not in row:
                        raise UserError(f"{where}: missing field '{name}'")
                raw_refs = row.get(fields.references) if fields.references else None
                refs = (
                    raw_refs
                    if isinstance(raw_refs, list)
                    else []
                    if raw_refs is None
                    else [raw_refs]
                )
                image = row.get(fields.image) if fields.image else None
                yield Candidate(
                    key=key,
                    row_id=str(row[fields.id]) if fields.id else f"{path.name}:{line_no}",
                    source=where,
                    input=text_of(row, fields.input),
                    references=[str(r) for r in refs],
                    metadata={k: row[k] for k in [*fields.keep, stratify] if k and k in row},
                    image=(path.parent / str(image)) if image else None,
                )
                key += 1

    def process_chunk(self, chunk: list[Prepared], kept: TextIO, removed: TextIO) -> None:
        """Decide, in input order, what happens to each prepared row of a chunk."""
        survivors: list[Prepared] = []
        for p in chunk:
            c = p.candidate
            self.ids[c.key] = c.row_id
            self.stats.normalized += p.normalized
            self.stats.pii.update(p.pii)
            if p.rejected and p.rejected.startswith("unreadable image"):
                self.stats.unreadable_images.append(f"{c.source}: {p.rejected}")
            reason = p.rejected or self._exact_duplicate(p) or self._image_duplicate(p)
            if reason:
                self._remove(c, reason, removed)
            else:
                survivors.append(p)
        if self.near is not None and survivors:
            signatures = [p.signature for p in survivors if p.signature is not None]
            ids = [p.shingle_ids for p in survivors if p.shingle_ids is not None]
            reps = self.near.add([p.candidate.key for p in survivors], signatures, ids)
            for p, rep in zip(survivors, reps, strict=True):
                if rep is not None:
                    reason = f"near duplicate of {self.ids[rep]}"
                    self._remove(p.candidate, reason, removed, "near duplicate")
            survivors = [p for p, rep in zip(survivors, reps, strict=True) if rep is None]
        kept_rows = self._decontaminate([p.candidate for p in survivors], removed)
        for c in kept_rows:
            self._keep(c, kept)

    def _decontaminate(self, rows: list[Candidate], removed: TextIO) -> list[Candidate]:
        if self.contamination is None or not rows:
            return rows
        for c, match in zip(rows, self.contamination.check([c.text for c in rows]), strict=True):
            if match is not None:
                c.contamination = match.as_dict()
                self.stats.flagged[f"{match.corpus} ({match.method})"] += 1
        if self.config.decontamination.action == "flag":
            return rows
        for c in rows:
            if c.contamination:
                self._remove(c, f"contaminated: {c.contamination}", removed, "contaminated")
        return [c for c in rows if not c.contamination]

    def _exact_duplicate(self, p: Prepared) -> str | None:
        if p.exact is None:
            return None
        key = p.candidate.key
        first = self.exact.setdefault(p.exact, key)
        if first == key:
            return None
        self.exact_clusters.setdefault(first, []).append(key)
        return f"exact duplicate of {self.ids[first]}"

    def _image_duplicate(self, p: Prepared) -> str | None:
        if self.images is None or p.image_sha is None or p.image_phash is None:
            return None
        verdict = self.images.add(p.candidate.key, p.image_sha, p.image_phash)
        if verdict.duplicate_of is not None:
            return f"image {verdict.kind} duplicate of {self.ids[verdict.duplicate_of]}"
        return None

    def _remove(self, c: Candidate, reason: str, out: TextIO, category: str | None = None) -> None:
        label = category or reason.split(" of ")[0].split(":")[0]
        self.stats.removed[label] += 1
        out.write(json.dumps({"id": c.row_id, "source": c.source, "reason": reason}) + "\n")

    def _keep(self, c: Candidate, out: TextIO) -> None:
        self.stats.kept += 1
        row: dict[str, Any] = {"id": c.row_id, "input": c.input, "references": c.references}
        if c.image is not None:
            row["image"] = str(c.image)
        if c.contamination:
            row["contamination"] = c.contamination
        row.update(c.metadata)
        self.split_keys.append(str(row.get(self.config.splits.key or "id", c.row_id)))
        stratify = self.config.splits.stratify
        self.strata.append(str(c.metadata.get(stratify, "")) if stratify else "")
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _chunks(items: Iterator[Candidate], size: int) -> Iterator[list[Candidate]]:
    chunk: list[Candidate] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_splits(builder: Builder, out: Path) -> tuple[dict[str, SplitProfile], str]:
    """Pass 2: the spool, split by key, into <split>.jsonl, profiled on the way."""
    config = builder.config
    strata = builder.strata if config.splits.stratify else None
    names = assign_splits(builder.split_keys, strata, config.splits)
    what, count = token_counter(config.profile.tokenizer)
    profiles = {name: SplitProfile() for name in config.splits.fractions}
    handles = {name: (out / f"{name}.jsonl").open("w", encoding="utf-8") for name in profiles}
    try:
        with (out / SPOOL).open(encoding="utf-8") as spool:
            batch: list[tuple[str, dict[str, Any]]] = []
            for split, line in zip(names, spool, strict=True):
                batch.append((split, json.loads(line)))
                if len(batch) == config.chunk_size:
                    _flush(batch, handles, profiles, count)
                    batch = []
            _flush(batch, handles, profiles, count)
    finally:
        for handle in handles.values():
            handle.close()
    (out / SPOOL).unlink()
    return profiles, what


def _flush(
    batch: list[tuple[str, dict[str, Any]]],
    handles: Mapping[str, TextIO],
    profiles: dict[str, SplitProfile],
    count: Callable[[Sequence[str]], list[int]],
) -> None:
    if not batch:
        return
    inputs = count([row["input"] for _, row in batch])
    refs = count([" ".join(row["references"]) for _, row in batch])
    for (split, row), n_in, n_ref in zip(batch, inputs, refs, strict=True):
        handles[split].write(json.dumps(row, ensure_ascii=False) + "\n")
        profile = profiles[split]
        profile.rows += 1
        profile.input_tokens.append(n_in)
        profile.reference_tokens.append(n_ref)


def build_dataset(config: DataBuildConfig) -> dict[str, Any]:
    """Build the dataset into `config.output`; return the data card (also datacard.json)."""
    out = config.output
    out.mkdir(parents=True, exist_ok=True)
    builder = Builder(config)
    with (
        (out / SPOOL).open("w", encoding="utf-8") as kept,
        (out / "removed.jsonl").open("w", encoding="utf-8") as removed,
        ProgressReporter(None, enabled=config.progress, label="building") as progress,
    ):
        for chunk in prepared_chunks(_chunks(builder.candidates(), config.chunk_size), config):
            builder.stats.read += len(chunk)
            builder.process_chunk(chunk, kept, removed)
            progress.advance(len(chunk))
    profiles, token_unit = _write_splits(builder, out)
    _write_clusters(builder, out)
    _write_task(config, out)
    return write_datacard(config, builder.stats, profiles, token_unit, out)


def _write_clusters(builder: Builder, out: Path) -> None:
    with (out / "clusters.jsonl").open("w", encoding="utf-8") as handle:
        for rep, members in builder.exact_clusters.items():
            ids = [builder.ids[m] for m in members]
            handle.write(
                json.dumps({"kind": "exact", "kept": builder.ids[rep], "removed": ids}) + "\n"
            )
        if builder.near is not None:
            for rep, near in builder.near.clusters.items():
                handle.write(
                    json.dumps(
                        {
                            "kind": "near",
                            "kept": builder.ids[rep],
                            "removed": [builder.ids[k] for k, _ in near],
                            "jaccard_estimate": [round(s, 3) for _, s in near],
                        }
                    )
                    + "\n"
                )


def _write_task(config: DataBuildConfig, out: Path) -> None:
    import yaml

    spec = {
        "name": config.name,
        "version": "1",
        "description": f"built by evalkit data build (datacard.md); split '{config.task.split}'",
        "data": f"{config.task.split}.jsonl",
        "fields": {"id": "id", "input": "input", "references": "references"},
        "prompt": config.task.prompt,
        "scorers": config.task.scorers,
    }
    (out / "task.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
