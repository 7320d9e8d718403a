"""Core value types that flow through a run (design.md, "Core types").

Every type that crosses a file boundary (samples.jsonl, run.json, caches) is frozen and forbids
extra fields, so a typo in a stored record is an error rather than silently ignored data.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

JSONValue = Any
"""A JSON-serialisable value (pydantic validates the concrete contents)."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChatMessage(Frozen):
    role: Literal["system", "user", "assistant"]
    content: str


class Sample(Frozen):
    """One evaluation item of a task: what the model sees and what a good answer looks like."""

    id: str
    index: int = Field(description="Position in the task's data; fixes the order of aggregation.")
    input: str | list[ChatMessage]
    references: list[str] = Field(default_factory=list)
    metadata: dict[str, JSONValue] = Field(default_factory=dict)
    turns: list[str] = Field(
        default_factory=list,
        description="A multi-turn sample's user turns (the first is `input`); [] = one turn.",
    )
    turn_references: list[list[str]] = Field(
        default_factory=list, description="A multi-turn sample's references, one list per turn."
    )


class GenerationParams(Frozen):
    """Sampling settings of a request (task.yaml `generation:`); out-of-range values are refused
    when the task is read, before any model is called."""

    max_new_tokens: int = Field(256, ge=1, description="Tokens the answer may take, at least 1.")
    temperature: float = Field(0.0, ge=0.0, description="0 = greedy; never negative.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling mass, in (0, 1].")
    stop: list[str] = Field(default_factory=list)
    n: int = Field(1, ge=1, description="Outputs per request, at least 1.")
    seed: int = 0


class Request(Frozen):
    """What a backend receives; `task` and `sample_id` let replay backends find stored text."""

    task: str
    sample_id: str
    messages: list[ChatMessage]
    params: GenerationParams = Field(default_factory=GenerationParams)


GenerationStatus = Literal["ok", "truncated", "empty", "error"]
"""`ok`: a complete answer. `truncated`: usable text cut at the token limit (finish_reason
"length"): scored, and counted apart. `empty`: no answer text -- cut at the token limit before any
(a reasoning model that spent its budget thinking, say), or an answer the server returned as
`content: null` (set by the API backend): a failure, like `error`."""

FAILED_STATUSES: frozenset[str] = frozenset({"empty", "error"})


