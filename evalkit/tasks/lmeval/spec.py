"""An lm-eval task config, checked: what evalkit runs as lm-eval does, and one line for the rest.

The keys and defaults are lm-evaluation-harness's `TaskConfig` and `FewshotConfig`
(`lm_eval/config/task.py`, v0.4.13): `target_delimiter` " ", `fewshot_delimiter` "\\n\\n", the
few-shot config inheriting the task's split, templates and delimiters, and, without
`generation_kwargs`, greedy decoding until `fewshot_delimiter`. Keys evalkit cannot honour
(Python hooks, `output_type`s other than `generate_until`, choices, images, audio, prompt
libraries, `repeats` > 1) are refused with `FILE: KEY: why`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import UserError
from evalkit.tasks.lmeval.yamlload import refuse_functions

SUPPORTED = {
    "task", "task_alias", "tag", "group", "dataset_path", "dataset_name", "dataset_kwargs",
    "training_split", "validation_split", "test_split", "fewshot_split", "doc_to_text",
    "doc_to_target", "description", "target_delimiter", "fewshot_delimiter", "fewshot_config",
    "num_fewshot", "metric_list", "output_type", "generation_kwargs", "repeats", "filter_list",
    "should_decontaminate", "doc_to_decontamination_query", "metadata", "unsafe_code",
}  # fmt: skip
REFUSED = {
    "process_docs": "a Python hook over the documents",
    "process_results": "a Python scoring hook",
    "custom_dataset": "a Python dataset hook",
    "doc_to_choice": "answer choices (multiple-choice scoring)",
    "doc_to_image": "image inputs",
    "doc_to_audio": "audio inputs",
    "use_prompt": "promptsource prompts",
    "gen_prefix": "an assistant-turn prefix",
}
FEWSHOT_KEYS = {
    "sampler", "split", "samples", "fewshot_indices", "doc_to_text", "doc_to_target",
    "fewshot_delimiter", "target_delimiter",
}  # fmt: skip
SAMPLERS = ("default", "first_n")
DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's HFLM.max_gen_toks and defaults.DEFAULT_MAX_GEN_TOKS


@dataclass(frozen=True)
class Generation:
    until: list[str]
    max_gen_toks: int
    temperature: float  # 0.0: greedy
    top_p: float = 1.0


@dataclass(frozen=True)
class Fewshot:
    sampler: str
    split: str | None
    samples: list[dict[str, Any]] | None
    indices: list[int] | None
    doc_to_text: Any
    doc_to_target: Any
    fewshot_delimiter: str
    target_delimiter: str


@dataclass(frozen=True)
class LmEvalTask:
    """One task config after `include`; `path` is the YAML file, for messages and data paths."""

    path: Path
    name: str
    raw: dict[str, Any]
    tags: list[str]
    dataset_path: str
    dataset_name: str | None
    dataset_kwargs: dict[str, Any]
    splits: dict[str, str | None]  # training / validation / test
    doc_to_text: Any
    doc_to_target: Any
    description: str
    target_delimiter: str
    fewshot_delimiter: str
    num_fewshot: int
    fewshot: Fewshot
    generation: Generation
    filters: list[tuple[str, list[dict[str, Any]]]]
    metrics: list[dict[str, Any]]
    version: str = "0"
    notes: list[str] = field(default_factory=list)

    @property
    def eval_split(self) -> str:
        """lm-eval's eval_docs: the test split, else the validation split."""
        split = self.splits["test"] or self.splits["validation"]
        if split is None:
            raise UserError(f"{self.path}: test_split: no test_split or validation_split")
        return split


def _fail(path: Path, key: str, why: str) -> UserError:
    return UserError(f"{path}: {key}: {why}")


def _text(path: Path, cfg: dict[str, Any], key: str, default: str) -> str:
    value = cfg.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _fail(path, key, f"expected a string, got {type(value).__name__}")
    return value


