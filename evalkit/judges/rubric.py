"""Judge rubrics: criteria, scale, prompt templates and output format, kept as YAML data.

A rubric is found by name in ./judges, then in evalkit's built-in judges/, or given as a path.
Templates are Jinja with StrictUndefined, so a rubric that uses a variable the data does not have
fails when the run starts, not halfway through it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import jinja2
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evalkit.errors import UserError, did_you_mean
from evalkit.resources import builtin_dir
from evalkit.textfiles import load_yaml, require_file
from evalkit.validation import first_error_in

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)


class Rubric(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str
    mode: Literal["pointwise", "pairwise"]
    needs: list[Literal["source", "reference"]] = Field(
        default_factory=list, description="What the prompt shows besides the output(s)."
    )
    criteria: str
    steps: list[str] = Field(default_factory=list, description="Evaluation steps (G-Eval).")
    scale: tuple[int, int] | None = Field(
        default=None, description="Pointwise: the lowest and highest score."
    )
    verdicts: Literal["three", "five"] = Field(
        default="three",
        description="Pairwise: the labels the prompt asks for and the parser reads: three "
        "([[A]], [[B]], a tie) or five ([[A>>B]], [[A>B]], [[A=B]], [[B>A]], [[B>>A]]).",
    )
    system: str
    prompt: str
    human: str | None = Field(
        default=None, description="The human-rated dimension this rubric estimates, if any."
    )

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        if self.mode == "pointwise" and self.scale is None:
            raise ValueError("a pointwise rubric needs a scale: [low, high]")
        if self.mode == "pointwise" and self.verdicts != "three":
            raise ValueError("verdicts: a pointwise rubric gives scores, not pairwise labels")
        if self.scale is not None and self.scale[0] >= self.scale[1]:
            raise ValueError("scale: the low end must be below the high end")
        for field in ("system", "prompt"):
            try:
                _ENV.parse(getattr(self, field))
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"{field}: template error: {exc}") from None
        return self

    def render(self, **values: Any) -> tuple[str, str]:
        """(system, user) messages for one judgment."""
        context = {
            "criteria": self.criteria.strip(),
            "steps": self.steps,
            "scale": self.scale,
            **values,
        }
        try:
            return (
                _ENV.from_string(self.system).render(context).strip(),
                _ENV.from_string(self.prompt).render(context).strip(),
            )
        except jinja2.UndefinedError as exc:
            raise UserError(f"rubric '{self.name}': {exc.message}") from None

    @property
    def signature(self) -> str:
        return f"{self.name}@v{self.version}"


def rubric_dirs() -> list[Path]:
    return [Path.cwd() / "judges", builtin_dir("judges")]


def available_rubrics() -> list[str]:
    names = {p.stem for d in rubric_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names)


def load_rubric(ref: str) -> Rubric:
    """A rubric by name (./judges, then built-in) or by path to a YAML file."""
    path = Path(ref)
    if not path.suffix:
        found = [d / f"{ref}.yaml" for d in rubric_dirs() if (d / f"{ref}.yaml").is_file()]
        if not found:
            raise UserError(f"unknown rubric '{ref}'{did_you_mean(ref, available_rubrics())}")
        path = found[0]
    require_file(path, f"rubric file not found: {path}", "rubric file")
    data = load_yaml(path)  # UTF-8, BOM read away; one-line errors
    try:
        return Rubric.model_validate(data)
    except ValidationError as exc:
        raise UserError(first_error_in(path, exc)) from None
