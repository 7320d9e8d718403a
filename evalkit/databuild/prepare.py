"""The per-row stage of a build: pure, so any engine can run it on any worker.

A chunk of raw candidates in, for each: the cleaned text (normalized, filtered, PII scrubbed), why
it was rejected, its exact-duplicate key, its MinHash signature and its image hashes. Every decision
that needs to see other rows (duplicates, contamination, splits) is taken afterwards, in input
order, by the builder.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from evalkit.databuild.config import DataBuildConfig
from evalkit.databuild.dedup import Sketcher, exact_key, shingles
from evalkit.databuild.images import perceptual_hash
from evalkit.databuild.textclean import normalize_text, rejection, scrub_pii


@dataclass
class Candidate:
    key: int
    row_id: str
    source: str
    input: str
    references: list[str]
    metadata: dict[str, Any]
    image: Path | None = None
    contamination: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "\n".join([self.input, *self.references])


@dataclass
class Prepared:
    candidate: Candidate
    rejected: str | None = None
    normalized: bool = False
    exact: str | None = None
    signature: np.ndarray | None = None
    shingle_ids: np.ndarray | None = None
    image_sha: str | None = None
    image_phash: int | None = None
    pii: Counter[str] = field(default_factory=Counter)


def _clean(c: Candidate, config: DataBuildConfig, out: Prepared) -> None:
    before = (c.input, c.references)
    c.input = normalize_text(c.input, config.normalize)
    c.references = [normalize_text(r, config.normalize) for r in c.references]
    out.normalized = (c.input, c.references) != before
    reason = rejection(c.input, config.filters)
    if reason is not None:
        out.rejected = f"input {reason}"
        return
    c.references = [r for r in c.references if r]
    if config.fields.references is not None and not c.references:
        out.rejected = "references empty"
        return
    if config.pii.enabled:
        c.input = scrub_pii(c.input, config.pii, out.pii)
        c.references = [scrub_pii(r, config.pii, out.pii) for r in c.references]


def _hash_image(c: Candidate, out: Prepared) -> None:
    assert c.image is not None
    try:
        out.image_sha = hashlib.sha256(c.image.read_bytes()).hexdigest()
        out.image_phash = perceptual_hash(c.image)
    except (OSError, ValueError) as exc:
        out.rejected = f"unreadable image {c.image.name}: {type(exc).__name__}: {exc}"


def prepare_chunk(chunk: list[Candidate], config: DataBuildConfig) -> list[Prepared]:
    prepared = [Prepared(c) for c in chunk]
    for p in prepared:
        _clean(p.candidate, config, p)
        if p.rejected is None and config.dedup.exact:
            p.exact = exact_key(p.candidate.text)
        if p.rejected is None and p.candidate.image is not None:
            _hash_image(p.candidate, p)
    if config.dedup.near:
        alive = [p for p in prepared if p.rejected is None]
        sets = [shingles(p.candidate.text, config.dedup.shingle) for p in alive]
        signatures, ids = Sketcher(config.dedup.num_perm)(sets)
        for p, signature, own in zip(alive, signatures, ids, strict=True):
            p.signature = signature
            p.shingle_ids = own
    return prepared