def parse_task(path: Path, cfg: dict[str, Any]) -> LmEvalTask:
    """Check one merged task config (a mapping with `task:` a string, not a group)."""
    refuse_functions(cfg)
    for key in cfg:
        if key in REFUSED:
            raise _fail(path, key, f"{REFUSED[key]} is not supported by evalkit's lm-eval import")
        if key not in SUPPORTED:
            raise _fail(path, key, "not an lm-eval task key evalkit knows")
    output_type = cfg.get("output_type", "generate_until")
    if output_type != "generate_until":
        raise _fail(
            path, "output_type", f"'{output_type}' is not supported (only generate_until: "
            "evalkit scores generated text, not log-likelihoods)",
        )  # fmt: skip
    if cfg.get("repeats", 1) != 1:
        raise _fail(path, "repeats", "only 1 is supported (one generation per sample)")
    if cfg.get("unsafe_code"):
        raise _fail(path, "unsafe_code", "code execution is not supported")
    name = cfg.get("task")
    if not isinstance(name, str) or not name:
        raise _fail(path, "task", "a task needs a name (task: NAME)")
    dataset_path = cfg.get("dataset_path")
    if not isinstance(dataset_path, str):
        raise _fail(
            path, "dataset_path", "needed (a local file format with data_files, or a dataset)"
        )
    kwargs = cfg.get("dataset_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise _fail(path, "dataset_kwargs", "expected a mapping")
    fewshot_delimiter = _text(path, cfg, "fewshot_delimiter", "\n\n")
    target_delimiter = _text(path, cfg, "target_delimiter", " ")
    for key in ("doc_to_text", "doc_to_target"):
        if cfg.get(key) is None:
            raise _fail(path, key, "needed")
    num_fewshot = cfg.get("num_fewshot") or 0
    if not isinstance(num_fewshot, int) or num_fewshot < 0:
        raise _fail(path, "num_fewshot", f"expected a whole number >= 0, got {num_fewshot!r}")
    metadata = cfg.get("metadata") or {}
    return LmEvalTask(
        path=path,
        name=name,
        raw=cfg,
        tags=_tags(path, cfg),
        dataset_path=dataset_path,
        dataset_name=cfg.get("dataset_name"),
        dataset_kwargs=kwargs,
        splits={k: cfg.get(f"{k}_split") for k in ("training", "validation", "test")},
        doc_to_text=cfg["doc_to_text"],
        doc_to_target=cfg["doc_to_target"],
        description=_text(path, cfg, "description", ""),
        target_delimiter=target_delimiter,
        fewshot_delimiter=fewshot_delimiter,
        num_fewshot=num_fewshot,
        fewshot=_fewshot(path, cfg, fewshot_delimiter, target_delimiter),
        generation=_generation(path, cfg.get("generation_kwargs"), fewshot_delimiter),
        filters=_filters(path, cfg.get("filter_list")),
        metrics=_metrics(path, cfg.get("metric_list")),
        version=str(metadata.get("version", "0")) if isinstance(metadata, dict) else "0",
    )


def _tags(path: Path, cfg: dict[str, Any]) -> list[str]:
    tags: list[str] = []
    for key in ("tag", "group"):  # a task file's `group:` is an old spelling of `tag:`
        value = cfg.get(key)
        values = value if isinstance(value, list) else [value] if value else []
        if not all(isinstance(v, str) for v in values):
            raise _fail(path, key, "expected a name or a list of names")
        tags += values
    return tags


def _fewshot(path: Path, cfg: dict[str, Any], few_delim: str, tgt_delim: str) -> Fewshot:
    fs = cfg.get("fewshot_config") or {}
    if not isinstance(fs, dict):
        raise _fail(path, "fewshot_config", "expected a mapping")
    for key in fs:
        if key == "process_docs":
            raise _fail(path, "fewshot_config.process_docs", "Python hooks are not supported")
        if key not in FEWSHOT_KEYS:
            raise _fail(path, f"fewshot_config.{key}", "not supported by evalkit's lm-eval import")
    sampler = fs.get("sampler", "default")
    if sampler not in SAMPLERS:
        raise _fail(path, "fewshot_config.sampler", f"'{sampler}' is not one of {SAMPLERS}")
    samples = fs.get("samples")
    if samples is not None and not (
        isinstance(samples, list) and all(isinstance(s, dict) for s in samples)
    ):
        raise _fail(path, "fewshot_config.samples", "expected a list of documents (mappings)")
    split = fs["split"] if "split" in fs else cfg.get("fewshot_split")
    return Fewshot(
        sampler=sampler,
        split=split,
        samples=samples,
        indices=fs.get("fewshot_indices"),
        doc_to_text=fs.get("doc_to_text") or cfg.get("doc_to_text"),
        doc_to_target=fs.get("doc_to_target") or cfg.get("doc_to_target"),
        fewshot_delimiter=fs["fewshot_delimiter"]
        if fs.get("fewshot_delimiter") is not None
        else few_delim,
        target_delimiter=fs["target_delimiter"]
        if fs.get("target_delimiter") is not None
        else tgt_delim,
    )


def _generation(path: Path, kwargs: Any, few_delim: str) -> Generation:
    """lm-eval's normalize_gen_kwargs: max_gen_toks (or an alias), greedy unless do_sample."""
    if kwargs is None:
        return Generation([few_delim], DEFAULT_MAX_GEN_TOKS, 0.0)
    if not isinstance(kwargs, dict):
        raise _fail(path, "generation_kwargs", "expected a mapping")
    known = {"until", "max_gen_toks", "max_new_tokens", "do_sample", "temperature", "top_p"}
    for key in kwargs:
        if key not in known:
            raise _fail(path, f"generation_kwargs.{key}", f"not supported (known: {sorted(known)})")
    until = kwargs.get("until", [few_delim])
    until = [until] if isinstance(until, str) else until
    if not isinstance(until, list) or not all(isinstance(u, str) for u in until):
        raise _fail(path, "generation_kwargs.until", "expected a string or a list of strings")
    max_toks = kwargs.get("max_gen_toks", kwargs.get("max_new_tokens", DEFAULT_MAX_GEN_TOKS))
    if not isinstance(max_toks, int) or isinstance(max_toks, bool) or max_toks < 1:
        raise _fail(
            path, "generation_kwargs.max_gen_toks", f"expected a whole number, got {max_toks!r}"
        )
    temperature = float(kwargs.get("temperature", 0.0) or 0.0)
    do_sample = kwargs.get("do_sample", temperature > 0.0)
    if do_sample and temperature <= 0.0:
        raise _fail(path, "generation_kwargs.temperature", "do_sample needs a temperature > 0")
    return Generation(
        until=until,
        max_gen_toks=max_toks,
        temperature=temperature if do_sample else 0.0,
        top_p=float(kwargs.get("top_p", 1.0)) if do_sample else 1.0,
    )


FILTERS = {"regex", "take_first", "remove_whitespace", "lowercase"}


def _filters(path: Path, raw: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail(path, "filter_list", "expected a list of {name, filter}")
    pipelines = []
    for n, entry in enumerate(raw):
        where = f"filter_list[{n}]"
        if not isinstance(entry, dict) or "name" not in entry or "filter" not in entry:
            raise _fail(path, where, "expected {name: ..., filter: [...]}")
        steps = entry["filter"]
        if not isinstance(steps, list):
            raise _fail(path, f"{where}.filter", "expected a list of {function: ...}")
        for k, step in enumerate(steps):
            function = step.get("function") if isinstance(step, dict) else None
            if function not in FILTERS:
                raise _fail(
                    path, f"{where}.filter[{k}].function",
                    f"{function!r} is not supported (supported: {sorted(FILTERS)})",
                )  # fmt: skip
        pipelines.append((str(entry["name"]), steps))
    return pipelines


METRICS = {"exact_match", "bleu", "chrf", "ter", "rouge"}


def _metrics(path: Path, raw: Any) -> list[dict[str, Any]]:
    if raw is None:  # lm-eval's default for generate_until
        return [{"metric": "exact_match"}]
    if not isinstance(raw, list) or not raw:
        raise _fail(path, "metric_list", "expected a non-empty list of {metric: NAME, ...}")
    for n, entry in enumerate(raw):
        metric = entry.get("metric") if isinstance(entry, dict) else None
        if metric not in METRICS:
            raise _fail(
                path, f"metric_list[{n}].metric",
                f"{metric!r} is not supported (supported: {sorted(METRICS)})",
            )  # fmt: skip
    return list(raw)
