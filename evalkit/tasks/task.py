"""Tasks are data: `tasks/<name>/task.yaml` + a data file + a Jinja prompt template.

`load_task` validates the YAML against `TaskSpec`, `Task.samples()` maps data rows onto `Sample`s
through the declared field mapping, and `Task.request()` renders the prompt with StrictUndefined so
a template that names a missing field fails loudly instead of sending an empty prompt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from evalkit.errors import UserError, did_you_mean
from evalkit.resources import builtin_dir
from evalkit.tasks.datafiles import FORMATS, Row, file_sha256, infer_format, read_rows
from evalkit.tasks.extraction import Extraction, parse_extraction
from evalkit.tasks.fewshot import FewShotPool, FewShotSpec, context
from evalkit.tasks.hfdata import DatasetSource, LoadedDataset
from evalkit.tasks.multiturn import TURNS_SUFFIX, first_request, parse_turn_references, parse_turns
from evalkit.textfiles import load_yaml
from evalkit.types import ChatMessage, GenerationParams, Request, Sample
from evalkit.validation import first_error, first_error_in

TASK_FILE = "task.yaml"


class FieldMap(BaseModel):
    """Which data column feeds which Sample attribute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(None, description="Column with a stable id; default: the row number.")
    input: str | None = Field(None, description="Column the prompt is built from.")
    references: str | None = Field(
        None,
        description="Column with one reference or a list (multi-turn: one entry per turn).",
    )
    turns: str | None = Field(
        None,
        description="Column with a list of user turns: a multi-turn sample whose later turns "
        "follow the model's own answers (multiturn.py); the first turn is the input.",
    )
    metadata: list[str] | None = Field(None, description="Columns kept; default: all others.")

    @model_validator(mode="after")
    def _turns_or_input(self) -> FieldMap:
        if self.turns is not None and self.input is not None:
            raise ValueError(
                "map either input or turns (a multi-turn task's first turn is its input)"
            )
        return self


INPUT_ONLY_PROMPT = "{{ input }}"


