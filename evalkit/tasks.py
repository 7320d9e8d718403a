"""Tasks are data: `tasks/<name>/task.yaml` + a data file + a Jinja prompt template.

`load_task` validates the YAML against `TaskSpec`, `Task.samples()` maps data rows onto `Sample`s
through the declared field mapping, and `Task.request()` renders the prompt with StrictUndefined so
a template that names a missing field fails loudly instead of sending an empty prompt.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalkit.datafiles import FORMATS, Row, file_sha256, read_rows
from evalkit.errors import UserError, did_you_mean
from evalkit.resources import builtin_dir
from evalkit.textfiles import load_yaml
from evalkit.types import ChatMessage, GenerationParams, Request, Sample
from evalkit.validation import first_error

TASK_FILE = "task.yaml"


class FieldMap(BaseModel):
    """Which data column feeds which Sample attribute."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str | None = Field(None, description="Column with a stable id; default: the row number.")
    input: str | None = Field(None, description="Column the prompt is built from.")
    references: str | None = Field(None, description="Column with one reference or a list.")
    metadata: list[str] | None = Field(None, description="Columns kept; default: all others.")


class TaskSpec(BaseModel):
    """The schema of task.yaml (checked by `evalkit validate`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    version: str
    description: str = ""
    data: str
    format: str | None = None
    fields: FieldMap = FieldMap()
    references_separator: str | None = Field(
        None, description="For CSV data: split the references column on this string."
    )
    system_prompt: str | None = None
    prompt: str = "{{ input }}"
    generation: GenerationParams = GenerationParams()
    scorers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    primary_metric: str | None = Field(
        None,
        description="The headline metric that ranks models (e.g. bleu, rouge2); when a run does "
        "not compute it, the first metric of the first scorer ranks (the table says so).",
    )
    outputs: str | None = Field(None, description="Recorded system outputs, served by `replay`.")

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
    def data_path(self) -> Path:
        return self.root / self.spec.data

    @property
    def outputs_path(self) -> Path | None:
        return self.root / self.spec.outputs if self.spec.outputs else None

    def data_hash(self) -> str:
        return file_sha256(self.data_path)

    @cached_property
    def _templates(self) -> tuple[jinja2.Template, jinja2.Template | None]:
        env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
        try:
            user = env.from_string(self.spec.prompt)
            system = env.from_string(self.spec.system_prompt) if self.spec.system_prompt else None
        except jinja2.TemplateSyntaxError as exc:
            raise UserError(
                f"{self.spec_path}: prompt template line {exc.lineno}: {exc.message}"
            ) from None
        return user, system

    def samples(self) -> list[Sample]:
        """All samples, in data order; ids must be unique."""
        seen: dict[str, int] = {}
        samples = []
        rows = read_rows(self.data_path, self.spec.format)
        for index, (line_no, row) in enumerate(rows):
            sample = self._sample_from_row(index, line_no, row)
            if sample.id in seen:
                raise UserError(
                    f"{self.data_path}:{line_no}: duplicate id '{sample.id}' "
                    f"(first at row {seen[sample.id] + 1})"
                )
            seen[sample.id] = index
            samples.append(sample)
        return samples

    def _sample_from_row(self, index: int, line_no: int, row: Row) -> Sample:
        fields = self.spec.fields

        def column(key: str | None, role: str) -> Any:
            if key is None:
                return None
            if key not in row:
                raise UserError(
                    f"{self.data_path}:{line_no}: field '{key}' missing "
                    f"(task '{self.name}' maps it to {role})"
                )
            return row[key]

        sample_id = column(fields.id, "id")
        raw_input = column(fields.input, "input")
        used = {k for k in (fields.id, fields.input, fields.references) if k}
        keep = fields.metadata if fields.metadata is not None else [k for k in row if k not in used]
        return Sample(
            id=str(sample_id) if sample_id is not None else str(line_no),
            index=index,
            input="" if raw_input is None else _as_input(raw_input),
            references=self._references(column(fields.references, "references")),
            metadata={k: column(k, "metadata") for k in keep},
        )

    def _references(self, value: Any) -> list[str]:
        if value is None:
            return []
        if isinstance(value, str):
            sep = self.spec.references_separator
            return value.split(sep) if sep else [value]
        return [str(v) for v in value]

    def request(self, sample: Sample) -> Request:
        """Render the prompt for one sample; a missing template variable is a UserError."""
        user_template, system_template = self._templates
        context: dict[str, Any] = {
            "input": sample.input,
            "references": sample.references,
            "id": sample.id,
        }
        context["metadata"] = sample.metadata
        try:
            messages = _render_messages(sample, user_template, system_template, context)
        except jinja2.UndefinedError as exc:
            raise UserError(
                f"{self.spec_path}: prompt template for sample '{sample.id}': {exc.message}"
            ) from None
        return Request(
            task=self.name, sample_id=sample.id, messages=messages, params=self.spec.generation
        )


def _as_input(value: Any) -> str | list[ChatMessage]:
    if isinstance(value, list):
        return [ChatMessage.model_validate(m) for m in value]
    return str(value)


def _render_messages(
    sample: Sample,
    user_template: jinja2.Template,
    system_template: jinja2.Template | None,
    context: dict[str, Any],
) -> list[ChatMessage]:
    """Chat input is sent as is (after an optional system prompt); text input fills the template."""
    messages = []
    if system_template is not None:
        messages.append(ChatMessage(role="system", content=system_template.render(context)))
    if isinstance(sample.input, list):
        return messages + list(sample.input)
    messages.append(ChatMessage(role="user", content=user_template.render(context)))
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
        raise UserError(f"{path}: {first_error(exc)}") from None
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
    found: dict[str, Path] = {}
    for directory in task_search_dirs():
        for spec_path in sorted(directory.glob(f"*/{TASK_FILE}")):
            found.setdefault(spec_path.parent.name, spec_path)
    return found


def load_task(ref: str) -> Task:
    """A task by name (searched in task_search_dirs) or by path to a task.yaml or its folder."""
    if ref.endswith((".yaml", ".yml")) or "/" in ref or Path(ref).is_dir():
        return load_task_file(Path(ref))
    known = available_tasks()
    if ref not in known:
        raise UserError(f"unknown task '{ref}'{did_you_mean(ref, known)}")
    return load_task_file(known[ref])
