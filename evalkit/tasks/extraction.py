"""Answer extraction as data: `extract:` in task.yaml turns a model's output into the answer scored.

A pipeline is a list of steps applied in order to the raw output (lm-evaluation-harness's
`filter_list` style). Each step maps text to text, or finds nothing; then the pipeline's answer is
empty, scorers see "" and each ok score says "no answer extracted" (a wrong answer, as lm-eval's
"[invalid]", never a failure). An answer that is empty after its steps also counts as not found.

    extract: [{regex: '#### (\\-?[0-9\\.\\,]+)'}]                 # one pipeline: metrics as named
    extract: {strict: [{regex: '#### (\\-?[0-9\\.\\,]+)'}],       # named pipelines: every metric
              flexible: [last_number]}                            # once each, `exact_match_strict`

Steps (a bare name, or a one-key mapping `{name: options}`):
- `regex`: a pattern, or `{pattern, group: N, match: first|last}`. The chosen match's group N
  (default: its first non-empty group, or the whole match without groups), stripped of
  surrounding whitespace, as lm-eval's RegexFilter (`group_select` 0 = first match, -1 = last).
  No match finds nothing, unless `keep_unmatched: true` passes the text on unchanged (for
  systems that answer with the bare answer and no marker) or `fallback: TEXT` makes TEXT the
  answer (lm-eval's "[invalid]", so that imported lm-eval tasks score exactly as there).
- `last_number` / `first_number`: a number as `scorers.numeric.find_numbers` reads it, written
  without thousands separators or currency sign (`$1,234.50` -> `1234.50`, Unicode minus -> `-`).
- `boxed`: the content of the last `\\boxed{...}` (else `\\fbox{...}`), nested braces balanced (as
  Hendrycks et al.'s MATH `last_boxed_only_string` + `remove_boxed`), or `\\boxed 5`.
- `choice_letter`: the answer letter (A-E by default, `{letters: ABCD}`) from "the answer is
  (B)", "Answer: C", "**D**" alone, "(B)" / "B." / "B)" at the start, or a single distinct "(C)".
  Several different letters with no "answer" phrase find nothing rather than guess.
- `strip`, `lowercase`: str.strip(), str.lower().
- `take_first`: lm-eval's first-of-n-generations filter; evalkit keeps one generation per sample,
  so it keeps it (accepted so lm-eval filter lists carry over).
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NoReturn

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from evalkit.scorers.numeric import number_matches
from evalkit.types import (
    ExtractedAnswer,
)
from evalkit.validation import first_error

if TYPE_CHECKING:
    pass

NO_ANSWER = "no answer extracted"
UNNAMED = ""  # the pipeline of a plain `extract: [...]` list: metrics keep their names


class Step(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: ClassVar[str]

    @abstractmethod
    def apply(self, text: str) -> str | None:
        """The step's output, or None when it finds nothing."""


