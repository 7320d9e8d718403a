"""An lm-eval task -> an evalkit task folder (task.yaml, data.jsonl, fewshot.jsonl).

Each evaluation document becomes a row `{id, prompt, target, doc}`: `prompt` is lm-eval's
doc_to_text (with the description in front when there are no few-shot examples), `target` its
doc_to_target (a list when there are several references), `doc` the document as read. Few-shot
examples become rows of `fewshot.jsonl` rendered with the few-shot templates, and evalkit's
few-shot context (fewshot.py) rebuilds lm-eval's plain-text context exactly: description, then per
example text + target_delimiter + first target + fewshot_delimiter, then the prompt. The `default`
sampler becomes `sampler: lmeval`; an example equal to an evaluation document gets that
document's id, so "never the sample itself" is lm-eval's equality test. filter_list pipelines
become `extract:` pipelines of the same names (regex misses give lm-eval's fallback text) and
metric_list entries become scorers: exact_match with `normalize: none` and lm-eval's options,
bleu with sacrebleu's `intl` tokenizer (lm-eval's), chrf, ter, and rouge (evalkit's rouge).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from evalkit.errors import UserError
from evalkit.tasks.lmeval.docs import Doc, load_split
from evalkit.tasks.lmeval.render import Renderer
from evalkit.tasks.lmeval.spec import LmEvalTask

MATCH_OPTIONS = ("regexes_to_ignore", "ignore_case", "ignore_punctuation", "ignore_numbers")


@dataclass
class Converted:
    spec: dict[str, Any]  # task.yaml
    rows: list[dict[str, Any]]  # data.jsonl
    fewshot_rows: list[dict[str, Any]] | None  # fewshot.jsonl


def _key(doc: Doc) -> str:
    return json.dumps(doc, sort_keys=True, default=str)


def convert(task: LmEvalTask) -> Converted:
    split = task.eval_split
    docs = load_split(task, split, "test_split" if task.splits["test"] else "validation_split")
    if not docs:
        raise UserError(f"{task.path}: split '{split}' has no documents")
    render = Renderer(task.path, list(docs[0]))
    ids = [f"{split}-{i}" for i in range(len(docs))]
    descriptions = {render.description(task.description, d, f"doc {i}") for i, d in
                    enumerate(docs)}  # fmt: skip
    if len(descriptions) > 1 and task.num_fewshot > 0:
        raise UserError(
            f"{task.path}: description: differs between documents; with few-shot examples "
            "evalkit supports one description for the whole task"
        )
    rows = []
    for i, doc in enumerate(docs):
        where = f"{split} doc {i}"
        text = render.text(task.doc_to_text, doc, "doc_to_text", where)
        if task.num_fewshot == 0:
            text = render.description(task.description, doc, where) + text
        target = render.target(task.doc_to_target, doc, "doc_to_target", where)
        rows.append({"id": ids[i], "prompt": text, "target": target, "doc": _jsonable(doc)})
    spec = _spec(task, rows)
    fewshot_rows = None
    if task.num_fewshot > 0:
        fewshot_rows = _fewshot_rows(task, render, docs, ids)
        spec["fewshot"] = _fewshot_spec(task, descriptions.pop())
    return Converted(spec, rows, fewshot_rows)


def _fewshot_pool(task: LmEvalTask) -> tuple[list[Doc], str | None]:
    """lm-eval's fewshot_docs: the few-shot split, the inline samples, else the training,
    validation or test split; and the split's name (None for inline samples)."""
    fs = task.fewshot
    if fs.split is not None:
        pool = load_split(task, fs.split, "fewshot_split")
        if fs.indices and fs.sampler == "default":  # FirstNSampler reads the split unindexed
            pool = [pool[i] for i in fs.indices]
        return pool, fs.split
    if fs.samples is not None:
        return list(fs.samples), None
    for key in ("training", "validation", "test"):
        name = task.splits[key]
        if name is not None:
            return load_split(task, name, f"{key}_split"), name
    raise UserError(f"{task.path}: num_fewshot: no split to draw few-shot examples from")


