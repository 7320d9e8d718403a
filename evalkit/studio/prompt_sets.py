"""Prompt sets: what the playground saves, as an evalkit task folder a run can score.

`save_prompt` adds one sample and the answers every model gave to it under one prompt version to
the set `ROOT/NAME/`:

- `data.jsonl`: one row per sample (`id`, `input`: the user prompt first saved for it,
  `references`, `source_task`, `source_id`);
- `outputs.jsonl`: the `replay` backend's long format, one row per (sample, system), where a system
  is `MODEL [VERSION]`; it replays `latency_s`, `cost_usd` and `output_tokens`, and keeps
  `ttft_s` and the prompt and system prompt sent (`prompt`, `system_prompt`) as metadata;
- `versions.json`: each version's template and system template;
- `task.yaml`: replay only, the scorers, language and primary metric of the source task (the
  first saved), or chrF and token F1 for typed prompts (scored against the reference typed).

Saving the same sample and system again replaces its answer. A sample picked from a task keeps
its id (`TASK/ID`) across versions, so every version's answers pair up in a run; a typed prompt's
id is a hash of its text. Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from evalkit.store.atomicio import atomic_write_text
from evalkit.store.ratings_db import RatingError

NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_WRITING = threading.Lock()  # one save at a time (read, update, write)
DEFAULT_SCORERS: dict[str, dict[str, Any]] = {"chrf": {}, "f1": {}}


@dataclass(frozen=True)
class Answer:
    model: str
    text: str
    seconds: float | None = None
    ttft_s: float | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class Saved:
    sample_id: str
    messages: list[dict[str, str]]
    references: list[str]
    template: str
    system_template: str
    source_task: str | None = None
    source_id: str | None = None


def checked_name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise RatingError(f"{what} {value[:64]!r}: letters, digits, '_', '.', '-' (1-64)")
    return value


def set_sample_id(source_task: str | None, source_id: str | None, prompt: str) -> str:
    if source_task and source_id:
        return f"{source_task}/{source_id}"
    return "p-" + hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:12]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: U+2028 is text
    return [json.loads(line) for line in lines if line.strip()]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(_line(r) for r in rows))


def _line(row: dict[str, Any]) -> str:
    """One JSONL line, U+2028/U+2029 escaped for readers that split on every line break."""
    text = json.dumps(row, ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n"


def _task_yaml(name: str, source: dict[str, Any] | None) -> str:
    spec: dict[str, Any] = {
        "name": name,
        "version": "1",
        "description": "A prompt set saved in the evalkit studio playground.",
        "data": "data.jsonl",
        "fields": {"id": "id", "input": "input", "references": "references"},
        "prompt": "{{ input }}",
        "scorers": (source or {}).get("scorers") or DEFAULT_SCORERS,
        "outputs": "outputs.jsonl",
        "replay_only": True,
    }
    given = source or {}
    for key in ("language", "primary_metric"):
        if given.get(key):
            spec[key] = given[key]
    return str(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))


def save_prompt(
    root: Path,
    name: str,
    version: str,
    saved: Saved,
    answers: list[Answer],
    source_spec: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Add `saved` and its `answers` under `version` to the set; returns {set, path, samples,
    systems}. `source_spec`: the source task's {scorers, language, primary_metric}, used when
    the set is created. RatingError for a bad name or no answer."""
    folder = root / checked_name(name, "prompt set")
    checked_name(version, "version")
    if not answers:
        raise RatingError("nothing to save: no model answered")
    with _WRITING:
        return _save(folder, version, saved, answers, source_spec)


def _save(
    folder: Path,
    version: str,
    saved: Saved,
    answers: list[Answer],
    source_spec: dict[str, Any] | None,
) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "task.yaml").is_file():
        atomic_write_text(folder / "task.yaml", _task_yaml(folder.name, source_spec))
    user = next((m["content"] for m in saved.messages if m["role"] == "user"), "")
    system = next((m["content"] for m in saved.messages if m["role"] == "system"), "")
    data = _read_jsonl(folder / "data.jsonl")
    if all(row["id"] != saved.sample_id for row in data):
        data.append({"id": saved.sample_id, "input": user, "references": saved.references,
                     "source_task": saved.source_task, "source_id": saved.source_id})  # fmt: skip
        _write_jsonl(folder / "data.jsonl", data)
    outputs = _read_jsonl(folder / "outputs.jsonl")
    for a in answers:
        system_name = f"{a.model} [{version}]"
        row = {"id": saved.sample_id, "system": system_name, "output": a.text,
               "latency_s": a.seconds, "cost_usd": a.cost_usd, "output_tokens": a.output_tokens,
               "ttft_s": a.ttft_s, "prompt": user, "system_prompt": system}  # fmt: skip
        outputs = [o for o in outputs if (o["id"], o["system"]) != (saved.sample_id, system_name)]
        outputs.append({k: v for k, v in row.items() if v is not None})
    _write_jsonl(folder / "outputs.jsonl", outputs)
    known = folder / "versions.json"
    versions = json.loads(known.read_text("utf-8")) if known.is_file() else {}
    versions[version] = {"template": saved.template, "system_template": saved.system_template}
    atomic_write_text(folder / "versions.json", json.dumps(versions, indent=2, ensure_ascii=False))
    return describe_set(folder)


def describe_set(folder: Path) -> dict[str, Any]:
    outputs = _read_jsonl(folder / "outputs.jsonl")
    return {
        "set": folder.name,
        "path": str(folder),
        "samples": len(_read_jsonl(folder / "data.jsonl")),
        "systems": list(dict.fromkeys(o["system"] for o in outputs)),
    }


def list_sets(root: Path) -> list[dict[str, Any]]:
    if not root.is_dir():
        return []
    return [describe_set(p.parent) for p in sorted(root.glob("*/task.yaml"))]
