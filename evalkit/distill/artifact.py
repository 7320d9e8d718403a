"""A distilled judge on disk: judge.json (what it is), weights (safetensors), README.md (its
card), validation.json; found by name in ./judges or evalkit's judges/, or by path.

`DistilledJudge` is the loaded form: it scores (source, response, references) triples the way the
student did in validation, with the same encoder, dtype and feature version, which judge.json pins.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evalkit.distill.config import Student as StudentConfig
from evalkit.distill.examples import Example
from evalkit.distill.features import FEATURES_VERSION, FeatureExtractor
from evalkit.distill.head import Scale
from evalkit.distill.students import (
    ENCODER_DIR,
    ENCODER_FREE,
    HEAD_FILE,
    METRIC_SETS,
    CrossEncoderStudent,
    EncoderHeadStudent,
)
from evalkit.errors import UserError, did_you_mean

if TYPE_CHECKING:
    from evalkit.scorers.embedding import EmbeddingSimilarity

META_FILE = "judge.json"


@dataclass(frozen=True)
class JudgeMeta:
    name: str
    version: int
    mode: str
    dimensions: list[str]
    scales: list[tuple[float, float]]
    student: dict[str, Any]
    encoder: str | None  # None: the bundled all-MiniLM-L6-v2
    features_version: str
    data_sha256: str
    teachers: list[str]
    n_examples: int
    evalkit_version: str
    # sha256 of the weight files (see `weights_sha256`); "" in judges saved before it existed
    weights_sha256: str = ""

    @property
    def signature(self) -> str:
        """What its scores depend on. The weights' hash is in it, so a retrain under the same
        name and version (another recipe, seed or ensemble) never shares cached scores."""
        kind, feature_set = self.student["kind"], self.student.get("feature_set", "scalars")
        reads = (
            "no encoder"
            if kind == "encoder_head" and feature_set in ENCODER_FREE
            else f"encoder:{self.encoder or 'all-MiniLM-L6-v2'}|{self.student.get('dtype')}"
        )
        features = (
            f"|features:{feature_set}-v{self.features_version}" if kind == "encoder_head" else ""
        )
        return (
            f"distilled_judge|{self.name}@v{self.version}|data:{self.data_sha256[:12]}|{kind}"
            f"|{reads}{features}"
            + (f"|weights:{self.weights_sha256[:12]}" if self.weights_sha256 else "")
        )


def weight_files(directory: Path, kind: str) -> list[Path]:
    """The files a student of `kind` loads its weights from, in a fixed order."""
    if kind == "encoder_head":
        return [directory / HEAD_FILE]
    return sorted(p for p in (directory / ENCODER_DIR).rglob("*") if p.is_file())


def weights_sha256(directory: Path, kind: str) -> str:
    """sha256 over the weight files' paths (relative to `directory`) and bytes.

    Raises UserError when a weight file is missing."""
    digest = hashlib.sha256()
    files = weight_files(directory, kind)
    if not files or not all(f.is_file() for f in files):
        expected = HEAD_FILE if kind == "encoder_head" else f"{ENCODER_DIR}/"
        raise UserError(f"{directory}: judge weights missing (expected {expected})")
    for file in files:
        digest.update(file.relative_to(directory).as_posix().encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class DistillResult:
    """What `evalkit judge distill` made: the judge directory, its description, its validation."""

    directory: Path
    meta: JudgeMeta
    validation: dict[str, Any]
    student: Any = None  # the final student, in memory (None when train_final is off)


def judge_dirs() -> list[Path]:
    from evalkit.resources import builtin_dir

    return [Path.cwd() / "judges", builtin_dir("judges")]


def available_judges() -> list[str]:
    return sorted(
        {p.parent.name for d in judge_dirs() if d.is_dir() for p in d.glob(f"*/{META_FILE}")}
    )


def judge_summary(name: str) -> tuple[str, str, str]:
    """(name, 'distilled <mode>', dimensions) for `evalkit list judges`, without loading it."""
    data = json.loads((find_judge(name) / META_FILE).read_text(encoding="utf-8"))
    return (
        name,
        f"distilled {data.get('mode', '?')}",
        f"scorer distilled_judge: {', '.join(data.get('dimensions', []))}",
    )


def find_judge(ref: str) -> Path:
    path = Path(ref).expanduser()
    if (path / META_FILE).is_file():
        return path
    if path.exists():
        raise UserError(f"{path}: not a distilled judge (no {META_FILE})")
    for directory in judge_dirs():
        if (directory / ref / META_FILE).is_file():
            return directory / ref
    raise UserError(f"unknown distilled judge '{ref}'{did_you_mean(ref, available_judges())}")


def write_meta(directory: Path, meta: JudgeMeta) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / META_FILE).write_text(json.dumps(meta.__dict__, indent=2) + "\n", encoding="utf-8")


class DistilledJudge:
    """A saved judge, loaded: `score` gives one row of predictions per response."""

    def __init__(self, directory: Path, meta: JudgeMeta, student: Any) -> None:
        self.directory, self.meta, self.student = directory, meta, student

    @classmethod
    def load(cls, ref: str | Path, batch_size: int = 64) -> DistilledJudge:
        directory = find_judge(str(ref))
        try:
            data = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            meta = JudgeMeta(**data)
        except (json.JSONDecodeError, TypeError) as exc:
            raise UserError(f"{directory / META_FILE}: not a judge description ({exc})") from None
        loaded = weights_sha256(directory, meta.student["kind"])
        if meta.weights_sha256 and meta.weights_sha256 != loaded:
            raise UserError(
                f"judge '{meta.name}': its weights are not the ones {META_FILE} was written with "
                f"(sha256 {loaded[:12]}, recorded {meta.weights_sha256[:12]}); restore them or "
                "retrain the judge"
            )
        meta = replace(meta, weights_sha256=loaded)
        if meta.features_version != FEATURES_VERSION:
            raise UserError(
                f"judge '{meta.name}' was trained on features v{meta.features_version}; "
                f"this evalkit computes v{FEATURES_VERSION}: retrain it"
            )
        config = StudentConfig(**{**meta.student, "encoder": meta.encoder})
        scales = [Scale(low, high) for low, high in meta.scales]
        pairwise = meta.mode == "pairwise"
        student: Any
        if config.kind == "encoder_head":
            extractor = FeatureExtractor(
                meta.encoder,
                dtype=config.dtype,
                batch_size=batch_size,
                use_encoder=config.feature_set not in ENCODER_FREE,
                metrics=config.feature_set in METRIC_SETS,
            )
            student = EncoderHeadStudent(config, scales, pairwise, extractor, seed=0)
            student.load(directory)
        else:
            student = CrossEncoderStudent(config, scales, pairwise, seed=0)
            student.load(directory)
        return cls(directory, meta, student)

    def sentence_embedders(self) -> list[EmbeddingSimilarity]:
        """The sentence encoder its features use (none for a lexical or cross-encoder student)."""
        if isinstance(self.student, EncoderHeadStudent) and self.student.extractor.embedder:
            return [self.student.extractor.embedder]
        return []

    def score(
        self,
        sources: Sequence[str],
        responses: Sequence[str],
        references: Sequence[Sequence[str]],
        responses_b: Sequence[str] | None = None,
    ) -> np.ndarray:
        """(n, dimensions) on each dimension's scale; pairwise: P(first response is better)."""
        if isinstance(self.student, EncoderHeadStudent):
            extract = self.student.extractor.features
            second = None if responses_b is None else extract(sources, responses_b, references)
            predicted = self.student.predict_features(
                extract(sources, responses, references), second
            )
            return np.asarray(predicted, dtype=np.float64)
        examples = [
            Example(
                id=str(i),
                group=str(i),
                source=s,
                response=r,
                references=tuple(refs),
                labels={},
                response_b=None if responses_b is None else responses_b[i],
            )
            for i, (s, r, refs) in enumerate(zip(sources, responses, references, strict=True))
        ]
        return np.asarray(self.student.predict(examples), dtype=np.float64)