def _fewshot_rows(
    task: LmEvalTask, render: Renderer, docs: list[Doc], ids: list[str]
) -> list[dict[str, Any]]:
    pool, _ = _fewshot_pool(task)
    same = _excludes_sample(task)
    by_content = {_key(d): ids[i] for i, d in reversed(list(enumerate(docs)))} if same else {}
    rows = []
    for j, doc in enumerate(pool):
        where = f"few-shot doc {j}"
        target = render.target(task.fewshot.doc_to_target, doc, "doc_to_target", where)
        rows.append({
            "id": by_content.get(_key(doc), f"fewshot-{j}"),
            "prompt": render.text(task.fewshot.doc_to_text, doc, "doc_to_text", where),
            "target": target[0] if isinstance(target, list) and target else target,
        })  # fmt: skip
    return rows


def _excludes_sample(task: LmEvalTask) -> bool:
    """lm-eval passes the evaluated document to the sampler (to leave it out) exactly when the
    few-shot split equals test_split, None included (ConfigurableTask.fewshot_context)."""
    return task.fewshot.split == task.splits["test"]


def _fewshot_spec(task: LmEvalTask, description: str) -> dict[str, Any]:
    fs = task.fewshot
    return {
        "data": "fewshot.jsonl",
        "n": task.num_fewshot,
        "seed": 1234,  # lm-eval's default fewshot_random_seed
        "sampler": "lmeval" if fs.sampler == "default" else "first_n",
        "exclude_sample": _excludes_sample(task),
        "delimiter": fs.fewshot_delimiter,
        "target_delimiter": fs.target_delimiter,
        "description": description,
        "target": "target",
    }


def _spec(task: LmEvalTask, rows: list[dict[str, Any]]) -> dict[str, Any]:
    gen = task.generation
    spec: dict[str, Any] = {
        "name": task.name,
        "version": task.version,
        "description": f"Imported from lm-eval task {task.path.name}"
        + (f" (tags: {', '.join(task.tags)})" if task.tags else ""),
        "data": "data.jsonl",
        "fields": {"id": "id", "input": "prompt", "references": "target", "metadata": ["doc"]},
        "prompt": "{{ input }}",
        "generation": {
            "max_new_tokens": gen.max_gen_toks,
            "temperature": gen.temperature,
            "top_p": gen.top_p,
            "stop": gen.until,
        },
        "scorers": _scorers(task),
    }
    if task.filters:
        spec["extract"] = {name: [_step(task, name, s) for s in steps]
                           for name, steps in task.filters}  # fmt: skip
    first_metric = task.metrics[0]["metric"]
    first = {"rouge": "rougeL"}.get(first_metric, first_metric)
    spec["primary_metric"] = f"{first}_{task.filters[0][0]}" if task.filters else first
    return spec


def _step(task: LmEvalTask, pipeline: str, step: dict[str, Any]) -> Any:
    function = step["function"]
    if function == "regex":
        select = step.get("group_select", 0)
        if select not in (0, -1):
            raise UserError(
                f"{task.path}: filter_list '{pipeline}': group_select: only 0 (first match) "
                f"and -1 (last match) are supported, got {select!r}"
            )
        return {"regex": {
            "pattern": step.get("regex_pattern", r"#### (\-?[0-9\.\,]+)"),
            "match": "first" if select == 0 else "last",
            "fallback": step.get("fallback", "[invalid]"),
        }}  # fmt: skip
    return {"remove_whitespace": "strip"}.get(function, function)


def _scorers(task: LmEvalTask) -> dict[str, dict[str, Any]]:
    scorers: dict[str, dict[str, Any]] = {}
    for entry in task.metrics:
        metric = entry["metric"]
        if metric == "exact_match":
            options = {k: entry[k] for k in MATCH_OPTIONS if entry.get(k) is not None}
            scorers["exact_match"] = {"normalize": "none", **options}
        elif metric == "bleu":
            scorers["bleu"] = {"tokenize": "intl"}
        else:
            scorers[metric] = {}
    return scorers


def _jsonable(value: Any) -> Any:
    """A document as JSON can hold it (Parquet/pandas values: arrays to lists, dates to text)."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