class TaskSpec(BaseModel):
    """The schema of task.yaml (checked by `evalkit validate`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str
    description: str = ""
    data: str | None = Field(None, description="A JSONL, CSV or Parquet file (or `dataset:`).")
    dataset: DatasetSource | None = Field(
        None, description="Hugging Face datasets source instead of `data:` (hfdata.py)."
    )
    format: str | None = None
    fields: FieldMap = FieldMap()
    references_separator: str | None = Field(
        None, description="For CSV data: split the references column on this string."
    )
    language: str | None = Field(
        None,
        pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$",
        description="Language of the outputs and references (BCP 47: zh, ja, th, en-GB): picks "
        "BLEU/TER tokenization and ROUGE stemming and sentence rules (README, Conventions).",
    )
    system_prompt: str | None = None
    prompt: str = INPUT_ONLY_PROMPT
    generation: GenerationParams = GenerationParams()
    scorers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    primary_metric: str | None = Field(
        None,
        description="The headline metric that ranks models (e.g. bleu, rouge2); when a run does "
        "not compute it, the first metric of the first scorer ranks (the table says so).",
    )
    outputs: str | None = Field(None, description="Recorded system outputs, served by `replay`.")
    replay_only: bool | None = Field(
        None,
        description="Only recorded outputs can be scored (live backends are refused); "
        "default: true when fields.input is unset.",
    )
    fewshot: FewShotSpec | None = Field(None, description="Few-shot examples (fewshot.py).")
    extract: Extraction | None = Field(
        None, description="Answer extraction applied to outputs before scoring (extraction.py)."
    )

    @model_validator(mode="after")
    def _one_data_source(self) -> TaskSpec:
        if self.data is None and self.dataset is None:
            raise ValueError("data: Field required (a data file, or a `dataset:` source)")
        if self.data is not None and self.dataset is not None:
            raise ValueError("data and dataset: give one of them, not both")
        return self

    @field_validator("extract", mode="before")
    @classmethod
    def _parse_extract(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, Extraction) else parse_extraction(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            raise ValueError(f"must be one of {FORMATS}")
        return value


class Task:
    """A validated task spec bound to the directory its relative paths are resolved against."""

    def __init__(self, spec: TaskSpec, spec_path: Path) -> None:
        self.spec = spec
        self.spec_path = spec_path
        self.root = spec_path.parent

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def replay_only(self) -> bool:
        """Declared, or inferred when the data has no input column (nothing to prompt with)."""
        if self.spec.replay_only is not None:
            return self.spec.replay_only
        return self.spec.fields.input is None and self.spec.fields.turns is None

    @property
    def multi_turn(self) -> bool:
        """Samples hold several user turns (`fields.turns`), one record per turn."""
        return self.spec.fields.turns is not None

    @property
    def data_path(self) -> Path:
        """The data file (for a `dataset:` source: its local path, or its hub label)."""
        if self.spec.data is not None:
            return self.root / self.spec.data
        assert self.hf_dataset is not None
        return self.hf_dataset.local or Path(self.hf_dataset.label)

    @cached_property
    def hf_dataset(self) -> LoadedDataset | None:
        source = self.spec.dataset
        return None if source is None else LoadedDataset(source, self.root, self.spec_path)

    def rows(self) -> Iterator[tuple[int, Row]]:
        """(line or row number from 1, row) of the task's data, in order."""
        if self.hf_dataset is not None:
            return self.hf_dataset.rows()
        return read_rows(self.data_path, self.spec.format)

    def data_source(self) -> dict[str, Any]:
        """What run.json records of where the data came from."""
        if self.hf_dataset is not None:
            return self.hf_dataset.describe()
        return {"kind": "file", "path": str(self.data_path)}

    @property
    def outputs_path(self) -> Path | None:
        return self.root / self.spec.outputs if self.spec.outputs else None

    def data_hash(self) -> str:
        """sha256 of the data file; with extraction or few-shot, of it, the extraction steps
        and the few-shot spec and examples file (so that changing them makes a different run)."""
        digest = self.hf_dataset.data_hash() if self.hf_dataset else file_sha256(self.data_path)
        if self.spec.extract is None and self._fewshot is None:
            return digest
        parts = {
            "data": digest,
            "extract": self.spec.extract.fingerprint() if self.spec.extract else None,
            "fewshot": self._fewshot.fingerprint() if self._fewshot else None,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def scorer_specs(
        self, specs: list[tuple[str, dict[str, Any]]], turns: int = 0
    ) -> list[tuple[str, dict[str, Any]]]:
        """With named extract pipelines, every scorer once per pipeline (`name@pipeline`); in a
        multi-turn task (`turns`: the most turns of a sample) per turn (`name|turns=N`)."""
        extract = self.spec.extract
        if extract is not None and extract.named:
            specs = [(f"{name}@{p.name}", o) for p in extract.pipelines for name, o in specs]
        if self.multi_turn:
            specs = [(f"{name}{TURNS_SUFFIX}{max(turns, 1)}", o) for name, o in specs]
        return specs

    @cached_property
    def templates(self) -> tuple[jinja2.Template, jinja2.Template | None]:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        try:
            user = env.from_string(self.spec.prompt)
            system = env.from_string(self.spec.system_prompt) if self.spec.system_prompt else None
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(
                f"{self.spec_path}: prompt template line {exc.lineno}: {exc.message}"
            ) from None
        return user, system

    @cached_property
    def _fewshot(self) -> FewShotPool | None:
        spec = self.spec.fewshot
        if spec is None:
            return None
        if spec.data is None and self.spec.data is None:
            raise UserError(f"{self.spec_path}: fewshot.data: needed with a `dataset:` source")
        path = self.root / spec.data if spec.data else self.data_path
        target = spec.target or self.spec.fields.references
        return FewShotPool(spec, path, (self.spec.fields.id, target), self.spec_path)

    def fewshot_ids(self, sample: Sample) -> list[str]:
        """The ids of the few-shot examples in front of this sample's prompt (in order)."""
        pool = self._fewshot
        return [e.id for e in pool.choose(sample.id, sample.index)] if pool is not None else []

    def _with_fewshot(self, sample: Sample, prompt: str) -> str:
        pool = self._fewshot
        if pool is None or pool.spec.n == 0:
            return prompt if pool is None else context(pool.spec, [], prompt)
        user_template, _ = self.templates
        shots = []
        for example in pool.choose(sample.id, sample.index):
            shot = self._example_sample(example.id, example.row, pool.path)
            shots.append((user_template.render(prompt_context(shot)), example.target))
        return context(pool.spec, shots, prompt)

    def _example_sample(self, example_id: str, row: Row, path: Path) -> Sample:
        """A few-shot row as the prompt template sees it: only the input column is required."""
        fields = self.spec.fields
        if fields.input is not None and fields.input not in row:
            raise UserError(
                f"{path}: few-shot example '{example_id}': field '{fields.input}' missing "
                f"(task '{self.name}' maps it to input)"
            )
        used = {fields.id, fields.input, fields.references}
        refs = row.get(fields.references) if fields.references else None
        where = f"{path}: few-shot example '{example_id}'"
        return Sample(
            id=example_id,
            index=0,
            input=_as_input(where, fields.input, row[fields.input]) if fields.input else "",
            references=self._references(where, fields.references, refs),
            metadata={k: v for k, v in row.items() if k not in used},
        )

    def iter_samples(self) -> Iterator[tuple[int, Sample]]:
        """(line or row number, sample) of every row, in data order, one at a time; unlike
        `samples` it holds none and does not check that ids are unique."""
        source = self._row_source()
        for index, (line_no, row) in enumerate(self.rows()):
            yield line_no, self._sample_from_row(index, line_no, row, source)

    def _row_source(self) -> tuple[str, bool]:
        """(the data file as error messages name it, whether it is CSV): once per pass."""
        csv = self.spec.data is not None and (
            (self.spec.format or infer_format(self.data_path)) == "csv"
        )
        return str(self.data_path), csv

    def samples(self) -> list[Sample]:
        """All samples, in data order; ids must be unique."""
        seen: dict[str, int] = {}
        samples = []
        for index, (line_no, sample) in enumerate(self.iter_samples()):
            if sample.id in seen:
                raise UserError(
                    f"{self.data_path}:{line_no}: duplicate id '{sample.id}' "
                    f"(first at row {seen[sample.id] + 1})"
                )
            seen[sample.id] = index
            samples.append(sample)
        if not samples:
            raise UserError(f"{self.data_path}: no samples (the data file has no rows)")
        return samples

    def _sample_from_row(
        self, index: int, line_no: int, row: Row, source: tuple[str, bool] | None = None
    ) -> Sample:
        fields = self.spec.fields
        path, csv = source or self._row_source()
        where = f"{path}:{line_no}"
        if csv or None in row:
            _check_row_shape(where, row, csv)

        def column(key: str | None, role: str) -> Any:
            if key is None:
                return None
            if key not in row:
                raise UserError(
                    f"{where}: field '{key}' missing "
                    f"(task '{self.name}' maps it to {role}); {_fields_found(row, csv)}"
                )
            return row[key]

        sample_id = column(fields.id, "id")
        raw_input = column(fields.input, "input")
        used = self._mapped_fields
        keep = fields.metadata if fields.metadata is not None else [k for k in row if k not in used]
        if fields.turns is not None:
            turns = parse_turns(where, fields.turns, column(fields.turns, "turns"))
            per_turn = parse_turn_references(
                where, fields.references, column(fields.references, "references"), len(turns)
            )
            return Sample(
                id=_as_id(where, fields.id, sample_id) if fields.id else str(line_no),
                index=index,
                input=turns[0],
                references=per_turn[0],
                metadata={k: column(k, "metadata") for k in keep},
                turns=turns,
                turn_references=per_turn,
            )
        return Sample(
            id=_as_id(where, fields.id, sample_id) if fields.id else str(line_no),
            index=index,
            input="" if fields.input is None else _as_input(where, fields.input, raw_input),
            references=self._references(
                where, fields.references, column(fields.references, "references")
            ),
            metadata={k: column(k, "metadata") for k in keep},
        )

    @cached_property
    def _mapped_fields(self) -> frozenset[str]:
        """The row keys mapped to id, input, references or turns (the rest is metadata)."""
        fields = self.spec.fields
        return frozenset(k for k in (fields.id, fields.input, fields.references, fields.turns) if k)

    def _references(self, where: str, key: str | None, value: Any) -> list[str]:
        """A string (split on references_separator when set) or a list of strings."""
        if key is None or value is None:
            return []
        if isinstance(value, str):
            sep = self.spec.references_separator
            return value.split(sep) if sep else [value]
        items: list[Any] = []
        wrong: list[Any] = [value]
        if isinstance(value, list | tuple) or _is_array(value):
            items = list(value)
            wrong = [v for v in items if not isinstance(v, str)]
        if wrong:
            raise UserError(
                f"{where}: field '{key}' (references) must be a string or a list of strings, "
                f"got {_describe(wrong[0])}"
            )
        return [str(v) for v in items]

    def request(self, sample: Sample) -> Request:
        """Render the prompt for one sample; a missing template variable is a UserError."""
        user_template, system_template = self.templates
        if self._fewshot is not None and not isinstance(sample.input, str):
            raise UserError(
                f"{self.spec_path}: fewshot needs text input; sample '{sample.id}' is chat"
            )
        try:
            messages = _render_messages(
                sample, user_template, system_template, prompt_context(sample),
                input_only=self.spec.prompt == INPUT_ONLY_PROMPT,
            )  # fmt: skip
            if self._fewshot is not None:
                last = messages[-1]
                content = self._with_fewshot(sample, last.content)
                messages[-1] = last.model_copy(update={"content": content})
        except jinja2.UndefinedError as exc:
            raise UserError(
                f"{self.spec_path}: prompt template for sample '{sample.id}': {exc.message}"
            ) from None
        request = Request(
            task=self.name, sample_id=sample.id, messages=messages, params=self.spec.generation
        )
        return first_request(request, sample) if sample.turns else request


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _is_array(value: Any) -> bool:
    """A numpy array (Parquet list columns arrive as one)."""
    return type(value).__name__ == "ndarray"


def _fields_found(row: Row, csv: bool) -> str:
    """What a row that lacks a mapped field has instead: for CSV, the header row's names (a file
    without a header row reads its first data row as the header)."""
    names = ", ".join(repr(str(k)) for k in row if k is not None)[:200] or "none"
    if csv:
        return (
            f"the header row (line 1) names the columns {names}: a CSV file needs a header "
            "row naming its columns"
        )
    return f"the row has the fields {names}"


def _check_row_shape(where: str, row: Row, csv: bool) -> None:
    """csv.DictReader puts a row's fields beyond the header under the key None, and gives the
    header's names a row lacks the value None (which CSV cannot otherwise produce)."""
    if csv and any(value is None for key, value in row.items() if key is not None):
        missing = [key for key, value in row.items() if key is not None and value is None]
        raise UserError(f"{where}: fewer fields than the header (no value for {missing[0]!r})")
    if None in row:
        extra = row[None]  # type: ignore[index]
        raise UserError(
            f"{where}: {len(extra)} more field(s) than the header names ({extra!r:.60}); "
            "quote fields that contain the delimiter"
        )


def _as_id(where: str, key: str, value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise UserError(
        f"{where}: field '{key}' (id) must be a non-empty string or an integer, "
        f"got {_describe(value)}"
    )


def prompt_context(sample: Sample) -> dict[str, Any]:
    """What a prompt template sees of a sample."""
    return {
        "input": sample.input,
        "references": sample.references,
        "id": sample.id,
        "metadata": sample.metadata,
    }


def _as_input(where: str, key: str, value: Any) -> str | list[ChatMessage]:
    """Text (numbers are taken as text) or a list of chat messages {role, content}."""
    if isinstance(value, list):
        messages = []
        for position, item in enumerate(value, start=1):
            if not isinstance(item, dict):
                raise UserError(
                    f"{where}: field '{key}' (input) message {position} must be an object "
                    f"{{role, content}}, got {_describe(item)}"
                )
            try:
                messages.append(ChatMessage.model_validate(item))
            except ValidationError as exc:
                raise UserError(
                    f"{where}: field '{key}' (input) message {position}: {first_error(exc)} "
                    "(a chat input is a list of {role, content} objects)"
                ) from None
        if not messages:
            raise UserError(f"{where}: field '{key}' (input) is an empty list of messages")
        return messages
    if isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool)):
        return str(value)
    raise UserError(
        f"{where}: field '{key}' (input) must be a string or a list of chat messages, "
        f"got {_describe(value)}"
    )