class RegexStep(Step):
    kind = "regex"
    pattern: str
    group: int | None = Field(
        None, ge=0, description="Default: the first non-empty group, or the whole match."
    )
    match: Literal["first", "last"] = "first"
    keep_unmatched: bool = Field(
        False, description="No match: pass the text on unchanged instead of finding nothing."
    )
    fallback: str | None = Field(
        None,
        description="No match (or no non-empty group): this text is the answer, as lm-eval's "
        "RegexFilter `fallback` ('[invalid]' there by default).",
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        if not value:
            raise ValueError("empty pattern")
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad regular expression {value!r}: {exc}") from None
        return value

    @model_validator(mode="after")
    def _group_exists(self) -> RegexStep:
        groups = re.compile(self.pattern).groups
        if self.group is not None and self.group > groups:
            raise ValueError(f"group {self.group}, but the pattern has {groups} group(s)")
        return self

    def apply(self, text: str) -> str | None:
        compiled = re.compile(self.pattern)
        found = list(compiled.finditer(text))
        if not found:
            return text if self.keep_unmatched else self.fallback
        chosen = found[0] if self.match == "first" else found[-1]
        if self.group is not None:
            value = chosen.group(self.group)
        elif compiled.groups == 1 and self.fallback is not None:  # lm-eval: findall's group
            value = chosen.group(1) or ""
        elif compiled.groups:  # lm-eval: the first group that took part and is not empty
            value = next((g for g in chosen.groups() if g), self.fallback)
        else:
            value = chosen.group(0)
        return None if value is None else value.strip()


class NumberStep(Step):
    kind = "last_number"
    _first: ClassVar[bool] = False

    def apply(self, text: str) -> str | None:
        matches = number_matches(text)
        if not matches:
            return None
        chosen = matches[0] if self._first else matches[-1]
        sign = "-" if chosen.group("sign") in ("-", "\u2212") else ""
        return sign + chosen.group("body").replace(",", "") + (chosen.group("exp") or "")


class FirstNumberStep(NumberStep):
    kind = "first_number"
    _first: ClassVar[bool] = True


class BoxedStep(Step):
    kind = "boxed"

    def apply(self, text: str) -> str | None:
        return last_boxed(text)


class ChoiceLetterStep(Step):
    kind = "choice_letter"
    letters: str = Field("ABCDE", pattern=r"^[A-Z]+$")

    def apply(self, text: str) -> str | None:
        return choice_letter(text, self.letters)


class StripStep(Step):
    kind = "strip"

    def apply(self, text: str) -> str | None:
        return text.strip()


class LowercaseStep(Step):
    kind = "lowercase"

    def apply(self, text: str) -> str | None:
        return text.lower()


class TakeFirstStep(Step):
    kind = "take_first"

    def apply(self, text: str) -> str | None:
        return text


STEPS: dict[str, type[Step]] = {
    s.kind: s
    for s in (
        RegexStep,
        NumberStep,
        FirstNumberStep,
        BoxedStep,
        ChoiceLetterStep,
        StripStep,
        LowercaseStep,
        TakeFirstStep,
    )
}


def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...} / \\fbox{...} (balanced braces), or None."""
    start = text.rfind("\\boxed")  # as MATH's last_boxed_only_string: \fbox only without it
    if start < 0:
        start = text.rfind("\\fbox")
    if start < 0:
        return None
    rest = text[start:]
    name_end = len("\\boxed") if rest.startswith("\\boxed") else len("\\fbox")
    if rest[name_end : name_end + 1] == " ":  # \boxed 5 (no braces), up to a `$` or the end
        return rest[name_end + 1 :].split("$")[0].strip() or None
    if rest[name_end : name_end + 1] != "{":
        return None
    depth = 0
    for i, char in enumerate(rest[name_end:], start=name_end):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return rest[name_end + 1 : i]
    return None  # unbalanced


def choice_letter(text: str, letters: str = "ABCDE") -> str | None:
    """The answer letter in a free-text answer to a multiple-choice question, or None.

    In order: the last "answer is (X)" / "Answer: X" / "answer: **X**"; else the last "option X" /
    "choice X"; else a reply that is only the letter ("B", "(B)", "**B**", "B."); else a reply that
    starts with "B)" / "B." / "B:"; else the one distinct "(X)" or "**X**" in the text.
    """
    cls = f"[{letters}]"
    tail = rf"(?:\s+is)?\s*[:\-]?\s*(?:\*\*)?\(?({cls})\)?(?!\w)"
    for words in (r"[Aa]nswer", r"[Oo]ption|[Cc]hoice"):
        said = [m.group(1) for m in re.finditer(rf"\b(?:{words}){tail}", text)]
        if said:
            return said[-1]
    stripped = text.strip().strip("*").strip()
    alone = re.fullmatch(rf"\(?({cls})\)?\.?", stripped)
    if alone:
        return alone.group(1)
    lead = re.match(rf"\(?({cls})[).:](?:\s|$)", stripped)
    if lead:
        return lead.group(1)
    marked = {a or b for a, b in re.findall(rf"\(({cls})\)|\*\*({cls})\*\*", text)}
    return marked.pop() if len(marked) == 1 else None


class Pipeline(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = UNNAMED
    steps: tuple[Step, ...]

    def apply(self, text: str) -> str:
        """The extracted answer; "" when a step found nothing or the answer is empty."""
        value = text
        for step in self.steps:
            result = step.apply(value)
            if result is None:
                return ""
            value = result
        return value


class Extraction(BaseModel):
    """The task's pipelines: one unnamed, or several named (metrics suffixed `_<name>`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    pipelines: tuple[Pipeline, ...]

    @property
    def named(self) -> bool:
        return self.pipelines[0].name != UNNAMED

    def answers(self, text: str) -> list[ExtractedAnswer]:
        return [ExtractedAnswer(pipeline=p.name, answer=p.apply(text)) for p in self.pipelines]

    def fingerprint(self) -> str:
        blob = json.dumps(
            [
                [p.name, [[s.kind, s.model_dump(mode="json")] for s in p.steps]]
                for p in self.pipelines
            ]
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def parse_extraction(raw: Any) -> Extraction:
    """`extract:` as written in task.yaml -> Extraction; a problem is a PydanticCustomError whose
    message names the pipeline, step number and step (the caller adds file and field)."""
    if isinstance(raw, list):
        return Extraction(pipelines=(Pipeline(steps=_parse_steps(raw, "")),))
    if isinstance(raw, dict) and raw:
        pipelines = []
        for name, steps in raw.items():
            if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9]+[A-Za-z0-9_\-]*", name):
                _fail(f"pipeline name {name!r} must be letters, digits, '_' or '-'")
            if not isinstance(steps, list):
                _fail(f"pipeline '{name}' must be a list of steps")
            pipelines.append(Pipeline(name=name, steps=_parse_steps(steps, f"pipeline '{name}' ")))
        return Extraction(pipelines=tuple(pipelines))
    _fail("must be a list of steps or a mapping of pipeline name to a list of steps")


def _parse_steps(raw: list[Any], where: str) -> tuple[Step, ...]:
    if not raw:
        _fail(f"{where}has no steps")
    return tuple(_parse_step(item, f"{where}step {n}") for n, item in enumerate(raw, start=1))


def _parse_step(raw: Any, where: str) -> Step:
    options: Any
    if isinstance(raw, str):
        name, options = raw, {}
    elif isinstance(raw, dict) and len(raw) == 1:
        name, options = next(iter(raw.items()))
    else:
        _fail(f"{where}: a step is a name or a one-key mapping {{name: options}}, got {raw!r}")
    if name not in STEPS:
        _fail(f"{where}: unknown step {name!r} (known: {', '.join(STEPS)})")
    if options is None:
        options = {}
    elif name == "regex" and isinstance(options, str):
        options = {"pattern": options}
    if not isinstance(options, dict):
        _fail(f"{where} ({name}): options must be a mapping, got {options!r}")
    try:
        return STEPS[name].model_validate(options)
    except ValidationError as exc:
        problem = first_error(exc).removeprefix("(top level): ").replace("Value error, ", "")
        _fail(f"{where} ({name}): {problem}")


def _fail(message: str) -> NoReturn:
    # the message is a template: pass it as a context value so braces in it stay literal
    raise PydanticCustomError("extract", "{problem}", {"problem": message})
