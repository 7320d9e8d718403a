"""Labeled examples for distillation, read from labeled files or from past runs' judge scores.

Every user mistake (missing file or field, a label that is not a number) is a UserError naming the
file, the line and the field. Labels may be missing per dimension (a row rated on some dimensions
only); the student's loss skips them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from evalkit.distill.config import FileSource, RunSource
from evalkit.errors import UserError
from evalkit.tasks.datafiles import dotted_field, file_sha256, read_rows

PREFERENCES = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class Example:
    """One response with its context and its labels (pairwise: two responses, A and B)."""

    id: str
    group: str  # a document or prompt: never on both sides of a split
    source: str
    response: str
    references: tuple[str, ...]
    labels: Mapping[str, float]  # the teacher's; pairwise: P(A is better) per dimension
    human: Mapping[str, float] = field(default_factory=dict)
    system: str = ""
    response_b: str | None = None
    dataset: str = ""  # the data source's name: per-set tables and group standardization


@dataclass(frozen=True)
class Dataset:
    examples: list[Example]
    dimensions: list[str]
    teachers: list[str]  # where each source's labels came from, for the card
    sha256: str  # of the files read, in order: the training data's identity


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, list) and value:
        return sum(_number(v, where, name) for v in value) / len(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: field '{name}' is not a number ({value!r:.40})") from None
    if not math.isfinite(number):
        raise UserError(f"{where}: field '{name}' is not finite")
    return number


def _preference(value: Any, where: str, name: str) -> float:
    if isinstance(value, str) and value.strip().lower() in PREFERENCES:
        return PREFERENCES[value.strip().lower()]
    number = _number(value, where, name)
    if not 0.0 <= number <= 1.0:
        raise UserError(f"{where}: field '{name}' must be A, B, tie or a number in [0, 1]")
    return number


def _references(value: Any) -> tuple[str, ...]:
    """A string, a list of strings, or a JSON-encoded list (as some exports store them)."""
    if isinstance(value, str) and value.startswith("["):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value if str(v).strip())
    return (str(value),) if value is not None and str(value).strip() else ()


def _text(row: Mapping[str, Any], name: str | None, where: str) -> str:
    return "" if name is None else str(dotted_field(row, name, where))


def _from_row(row: Mapping[str, Any], spec: FileSource, where: str, pairwise: bool) -> Example:
    source = _text(row, spec.source, where)
    read = _preference if pairwise else _number
    labels = {
        dim: read(value, where, name) * (-1.0 if dim in spec.negate else 1.0)
        for dim, name in spec.labels.items()
        if (value := dotted_field(row, name, where)) is not None
    }
    group = str(dotted_field(row, spec.group, where)) if spec.group else _digest(source)
    if spec.group_regex:
        match = re.search(spec.group_regex, group)
        if match is None or not match.groups():
            raise UserError(f"{where}: group_regex finds no group in '{group:.60}'")
        group = match.group(1)
    return Example(
        id=where,
        group=group,
        source=source,
        response=_text(row, spec.response, where),
        references=_references(dotted_field(row, spec.reference, where)) if spec.reference else (),
        labels=labels,
        human={d: _number(dotted_field(row, n, where), where, n) for d, n in spec.human.items()},
        system=_text(row, spec.system, where),
        response_b=_text(row, spec.response_b, where) if pairwise else None,
        dataset=spec.set_name,
    )


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def read_file_source(spec: FileSource, pairwise: bool) -> tuple[list[Example], str]:
    path = Path(spec.path).expanduser()
    if not path.is_file():
        raise UserError(f"labeled file not found: {path}")
    examples: list[Example] = []
    for line_no, row in read_rows(path):
        if spec.limit is not None and len(examples) >= spec.limit:
            break
        examples.append(_from_row(row, spec, f"{path}:{line_no}", pairwise))
    if not examples:
        raise UserError(f"{path}: no rows")
    if spec.reference_system is not None:
        examples = _system_as_reference(examples, spec.reference_system, path)
    return examples, file_sha256(path)


def _system_as_reference(examples: list[Example], system: str, path: Path) -> list[Example]:
    """Drop the rows of `system` and give each other row its group's such response as reference."""
    references = {e.group: e.response for e in examples if e.system == system}
    if not references:
        raise UserError(f"{path}: reference_system '{system}' has no rows")
    return [
        replace(e, references=(references[e.group],) if e.group in references else ())
        for e in examples
        if e.system != system
    ]


def read_run_source(spec: RunSource) -> tuple[list[Example], str, list[str]]:
    """Examples from the ok judge scores of past runs; the judges' signatures name the teacher.
    The source is the sample's input, as a scorer of a run sees it (not the rendered prompt)."""
    from evalkit.analysis.rundir import open_run
    from evalkit.stages.scoring import sample_source

    examples: list[Example] = []
    hashes: list[str] = []
    teachers: list[str] = []
    wanted = {metric: dim for dim, metric in spec.labels.items()}
    for number, run in enumerate(spec.runs):
        stored = open_run(Path(run).expanduser())
        if not stored.samples_path.is_file():
            raise UserError(f"{run}: no samples.jsonl (a run directory with no sample records)")
        hashes.append(file_sha256(stored.samples_path))
        teachers.extend(s.signature for s in stored.record.scorers if "judge" in s.name)
        samples = stored.task_samples()
        for record in stored.stored_records:
            if spec.tasks is not None and record.task not in spec.tasks:
                continue
            sample = samples.get(record.task, {}).get(record.sample_id)
            if sample is None:
                raise UserError(f"{run}: task '{record.task}' has no sample '{record.sample_id}'")
            labels = {
                wanted[s.name]: s.value
                for s in record.scores
                if s.name in wanted and s.status == "ok"
            }
            if not labels:
                continue
            human = record.generation.metadata.get("human")
            examples.append(
                Example(
                    id=f"{number}/{record.task}/{record.sample_id}/{record.model}",
                    group=f"{record.task}/{record.sample_id}",
                    source=sample_source(sample),
                    response=record.generation.text,
                    references=tuple(sample.references),
                    labels=labels,
                    human={
                        k: _number(v, f"{run}: sample {record.sample_id}", f"human.{k}")
                        for k, v in human.items()
                    }
                    if isinstance(human, dict)
                    else {},
                    system=record.model,
                    dataset=spec.set_name,
                )
            )
    if not examples:
        raise UserError(f"runs {', '.join(spec.runs)}: no ok scores of {', '.join(wanted)}")
    return examples, _digest("".join(hashes)), teachers


def load_dataset(sources: Sequence[FileSource | RunSource], pairwise: bool) -> Dataset:
    examples: list[Example] = []
    hashes: list[str] = []
    teachers: list[str] = []
    for spec in sources:
        if isinstance(spec, FileSource):
            rows, digest = read_file_source(spec, pairwise)
            teachers.append(f"{spec.set_name}: labels {dict(spec.labels)}")
        else:
            rows, digest, judges = read_run_source(spec)
            teachers.append(f"{spec.set_name}: judge scores {dict(spec.labels)} {judges}")
        examples.extend(rows)
        hashes.append(digest)
    dimensions = list(dict.fromkeys(d for e in examples for d in e.labels))
    if not dimensions:
        raise UserError("the labeled data has no labels")
    return Dataset(
        examples, dimensions, teachers, hashlib.sha256("".join(hashes).encode()).hexdigest()
    )