def _render_messages(
    sample: Sample,
    user_template: jinja2.Template,
    system_template: jinja2.Template | None,
    context: dict[str, Any],
    input_only: bool = False,
) -> list[ChatMessage]:
    """Chat input is sent as is (after an optional system prompt); text input fills the template.
    `input_only`: the template is the default `{{ input }}`, which jinja renders to the text
    input unchanged: it is taken as it is (rendering cost ~40 us a sample)."""
    messages = []
    if system_template is not None:
        messages.append(ChatMessage(role="system", content=system_template.render(context)))
    if isinstance(sample.input, list):
        return messages + list(sample.input)
    content = sample.input if input_only else user_template.render(context)
    messages.append(ChatMessage(role="user", content=content))
    return messages


def load_task_file(path: Path) -> Task:
    """Parse and validate one task.yaml."""
    if path.is_dir():
        path = path / TASK_FILE
    if not path.is_file():
        raise UserError(f"{path}: task file not found")
    raw = load_yaml(path)  # UTF-8, BOM read away; one-line errors
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected a mapping at the top level")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        raise UserError(first_error_in(path, exc)) from None
    return Task(spec, path.resolve())


def task_search_dirs() -> list[Path]:
    """A `tasks/` folder in the working directory first (the user's own), then the built-ins."""
    dirs = [Path.cwd() / "tasks", builtin_dir("tasks")]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def available_tasks() -> dict[str, Path]:
    """Task name -> task.yaml: ./tasks, the built-ins, then plugins' `evalkit.tasks.task`."""
    found: dict[str, Path] = {}
    for directory in task_search_dirs():
        for spec_path in sorted(directory.glob(f"*/{TASK_FILE}")):
            found.setdefault(spec_path.parent.name, spec_path)
    for name, path in plugin_tasks().items():
        found.setdefault(name, path)
    return found


