"""`doc_to_text` / `doc_to_target` / `description` as lm-evaluation-harness interprets them.

As `ConfigurableTask.doc_to_text` / `doc_to_target` and `lm_eval.utils.apply_template` (v0.4.13):
a string that names a column of the evaluation split is that column's value; any other string is
a Jinja template rendered on the document (StrictUndefined, trailing newline kept, the
`regex_replace` filter = `re.sub`); a rendered target that looks like a list (`[...]`) is read as
a Python literal, i.e. several references. A list given in the YAML is the target itself.
"""

from __future__ import annotations

import ast
import contextlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from evalkit.errors import UserError


def _regex_replace(text: str, pattern: str, repl: str, count: int = 0) -> str:
    return re.sub(pattern, repl, text, count=count)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.BaseLoader(), undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["regex_replace"] = _regex_replace
    return env


@lru_cache(maxsize=256)
def _template(path: Path, key: str, source: str) -> jinja2.Template:
    try:
        return _env().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise UserError(f"{path}: {key}: template line {exc.lineno}: {exc.message}") from None


def _render(path: Path, key: str, source: str, doc: dict[str, Any], where: str) -> str:
    try:
        return _template(path, key, source).render(**doc)
    except jinja2.UndefinedError as exc:
        raise UserError(f"{path}: {key}: {where}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise UserError(f"{path}: {key}: {where}: {exc}") from None


class Renderer:
    """Renders one task's templates; `features` are the evaluation split's column names."""

    def __init__(self, path: Path, features: list[str]) -> None:
        self.path = path
        self.features = set(features)

    def text(self, spec: Any, doc: dict[str, Any], key: str, where: str) -> str:
        if isinstance(spec, str):
            value: Any = doc[spec] if spec in self.features else None
            if spec not in self.features:
                value = _render(self.path, key, spec, doc, where)
            return value if isinstance(value, str) else str(value)
        raise UserError(f"{self.path}: {key}: expected a template or a field name, got {spec!r}")

    def target(self, spec: Any, doc: dict[str, Any], key: str, where: str) -> str | list[str]:
        """A string, or a list of strings when the target is several references."""
        if isinstance(spec, list):
            return [str(v) for v in spec]
        if not isinstance(spec, str):
            raise UserError(f"{self.path}: {key}: expected a template or a field name")
        if spec in self.features:
            value = doc[spec]
        else:
            value = _render(self.path, key, spec, doc, where)
            if len(value) >= 2 and value[0] == "[" and value[-1] == "]":
                with contextlib.suppress(SyntaxError, ValueError):
                    value = ast.literal_eval(value)
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return str(value)

    def description(self, spec: str, doc: dict[str, Any], where: str) -> str:
        """lm-eval's resolve_field: a column's value, else the template rendered."""
        if not spec:
            return ""
        if spec in doc:
            return str(doc[spec])
        return _render(self.path, "description", spec, doc, where)
