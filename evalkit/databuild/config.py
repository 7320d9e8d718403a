"""What `evalkit data build` does, validated: every setting and its default (the one place they
are given; conf/data_build.yaml holds only the default output, an interpolation of `name`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalkit.errors import UserError
from evalkit.validation import first_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Fields(_Strict):
    id: str | None = Field(None, description="Row id column; None: '<file>:<line>'.")
    input: str = Field("input", description="The input column.")
    references: str | None = Field(
        "reference", description="The reference column (one reference or a list); None: none."
    )
    image: str | None = Field(None, description="Column with an image path (relative to its file).")
    keep: list[str] = Field(default_factory=list, description="More columns kept as metadata.")


class Normalize(_Strict):
    ftfy: bool = Field(True, description="Repair mojibake (ftfy).")
    nfc: bool = Field(True, description="Unicode NFC normalization.")
    whitespace: bool = Field(True, description="Collapse runs of whitespace.")


class Filters(_Strict):
    min_chars: int = Field(1, description="Rows with a shorter input are dropped.")
    max_chars: int | None = Field(None, description="Rows with a longer input are dropped.")
    min_words: int = 0
    max_words: int | None = None
    boilerplate: list[str] = Field(
        default_factory=list, description="Regexes; a field matching one entirely is dropped."
    )
    languages: list[str] = Field(
        default_factory=list, description="ISO 639-1 codes to keep (py3langid); empty: all."
    )


def _all_pii_kinds() -> list[Literal["email", "phone", "url"]]:
    return ["email", "phone", "url"]


def _exact_match_only() -> dict[str, dict[str, Any]]:
    return {"exact_match": {}}


class Pii(_Strict):
    enabled: bool = Field(
        False, description="Replace PII in inputs and references by placeholders."
    )
    kinds: list[Literal["email", "phone", "url"]] = Field(
        default_factory=_all_pii_kinds, description="The kinds of PII replaced."
    )


class Dedup(_Strict):
    exact: bool = Field(True, description="Drop exact copies (after normalization).")
    near: bool = Field(True, description="Drop near copies (MinHash LSH).")
    threshold: float = Field(
        0.8, gt=0, le=1, description="Jaccard similarity of word shingles (MinHash LSH)."
    )
    num_perm: int = Field(128, ge=16, description="MinHash permutations.")
    shingle: int = Field(3, ge=1, description="Words per shingle.")


class Images(_Strict):
    hamming: int = Field(6, ge=0, le=64, description="pHash bits that may differ for a near copy.")


class ReferenceCorpus(_Strict):
    path: Path
    field: str = Field("text", description="The column holding the text.")
    name: str | None = Field(None, description="Shown in the data card; None: the file's stem.")


class Decontamination(_Strict):
    corpora: list[ReferenceCorpus] = Field(
        default_factory=list,
        description="Corpora a row must not overlap, e.g. [{path: train.jsonl, field: text}].",
    )
    ngram: int = Field(13, ge=1, description="Words per n-gram matched against the corpora.")
    embedding_threshold: float | None = Field(
        None, gt=0, le=1, description="E.g. 0.9: also catch paraphrases by embedding cosine."
    )
    embedding_model: str | None = Field(
        None, description="The sentence encoder; None: the bundled all-MiniLM-L6-v2."
    )
    action: Literal["flag", "remove"] = Field(
        "flag", description="Contaminated rows: flag them in the data card, or remove them."
    )


class Splits(_Strict):
    fractions: dict[str, float] = Field(
        default_factory=lambda: {"test": 1.0}, description="Split -> its share; they sum to 1."
    )
    key: str | None = Field(None, description="Column hashed to place a row; None: the row id.")
    stratify: str | None = Field(None, description="A column every split has in proportion.")
    salt: str = Field("evalkit", description="Mixed into the hash that places a row.")

    @model_validator(mode="after")
    def _sums_to_one(self) -> Splits:
        if not self.fractions or abs(sum(self.fractions.values()) - 1.0) > 1e-9:
            raise ValueError(f"split fractions must sum to 1 (got {self.fractions})")
        return self


class Profile(_Strict):
    tokenizer: str | None = Field(
        None, description="An HF tokenizer path or hub id, or 'tiktoken:<encoding>'."
    )
    bins: int = Field(20, description="Histogram bins of the token-length profiles.")


class TaskOut(_Strict):
    split: str = Field("test", description="The split the written task.yaml reads.")
    prompt: str = Field("{{ input }}", description="The task's prompt template (Jinja).")
    scorers: dict[str, dict[str, Any]] = Field(
        default_factory=_exact_match_only, description="The task's scorers and their options."
    )


class Engine(_Strict):
    name: Literal["local", "dask"] = Field(
        "local", description="Where the per-row stage runs: in process, or on a Dask cluster."
    )
    address: str | None = Field(None, description="A Dask scheduler; None: start a local cluster.")
    workers: int = Field(2, ge=1, description="Workers of the local cluster.")
    in_flight: int = Field(4, ge=1, description="Chunks submitted ahead of the one consumed.")


class DataBuildConfig(_Strict):
    name: str = Field("built", pattern=r"^[A-Za-z0-9_.\-]+$", description="The task's name.")
    inputs: list[Path] = Field(
        default_factory=list, description="JSONL, CSV or Parquet files; `from_dict` needs one."
    )
    output: Path = Field(description="The folder written; the command's default: datasets/<name>.")
    fields: Fields = Field(default_factory=Fields)
    normalize: Normalize = Field(default_factory=Normalize)
    filters: Filters = Field(default_factory=Filters)
    pii: Pii = Field(default_factory=Pii)
    dedup: Dedup = Field(default_factory=Dedup)
    images: Images = Field(default_factory=Images)
    decontamination: Decontamination = Field(default_factory=Decontamination)
    splits: Splits = Field(default_factory=Splits)
    profile: Profile = Field(default_factory=Profile)
    task: TaskOut = Field(default_factory=TaskOut)
    engine: Engine = Field(default_factory=Engine)
    chunk_size: int = Field(5000, ge=1, description="Rows per chunk of the per-row stage.")
    progress: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataBuildConfig:
        try:
            config = cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"data build config: {first_error(exc)}") from None
        if not config.inputs:
            raise UserError("data build config: no inputs (set inputs=[file.jsonl,...])")
        return config
