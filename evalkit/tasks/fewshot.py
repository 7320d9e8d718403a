"""Few-shot examples for a task: `fewshot:` in task.yaml, rendered in front of each prompt.

    fewshot: {data: train.jsonl, n: 5, seed: 1234, sampler: random, delimiter: "\\n\\n",
              target_delimiter: " ", description: "Solve these problems.\\n\\n", target: answer}

The context is lm-evaluation-harness's: `description` + for each example the task's prompt
template rendered on the example + `target_delimiter` + the example's target, each followed by
`delimiter`; then the sample's own prompt. Examples come from `data` (a file next to task.yaml,
with the task's `fields`; default: the task's own data) and are never the sample itself (same
id). `sampler: random` draws `n` without replacement with `random.Random(f"{seed}:{sample id}")`,
so a sample's examples do not depend on `limit`, resume or the order samples are run in;
`first_n` takes the first `n` rows. `sampler: lmeval` is lm-evaluation-harness's default sampler
(`lm_eval/api/samplers.py` ContextSampler, seeded as its evaluator seeds it, 1234 by default): one
`random.Random(seed)` drawn once per sample in data order, so the sample at row i gets the i-th
draw (it does not depend on `limit` or resume, but it does on the data's order); with
`exclude_sample: true` (what lm-eval does when the few-shot split is the evaluation split) each
draw is n + 1 examples, the sample itself is dropped and the first n kept; with false, n are
drawn. The chosen ids are stored per sample (`fewshot_ids`).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evalkit.errors import UserError
from evalkit.tasks.datafiles import file_sha256, read_rows
from evalkit.textfiles import require_file


class FewShotSpec(BaseModel):
    """The schema of `fewshot:` in task.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    data: str | None = Field(None, description="Examples file; default: the task's own data.")
    n: int = Field(ge=0)
    seed: int = 1234
    sampler: Literal["random", "first_n", "lmeval"] = "random"
    exclude_sample: bool = Field(
        True, description="sampler lmeval: draw n + 1 and drop the sample itself (else draw n)."
    )
    delimiter: str = "\n\n"
    target_delimiter: str = " "
    description: str = ""
    target: str | None = Field(
        None, description="Column holding an example's answer; default: the references column."
    )


@dataclass(frozen=True)
class Example:
    id: str
    row: dict[str, Any]
    target: str


class FewShotPool:
    """The candidate examples of one task, and the per-sample choice among them."""

    def __init__(
        self,
        spec: FewShotSpec,
        path: Path,
        fields: tuple[str | None, str | None],
        spec_path: Path,
    ) -> None:
        """`fields`: the id and target columns; errors name `spec_path` (task.yaml)."""
        self.spec = spec
        self.path = path
        id_field, target_field = fields
        if target_field is None:
            raise UserError(f"{spec_path}: fewshot.target: needed when fields.references is unset")
        require_file(path, f"{spec_path}: fewshot.data: {path} not found", "data file")
        self.examples = _read_examples(path, id_field, target_field)
        self._rng = random.Random(spec.seed)
        self._draws: list[list[int]] = []
        needed = spec.n + 1 if spec.data is None else spec.n  # a sample is never its own example
        if len(self.examples) < needed:
            raise UserError(
                f"{spec_path}: fewshot.n: {spec.n} examples asked for, {path.name} has "
                f"{len(self.examples)} rows"
            )

    def choose(self, sample_id: str, index: int = 0) -> list[Example]:
        """The n examples of the sample `sample_id` at data row `index`, none with its id; a
        UserError when too few are left."""
        if self.spec.n == 0:
            return []
        if self.spec.sampler == "lmeval":
            return self._lmeval_draw(sample_id, index)
        candidates = [e for e in self.examples if e.id != sample_id]
        if len(candidates) < self.spec.n:
            raise UserError(
                f"{self.path}: {len(candidates)} few-shot examples other than sample "
                f"'{sample_id}', fewshot.n is {self.spec.n}"
            )
        if self.spec.sampler == "first_n":
            return candidates[: self.spec.n]
        return random.Random(f"{self.spec.seed}:{sample_id}").sample(candidates, self.spec.n)

    def _lmeval_draw(self, sample_id: str, index: int) -> list[Example]:
        size = self.spec.n + 1 if self.spec.exclude_sample else self.spec.n
        if size > len(self.examples):
            raise UserError(
                f"{self.path}: {len(self.examples)} few-shot examples, sampler lmeval draws {size}"
            )
        while len(self._draws) <= index:  # the stream is only ever drawn in order
            self._draws.append(self._rng.sample(range(len(self.examples)), size))
        drawn = [self.examples[i] for i in self._draws[index]]
        return [e for e in drawn if e.id != sample_id][: self.spec.n]

    def fingerprint(self) -> str:
        """The spec and the examples file's sha256: what changes every sample's prompt."""
        blob = json.dumps(
            {"spec": self.spec.model_dump(mode="json"), "data": file_sha256(self.path)},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def _read_examples(path: Path, id_field: str | None, target_field: str) -> list[Example]:
    examples = []
    for line_no, row in read_rows(path):
        if target_field not in row:
            raise UserError(f"{path}:{line_no}: field '{target_field}' missing (few-shot target)")
        target = row[target_field]
        if isinstance(target, list):  # a references list: its first one is the answer shown
            target = target[0] if target else ""
        example_id = row.get(id_field) if id_field else None
        examples.append(
            Example(str(example_id if example_id is not None else line_no), row, str(target))
        )
    return examples


def context(spec: FewShotSpec, shots: list[tuple[str, str]], prompt: str) -> str:
    """description + (example prompt + target_delimiter + target + delimiter)* + prompt."""
    parts = [text + spec.target_delimiter + target + spec.delimiter for text, target in shots]
    return spec.description + "".join(parts) + prompt