class Generation(Frozen):
    """A backend's answer to one request. An error is recorded here, never raised for the run.

    `status` is derived when not given: `error` set -> "error"; finish_reason "length" with text
    -> "truncated"; finish_reason "length" and no text (whitespace only counts as none) ->
    "empty", with an `error` that says so, so the sample is counted failed, never scored as a
    wrong answer and never cached. `reasoning` is reasoning text a model returned apart from its
    answer (`reasoning_content` / `reasoning`): kept, not scored.
    """

    text: str = ""
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_s: float | None = None
    time_to_first_token_s: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    status: GenerationStatus = "ok"
    reasoning: str | None = None
    cached: bool = False
    metadata: dict[str, JSONValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _derive_status(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("status") is not None:
            return data
        if data.get("error") is not None:
            return {**data, "status": "error"}
        if data.get("finish_reason") != "length":
            return {**data, "status": "ok"}
        if str(data.get("text") or "").strip():
            return {**data, "status": "truncated"}
        tokens = data.get("output_tokens")
        after = f" after {tokens} output tokens" if tokens is not None else ""
        error = (
            f"empty output: no answer text before the token limit (finish_reason 'length'{after});"
            " raise max_new_tokens"
        )
        return {**data, "status": "empty", "error": error}

    @model_validator(mode="after")
    def _check_status(self) -> Generation:
        if (self.status in FAILED_STATUSES) != (self.error is not None):
            raise ValueError(f"generation status '{self.status}' does not fit error {self.error!r}")
        return self

    @property
    def failed(self) -> bool:
        """True for statuses `error` and `empty`: there is no usable output."""
        return self.status in FAILED_STATUSES


ScoreStatus = Literal["ok", "unscorable", "parse_error", "error"]


def _is_none(value: object) -> bool:
    return value is None


def _nan_for_null(data: dict[str, Any]) -> dict[str, Any]:
    """A stored score with NaN (written as null: strict JSON has no NaN) back in its value and
    statistics; a score written as the constant NaN before is read as it is."""
    if "value" in data and data["value"] is None:
        data = {**data, "value": math.nan}
    if isinstance(data.get("statistics"), list):
        data = {**data, "statistics": [math.nan if v is None else v for v in data["statistics"]]}
    return data


class Score(Frozen):
    """One metric value for one sample. A failure is a status, never a silent 0.

    A failed score's value is NaN, written as JSON null (strict JSON has no NaN) and read back
    as NaN; a file written before, with the constant NaN, reads the same.
    `statistics` holds a corpus metric's per-sample sufficient statistics, the row sacrebleu's
    `_extract_corpus_statistics` gives for this sample (floats; summed over samples, the
    metric's corpus formula gives the task value):
    - BLEU (`sacrebleu.bleu`, max order n, default 4): 2 + 2n values, [hypothesis length,
      reference length, matching n-grams of order 1..n, hypothesis n-grams of order 1..n];
    - chrF/chrF++ (`sacrebleu.chrf`): 3 values per character order then per word order,
      [hypothesis n-grams, reference n-grams, matching n-grams] for each order in turn;
    - TER (`sacrebleu.ter`): 2 values, [edits to the closest reference, average reference
      length].
    None (not written to JSON) for a score without them. Records written before this field
    kept them in `details["stats"]`; they read back with the statistics here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_inf_nan="null")

    name: str
    value: float
    status: ScoreStatus = "ok"
    explanation: str | None = None
    details: dict[str, JSONValue] = Field(default_factory=dict)
    statistics: list[float] | None = Field(
        None,
        exclude_if=_is_none,
        description="A corpus metric's per-sample sufficient statistics (see the class doc).",
    )

    @model_validator(mode="before")
    @classmethod
    def _statistics_from_details(cls, data: Any, info: ValidationInfo) -> Any:
        """A record written before `statistics` existed: its `details["stats"]` moves there.
        In JSON, a null value or statistic (how NaN is written) is NaN."""
        if not isinstance(data, dict):
            return data
        if info.mode == "json":
            data = _nan_for_null(data)
        if data.get("statistics") is not None:
            return data
        details = data.get("details")
        if isinstance(details, dict) and isinstance(details.get("stats"), list):
            rest = {k: v for k, v in details.items() if k != "stats"}
            return {**data, "details": rest, "statistics": details["stats"]}
        return data


class Aggregate(Frozen):
    """A metric over a task x model, with its seeded bootstrap confidence interval."""

    task: str
    model: str
    metric: str
    value: float | None = Field(description="None when no sample could be scored.")
    ci_low: float | None
    ci_high: float | None
    n: int
    n_failed: int
    method: str = Field(description="How the value was aggregated, e.g. 'mean' or 'corpus'.")
    higher_is_better: bool = True
    n_truncated: int = Field(
        0, description="ok scores computed on text cut to an encoder's maximum length."
    )


class CorpusFormula(Frozen):
    """A named corpus formula over summed per-sample sufficient statistics, with the options
    that change its value (e.g. BLEU's smoothing and effective order), as the scorer used them."""

    name: str = Field(description="e.g. 'sacrebleu.bleu', 'sacrebleu.chrf', 'sacrebleu.ter'.")
    options: dict[str, JSONValue] = Field(default_factory=dict)


class MetricSpec(Frozen):
    """How one metric of a task aggregates, stored in run.json so that readers (compare, gate,
    report) re-aggregate stored scores without constructing the scorer."""

    metric: str
    scorer: str = Field(description="The scorer's name as in task_scorers (e.g. 'bleu@strict').")
    signature: str = Field(description="The scorer's signature when the run scored.")
    aggregation: Literal["mean", "corpus", "scorer"] = Field(
        description="'mean' of the ok values, 'corpus': a formula of the summed statistics, or "
        "'scorer': the scorer's own `aggregate` (a plugin's; readers rebuild the scorer)."
    )
    formula: CorpusFormula | None = Field(
        None, description="A corpus metric's formula; None: only its scorer can compute it."
    )
    higher_is_better: bool = True
    scale: tuple[float | None, float | None] | None = Field(
        None, description="(low, high) bounds of the value when known; None bound = unbounded."
    )
    counts_truncated: bool = Field(
        False, description="The aggregate counts ok scores computed on truncated text."
    )


class ExtractedAnswer(Frozen):
    """What one of the task's `extract:` pipelines made of the output ("" = nothing found)."""

    pipeline: str = Field("", description="'' for a task's single unnamed pipeline.")
    answer: str


class ExtractionCount(Frozen):
    """How many outputs of a task x model one extraction pipeline found no answer in."""

    task: str
    model: str
    pipeline: str
    n: int = Field(description="Outputs the pipeline ran on (failed generations excluded).")
    n_no_answer: int


class SampleRecord(Frozen):
    """One line of samples.jsonl: a sample, what a model made of it, and its scores."""

    task: str
    model: str
    sample_id: str
    index: int
    request: Request
    generation: Generation
    scores: list[Score]
    references: list[str] = Field(
        default_factory=list,
        description="The sample's references, so a run's report and rescoring need no task data.",
    )
    extracted: list[ExtractedAnswer] = Field(
        default_factory=list,
        description="The task's extracted answers (generation.text stays the raw output).",
    )
    fewshot_ids: list[str] = Field(
        default_factory=list, description="Ids of the few-shot examples in the prompt, in order."
    )


class UsageSummary(Frozen):
    """What generating cost for one task x model (cached answers cost nothing again)."""

    task: str
    model: str
    n: int
    n_errors: int = Field(description="Failed generations (status error or empty).")
    n_cached: int
    n_empty: int = Field(
        0, description="No answer text: none before the token limit, or content null (an error)."
    )
    n_truncated: int = Field(0, description="Usable text cut at the token limit (scored).")
    input_tokens: float | None
    output_tokens: float | None
    cost_usd: float | None
    latency_p50_s: float | None
    latency_p95_s: float | None
    ttft_p50_s: float | None


class ScorerTiming(Frozen):
    """Wall time a scorer spent on one task's items and how many it scored: every item, or for a
    task with a scorer that `memoize`s the distinct ones (an item equal to one scored before is
    looked up). Runs before the `memoize` capability counted distinct items for every scorer."""

    task: str
    scorer: str
    metrics: list[str] = Field(default_factory=list)
    seconds: float
    items: int

    @property
    def seconds_per_1000(self) -> float | None:
        return 1000 * self.seconds / self.items if self.items else None


class ComponentInfo(Frozen):
    name: str
    signature: str


class RunRecord(Frozen):
    """run.json: what was run (provenance) and what came out (aggregates)."""

    evalkit_version: str
    status: Literal["running", "complete", "aborted", "interrupted"] = Field(
        description="running (or killed with -9), complete, aborted (a backend could not "
        "succeed: exit 3) or interrupted (SIGINT/SIGTERM); a rerun into the run_dir resumes."
    )
    created_at: str
    finished_at: str | None = Field(None, description="When the run completed or stopped.")
    stop_reason: str | None = Field(
        None,
        description="Why an aborted or interrupted run stopped, with its sample counts "
        "(done, failed, not tried).",
    )
    config: dict[str, JSONValue]
    spec_hash: str
    git_commit: str | None = None
    task_data_hashes: dict[str, str]
    task_data_sources: dict[str, dict[str, JSONValue]] = Field(
        default_factory=dict,
        description="Where each task's data came from: a file, or a datasets source with its "
        "config, split, revision and fingerprint.",
    )
    backends: list[ComponentInfo]
    scorers: list[ComponentInfo]
    task_scorers: dict[str, list[tuple[str, dict[str, JSONValue]]]] = Field(
        default_factory=dict, description="Scorer (name, options) per task, to rebuild them."
    )
    metric_specs: dict[str, list[MetricSpec]] = Field(
        default_factory=dict,
        description="Per task, how each metric aggregates; older runs have none (readers then "
        "rebuild the scorers from task_scorers).",
    )
    primary_metrics: dict[str, str] = Field(
        default_factory=dict, description="Each task's declared headline (ranking) metric."
    )
    seed: int
    library_versions: dict[str, str]
    host: dict[str, JSONValue]
    aggregates: list[Aggregate] = Field(default_factory=list)
    usage: list[UsageSummary] = Field(default_factory=list)
    backend_reports: dict[str, dict[str, JSONValue]] = Field(
        default_factory=dict,
        description="Run-level measurements a backend made (throughput, memory).",
    )
    timings: dict[str, float] = Field(default_factory=dict)
    extraction: list[ExtractionCount] = Field(
        default_factory=list, description="Per task x model x pipeline: outputs with no answer."
    )
    scorer_timings: list[ScorerTiming] = Field(default_factory=list)
    judge_reports: list[dict[str, JSONValue]] = Field(
        default_factory=list, description="Reliability of each judge that judged this run."
    )
    pairwise: dict[str, JSONValue] = Field(
        default_factory=dict, description="Pairwise judging: win rates and ratings per task."
    )