def plugin_tasks() -> dict[str, Path]:
    """Tasks that installed packages declare under the `evalkit.tasks.task` entry-point group."""
    from evalkit import registry
    from evalkit.protocols import TASK_GROUP

    found = {}
    for name, _ in registry.describe(TASK_GROUP):
        target = registry.load(TASK_GROUP, name)
        path = Path(target() if callable(target) else target)
        found[name] = path / TASK_FILE if path.is_dir() else path
    return found


def load_tasks(ref: str) -> list[Task]:
    """The tasks a reference names: `lmeval:PATH[::NAME]` may name several (evalkit.tasks.lmeval);
    anything else names one (load_task)."""
    if ref.startswith("lmeval:"):
        from evalkit.tasks.lmeval import resolve_ref

        return [load_task_file(path) for path in resolve_ref(ref)]
    return [load_task(ref)]


def load_task(ref: str) -> Task:
    """A task by name (searched in task_search_dirs) or by path to a task.yaml or its folder;
    an `lmeval:` reference that names exactly one task."""
    if ref.startswith("lmeval:"):
        tasks = load_tasks(ref)
        if len(tasks) != 1:
            raise UserError(f"task '{ref}' names {len(tasks)} tasks; name one with ::NAME")
        return tasks[0]
    if ref.endswith((".yaml", ".yml")) or "/" in ref or Path(ref).is_dir():
        return load_task_file(Path(ref))
    known = available_tasks()
    if ref not in known:
        raise UserError(f"unknown task '{ref}'{did_you_mean(ref, known)}")
    return load_task_file(known[ref])
